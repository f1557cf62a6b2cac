"""The language of the pages: the signed-in person's own choice, else the browser's.

Django's LocaleMiddleware (earlier in the chain) picks a language from the browser's
Accept-Language header. That is right for pages nobody is signed in to, such as sign-in; a
signed-in person chose a language on "My account", and that choice wins, so a teacher who
reads Spanish gets Spanish on a shared school computer set to English, and the reverse.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.offered = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        # Read by attribute, not through the accounts app: core stays below the domain apps.
        chosen = getattr(user, "language", "") if user is not None else ""
        if user is not None and user.is_authenticated and chosen in self.offered:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)

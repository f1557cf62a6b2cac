"""The language of the pages: the signed-in person's own choice, else the browser's.

Django's LocaleMiddleware (earlier in the chain) picks a language from the browser's
Accept-Language header. That is right for pages nobody is signed in to, such as sign-in; a
signed-in person chose a language on "My account", and that choice wins, so a teacher who
reads Spanish gets Spanish on a shared school computer set to English, and the reverse. The
same holds for the API with a token (``use_readers_language``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def use_readers_language(request: HttpRequest, user: object) -> None:
    """Answer REQUEST in the language USER chose, if they chose one SafeStep offers.

    The session's middleware calls it; so does the API's token authentication, which
    finds its user only once the view runs, after every middleware.
    """
    # Read by attribute, not through the accounts app: core stays below the domain apps.
    chosen = getattr(user, "language", "")
    offered = {code for code, _name in settings.LANGUAGES}
    if getattr(user, "is_authenticated", False) and chosen in offered:
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None:
            use_readers_language(request, user)
        return self.get_response(request)

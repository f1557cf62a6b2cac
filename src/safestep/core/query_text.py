"""An address whose query holds a NUL character is refused before any view reads it.

PostgreSQL keeps no NUL in text, so a search, a filter or a list given one (``?q=%00``)
failed in the database and answered 500. Bodies are checked already: Django's forms and
DRF's serializers refuse a NUL in any text field (``ProhibitNullCharactersValidator``).
Query parameters are read by the views themselves, so they are checked here, once, for
every page and the API: 400, naming the parameter, as problem+json under /api/ and as a
page elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.validators import ProhibitNullCharactersValidator
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext

from safestep.core.problems import PROBLEM_CONTENT_TYPE, is_api, problem_body

NUL = "\x00"


def nul_parameter(request: HttpRequest) -> str | None:
    """The name of the first query parameter that holds a NUL (in its name or a value)."""
    raw = request.META.get("QUERY_STRING", "")
    if "%00" not in raw and NUL not in raw:
        return None  # the usual case, decided without parsing the query
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "")
    return None


class NulInQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        name = nul_parameter(request)
        if name is None:
            return self.get_response(request)
        problem = str(ProhibitNullCharactersValidator.message)  # Django's own words
        if is_api(request):
            body = problem_body(400, f"{name}: {problem}")
            body |= {"title": gettext("Invalid input"), "errors": {name: [problem]}}
            return JsonResponse(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
        return render(request, "400.html", {"parameter": name, "problem": problem}, status=400)

"""A request whose query or form holds a NUL character is refused before any view reads it.

PostgreSQL keeps no NUL in text, so a search, a filter or a list given one (``?q=%00``),
or a sign-in with one in the user name, failed in the database and answered 500. Django's
forms and DRF's serializers refuse a NUL in the text fields they check
(``ProhibitNullCharactersValidator``), but views also read query parameters and a few form
fields themselves. So both are checked here, once: 400, naming the parameter, as
problem+json under /api/ and as a page elsewhere. An address whose path holds a NUL
(``/students/LIN/%00/``) names nothing: 404. The API's bodies are left to its parsers
and serializers (JSON; an attachment's multipart form); a page's form is read here as
Django's CSRF check reads it anyway, before any view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.validators import ProhibitNullCharactersValidator
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.translation import gettext

from safestep.core.problems import PROBLEM_CONTENT_TYPE, is_api, problem_body

NUL = "\x00"


def nul_parameter(request: HttpRequest) -> str | None:
    """The name of the first query or form parameter holding a NUL (in its name or a value)."""
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or NUL in query:
        found = _first_with_nul(request.GET.lists())
        if found is not None:
            return found
    if request.method != "POST" or is_api(request):
        return None
    try:
        if request.content_type == "application/x-www-form-urlencoded":
            body = request.body  # kept by Django for the form's own reading
            if b"%00" not in body and NUL.encode() not in body:
                return None
        elif request.content_type != "multipart/form-data":
            return None  # not a form
        form = request.POST  # a multipart form's files go where Django's handlers put them
    except (RequestDataTooBig, TooManyFieldsSent, MultiPartParserError):
        return None  # refused where the form is read, as before
    return _first_with_nul(form.lists())


def _first_with_nul(parameters: Iterable[tuple[str, list[str]]]) -> str | None:
    for name, values in parameters:
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "")
    return None


class NulInRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if NUL in request.path_info:
            # An address with a NUL in it (``/students/LIN/%00/``) names nothing there is.
            raise Http404("a NUL in the address")
        name = nul_parameter(request)
        if name is None:
            return self.get_response(request)
        problem = str(ProhibitNullCharactersValidator.message)  # Django's own words
        if is_api(request):
            body = problem_body(400, f"{name}: {problem}")
            body |= {"title": gettext("Invalid input"), "errors": {name: [problem]}}
            return JsonResponse(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
        return render(request, "400.html", {"parameter": name, "problem": problem}, status=400)

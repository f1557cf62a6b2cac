"""When the database cannot be reached: 503 and "try again", never a 500 or a traceback.

A database restart, a failover or a network blip makes Django raise ``OperationalError`` or
``InterfaceError``. The request's transaction did not commit (each service is one
transaction), so nothing is half-written; the client is told to retry, with
``Retry-After``. API clients get problem+json, people a short page. The broken connection
is closed at the end of the request (``CONN_HEALTH_CHECKS``), so the next request
reconnects by itself once the database is back.

Errors inside a view reach :class:`DatabaseUnavailableMiddleware`; errors in other
middleware (loading a session, saving it) reach :func:`server_error`, Django's
``handler500``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.html import escape
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views import defaults

from safestep.core.problems import is_api, problem_response

RETRY_AFTER_SECONDS = 5
DETAIL = gettext_lazy("The database cannot be reached right now. Please try again in a moment.")
# Written out here, not in a template: it must show with the database gone.
PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
<p>{text}</p>
</body>
</html>
"""


def unavailable_page() -> str:
    return PAGE.format(
        language=get_language() or "en",
        title=escape(gettext("SafeStep is unavailable for a moment")),
        text=escape(
            gettext(
                "The database cannot be reached right now. Nothing is lost: please try again "
                "in a moment. If you were saving something, reload the case first to see "
                "whether it was saved."
            )
        ),
    )


def is_database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, OperationalError | InterfaceError)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "type": "about:blank",
                "title": "Service unavailable",
                "status": 503,
                "detail": str(DETAIL),
            },
            status=503,
            content_type="application/problem+json",
        )
    else:
        response = HttpResponse(
            unavailable_page(), status=503, content_type="text/html; charset=utf-8"
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return unavailable_response(request)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: a 503 when the cause is the database, else the usual 500.

    Under /api/ the 500 is problem+json, like every other API error.
    """
    if is_database_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    if is_api(request):
        return problem_response(500)
    return defaults.server_error(request)

"""problem+json (RFC 9457) for every error under /api/, whoever answered it.

DRF's exception handler (in the API) answers for the API's own views. Some
answers never reach it: an unknown /api/ path (Django's 404 page), a body Django refused
while reading it, a 500 from Django's handler. :class:`ApiProblemMiddleware` turns any
such error response to an /api/ request into problem+json, in place, so headers set by
other middleware (security headers, ``Allow``, ``Retry-After``) stay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Request too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}

DETAILS = {
    400: "The request could not be read.",
    403: "Not allowed.",
    404: "There is no such address in the API; see /api/docs/.",
    405: "This address does not take that method.",
    413: "The request body is too large.",
    500: "Something went wrong on the server. It has been logged; please try again.",
}


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def problem_body(status: int, detail: str | None = None) -> dict[str, object]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {
        "type": "about:blank",
        "title": TITLES.get(status, phrase),
        "status": status,
        "detail": detail or DETAILS.get(status, phrase + "."),
    }


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested error detail (DRF's, or any mapping of lists) as {"student.sis_id": ["..."]}.

    The messages by field of a problem's ``errors``, and of a page's form.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = "input" if key == "non_field_errors" else str(key)
            flat |= flatten_errors(value, f"{prefix}{name}" if not prefix else f"{prefix}.{name}")
    elif (
        isinstance(detail, list)
        and detail
        and all(not isinstance(item, (dict, list)) for item in detail)
    ):
        flat[prefix or "input"] = [str(item) for item in detail]
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            flat |= flatten_errors(item, f"{prefix}.{index}" if prefix else str(index))
    else:
        flat[prefix or "input"] = [str(detail)]
    return flat


def problem_response(status: int, detail: str | None = None) -> JsonResponse:
    return JsonResponse(
        problem_body(status, detail), status=status, content_type=PROBLEM_CONTENT_TYPE
    )


def _is_problem(response: HttpResponseBase) -> bool:
    return response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE)


class ApiProblemMiddleware:
    """Any 4xx or 5xx answer to an /api/ request goes out as problem+json."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code < 400 or not is_api(request) or _is_problem(response):
            return response
        if getattr(response, "streaming", False):
            return response
        detail = None
        if response.status_code == 405 and response.get("Allow"):
            detail = f"This address takes {response['Allow']}."
        body = json.dumps(problem_body(response.status_code, detail)).encode()
        response.content = body  # type: ignore[attr-defined]
        response["Content-Type"] = PROBLEM_CONTENT_TYPE
        response["Content-Length"] = str(len(body))
        return response

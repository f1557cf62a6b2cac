"""problem+json (RFC 9457) for every error the API answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from safestep.core import errors

PROBLEM_CONTENT_TYPE = "application/problem+json"

_STATUS_FOR = {
    errors.ValidationFailed: status.HTTP_400_BAD_REQUEST,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.PermissionDenied: status.HTTP_403_FORBIDDEN,
    errors.Conflict: status.HTTP_409_CONFLICT,
}


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"student.sis_id": ["..."]}."""
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


def problem(status_code: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status_code, "detail": detail, **extra}
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    if isinstance(exc, errors.SafeStepError):
        code = next(code for kind, code in _STATUS_FOR.items() if isinstance(exc, kind))
        extra: dict[str, Any] = {}
        if isinstance(exc, errors.ValidationFailed):
            extra["errors"] = exc.errors
        if isinstance(exc, errors.Conflict):
            extra |= exc.extra
        return problem(code, exc.title, exc.detail, **extra)
    if isinstance(exc, Http404):
        return problem(404, "Not found", "Not found.")
    if isinstance(exc, exceptions.ValidationError):
        flat = flatten_errors(exc.detail)
        first_field, messages = next(iter(flat.items()))
        return problem(400, "Invalid input", f"{first_field}: {messages[0]}", errors=flat)
    if isinstance(exc, exceptions.APIException):
        response = problem(exc.status_code, _title(exc), str(exc.detail))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            response["WWW-Authenticate"] = 'Token realm="api"'
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            response["Retry-After"] = str(int(wait))
        return response
    return None


def _title(exc: exceptions.APIException) -> str:
    return {
        401: "Not signed in",
        403: "Not allowed",
        404: "Not found",
        405: "Method not allowed",
        406: "Not acceptable",
        415: "Unsupported media type",
        429: "Too many requests",
    }.get(exc.status_code, "Request refused")

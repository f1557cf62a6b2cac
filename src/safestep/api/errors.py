"""problem+json (RFC 9457) for every error the API answers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.utils.translation import gettext, gettext_noop
from rest_framework import exceptions
from rest_framework.response import Response

from safestep.api.parsers import body_limit
from safestep.core import errors
from safestep.core.problems import PROBLEM_CONTENT_TYPE, flatten_errors

__all__ = ["PROBLEM_CONTENT_TYPE", "flatten_errors", "problem", "problem_exception_handler"]

logger = logging.getLogger(__name__)


# Every title a problem may carry, marked for translation: a title is written in English
# where the refusal is raised (safestep.core.errors, DRF) and translated when answered.
# ``type`` stays "about:blank" and the field names under ``errors`` are never translated.
TITLES = (
    gettext_noop("Request refused"),
    gettext_noop("Invalid input"),
    gettext_noop("Not found"),
    gettext_noop("Not allowed"),
    gettext_noop("Conflict"),
    gettext_noop("Stale version"),
    gettext_noop("Not signed in"),
    gettext_noop("Method not allowed"),
    gettext_noop("Not acceptable"),
    gettext_noop("Request too large"),
    gettext_noop("Unsupported media type"),
    gettext_noop("Too many requests"),
    gettext_noop("Bad request"),
)


def problem(status_code: int, title: str, detail: str, **extra: Any) -> Response:
    """A problem+json answer; TITLE (English) is given in the request's language."""
    body = {
        "type": "about:blank",
        "title": gettext(title),
        "status": status_code,
        "detail": detail,
        **extra,
    }
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    if isinstance(exc, errors.SafeStepError):
        code = errors.http_status(exc)
        extra: dict[str, Any] = {}
        if isinstance(exc, errors.ValidationFailed):
            extra["errors"] = exc.errors
        if isinstance(exc, errors.Conflict):
            extra |= exc.extra
        return problem(code, exc.title, exc.detail, **extra)
    if isinstance(exc, Http404):
        return problem(404, "Not found", gettext("Not found."))
    if isinstance(exc, RequestDataTooBig):
        # Django's own limit, met while reading a form or multipart body.
        limit = body_limit()
        detail = (
            gettext("The request body is larger than %(limit)s bytes.") % {"limit": limit}
            if limit
            else str(exc)
        )
        return problem(413, "Request too large", detail)
    if isinstance(exc, SuspiciousOperation):
        return problem(400, "Bad request", gettext("The request could not be read."))
    if isinstance(exc, OverflowError):
        # A number or a date beyond what Python or the database can hold: the client's
        # input, not a fault of the server. Logged, since a check upstream missed it.
        logger.warning("out-of-range input answered 400", exc_info=exc)
        return problem(
            400, "Invalid input", gettext("A number or a date in the request is out of range.")
        )
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
        413: "Request too large",
        415: "Unsupported media type",
        429: "Too many requests",
    }.get(exc.status_code, "Request refused")

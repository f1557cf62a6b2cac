"""What every page view shares: who is asking, whether to answer with a page or a fragment,
and how a service's refusal is answered.

htmx marks its requests with an ``HX-Request`` header and swaps the answer into part of the
page. :func:`render_page` is the one place that decides: an htmx request gets the fragment
template, anything else (a browser without JavaScript, a reload, a bookmark) the whole page.
Both render from the same context, so a page never shows something its fragment would not.

:func:`refusal` is the one place that turns a service error into a page's answer, with the
API's own status codes (``core.errors.http_status``): every form page catches
:data:`REFUSALS` and renders what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from safestep.accounts.models import User
from safestep.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    SafeStepError,
    ValidationFailed,
    http_status,
)

# The key under which a form shows a message about the form as a whole (Django's own).
FORM_WIDE = "__all__"
# The service errors a page answers itself; anything else is a fault (500).
REFUSALS = (ValidationFailed, PermissionDenied, NotFound, Conflict)


@dataclass(frozen=True)
class Refusal:
    """A page's answer to a service's refusal: the status, and the messages to show."""

    status: int
    # Messages by the field they belong to; a refusal of the whole form under one key.
    errors: dict[str, list[str]]


def refusal(
    error: SafeStepError, *, general: str = FORM_WIDE, not_found: str = "Not found"
) -> Refusal:
    """How a page answers ERROR, with the API's mapping.

    ``ValidationFailed`` is 400 with each message next to its field; ``PermissionDenied``
    403 and ``Conflict`` (a stale version too) 409, each with its one message under
    GENERAL (the form as a whole, unless the page shows such messages by a field);
    ``NotFound`` raises Http404 (NOT_FOUND): what a user may not know of does not exist
    for them, whatever form they sent.
    """
    if isinstance(error, NotFound):
        raise Http404(not_found) from None
    if isinstance(error, ValidationFailed):
        return Refusal(http_status(error), dict(error.errors))
    return Refusal(http_status(error), {general: [error.detail]})


def acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User), "page views are reached only by signed-in users"
    return user


def is_htmx(request: HttpRequest) -> bool:
    # History restoration requests want the whole page, not a fragment.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only FRAGMENT when htmx asked for part of it."""
    chosen = fragment if fragment is not None and is_htmx(request) else template
    response = render(request, chosen, dict(context), status=status)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response

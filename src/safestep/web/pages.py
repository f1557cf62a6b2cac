"""What every page view shares: who is asking, and whether to answer with a page or a fragment.

htmx marks its requests with an ``HX-Request`` header and swaps the answer into part of the
page. :func:`render_page` is the one place that decides: an htmx request gets the fragment
template, anything else (a browser without JavaScript, a reload, a bookmark) the whole page.
Both render from the same context, so a page never shows something its fragment would not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from safestep.accounts.models import User


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

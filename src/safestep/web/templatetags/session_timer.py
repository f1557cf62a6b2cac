"""What the pages' session script (``web/static/web/session.js``) needs to know: how long a
session lasts without activity, how long this one has left, and when to warn."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from safestep.accounts.sessions import last_seen_resolution, seconds_left, warning_seconds

register = template.Library()


@register.simple_tag(takes_context=True)
def session_timing(context: template.Context) -> dict[str, int] | None:
    """The idle timer's numbers for a signed-in page (None for anyone else).

    ``fresh`` is what a session surely has left right after a request: the time of the
    last request is written only when it has moved by more than ``last_seen_resolution()``.
    """
    request: Any = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return None
    idle = int(settings.SESSION_IDLE_SECONDS)
    return {
        "idle": idle,
        "minutes": idle // 60,
        "left": seconds_left(request.session),
        "warn": warning_seconds(),
        "fresh": max(1, idle - last_seen_resolution()),
    }

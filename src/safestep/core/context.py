"""Per-request facts (source IP, request id) that the audit log records with each event.

A context variable rather than a parameter: services stay callable from commands and tests,
where there is no request, and still pick these up when there is one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestContext:
    source_ip: str | None
    request_id: str


_current: ContextVar[RequestContext | None] = ContextVar("safestep_request", default=None)


def current_request_context() -> RequestContext | None:
    return _current.get()


class RequestContextMiddleware:
    """Give each request an id (echoed as X-Request-ID) and remember its source address.

    The id is always made here. A client's own ``X-Request-ID`` is ignored: the audit
    trail stores the request id with each event, and a value anyone can choose (one that
    repeats another request's id, or carries text meant for whoever reads the trail) has
    no place there. The source address is ``REMOTE_ADDR``, which
    ``safestep.core.proxies.TrustedProxyMiddleware`` has already set to the client's own
    address when the request came through a trusted proxy.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = RequestContext(
            source_ip=request.META.get("REMOTE_ADDR") or None,
            request_id=uuid.uuid4().hex,
        )
        token = _current.set(context)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = context.request_id
        return response

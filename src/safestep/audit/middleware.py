"""Recording refusals: who was denied what, and who asked for a case they may not see.

A refused request's own transaction has rolled back by the time the response leaves the
view, so the denial is recorded here, in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from safestep.audit.actions import Action
from safestep.audit.services import event_record


class AccessDenialAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code not in (403, 404):
            return response
        # DRF authenticates inside the view, so look there first for the acting user.
        user = getattr(response, "renderer_context", {}).get("request", request).user
        if user is None or not user.is_authenticated:
            return response
        match = request.resolver_match
        case_id = match.kwargs.get("case_id") if match is not None else None
        if response.status_code == 404 and case_id is None:
            return response  # an unknown page, not an attempt on a case
        event_record(
            actor=user,
            action=Action.ACCESS_DENIED if response.status_code == 403 else Action.ACCESS_NOT_FOUND,
            # An id too large for the column cannot name a case; the path still shows it.
            case_id=int(case_id) if case_id is not None and int(case_id) < 2**63 else None,
            payload={"method": request.method, "path": request.path[:300]},
        )
        return response

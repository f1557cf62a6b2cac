"""The auditor's page: the trail, filtered, newest first, and whether it is intact."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError

from safestep.accounts.access import sees_sealed_payloads
from safestep.accounts.models import User
from safestep.audit.actions import Action
from safestep.audit.api import parse_audit_query
from safestep.audit.selectors import audit_events_for_user, event_output
from safestep.audit.services import event_record
from safestep.core.errors import PermissionDenied
from safestep.core.problems import flatten_errors


@login_required
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    errors: dict[str, list[str]] = {}
    try:
        filters = parse_audit_query({k: v for k, v in request.GET.items() if v and k != "page"})
    except ValidationError as error:
        errors = flatten_errors(error.detail)
        filters = {}
    try:
        events = audit_events_for_user(
            user,
            case_id=filters.get("case"),
            actor=filters.get("actor"),
            action=filters.get("action"),
            since=filters.get("since"),
            until=filters.get("until"),
        ).order_by("-seq")
    except PermissionDenied:
        raise DjangoPermissionDenied from None
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    event_record(
        actor=user,
        action=Action.AUDIT_READ,
        payload={"via": "page", **{key: str(value) for key, value in filters.items()}},
    )
    with_sealed = sees_sealed_payloads(user)
    return render(
        request,
        "audit/trail.html",
        {
            "page": page,
            "rows": [event_output(event, with_sealed=with_sealed) for event in page],
            "filters": request.GET,
            "errors": errors,
        },
        status=400 if errors else 200,
    )

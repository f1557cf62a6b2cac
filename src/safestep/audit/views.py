"""The auditor's page: the trail, filtered, newest first, in words and local times.

Its filters are a person's: a case by its reference (``CSEC-2026-0001``), a username, what
happened, and a range of days in the district's time zone. A filter that cannot be read is
said next to its field, and the trail is then shown unfiltered by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from safestep.accounts.access import sees_sealed_payloads
from safestep.accounts.models import User
from safestep.audit.actions import Action
from safestep.audit.selectors import (
    action_choices,
    audit_events_for_user,
    case_id_for_reference,
    trail_rows,
)
from safestep.audit.services import event_record
from safestep.core.errors import PermissionDenied

PAGE_SIZE = 100
FILTERS = ("case", "actor", "action", "from", "to")
MAX_FILTER_TEXT = 150


@dataclass
class TrailFilters:
    """The page's filters, read: what to ask the trail for, and what could not be read."""

    case_id: int | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _day(raw: str) -> date | None:
    text = raw.strip()
    if len(text) != 10 or not text.isascii():
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _case_filter(raw: str, found: TrailFilters) -> None:
    text = raw.strip()
    if not text:
        return
    if text.isascii() and text.isdecimal() and len(text) <= 18:
        # The case's number, as in a page's address (/cases/42/).
        found.case_id = int(text)
        return
    case_id = case_id_for_reference(text[:MAX_FILTER_TEXT])
    if case_id is None:
        found.errors["case"] = (
            _("No case %(reference)s in the trail.") % {"reference": text.upper()}
            if "-" in text
            else _("Give a case reference such as CSEC-2026-0001.")
        )
    else:
        found.case_id = case_id


def read_filters(params: QueryDict) -> TrailFilters:
    found = TrailFilters()
    _case_filter(str(params.get("case", "")), found)
    actor = str(params.get("actor", "")).strip()
    if len(actor) > MAX_FILTER_TEXT:
        found.errors["actor"] = _("A username has at most 150 characters.")
    elif actor:
        found.actor = actor
    action = str(params.get("action", "")).strip()
    if action and action not in {item.value for item in Action}:
        found.errors["action"] = _("Choose what happened from the list.")
    elif action:
        found.action = action
    first, last = str(params.get("from", "")), str(params.get("to", ""))
    first_day, last_day = _day(first), _day(last)
    for name, raw, day in (("from", first, first_day), ("to", last, last_day)):
        if raw.strip() and day is None:
            found.errors[name] = _("Enter a date, e.g. 2026-03-02.")
    if first_day is not None and last_day is not None and last_day < first_day:
        found.errors["to"] = _("The last day comes before the first.")
    else:
        if first_day is not None:
            found.since = _local_midnight(first_day)
        if last_day is not None:
            # The whole last day, to the next midnight in the district's zone.
            found.until = _local_midnight(last_day + timedelta(days=1))
    return found


def _query_without_page(params: QueryDict) -> str:
    return urlencode([(name, params[name]) for name in FILTERS if params.get(name)])


@login_required
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    filters = read_filters(request.GET)
    try:
        events = audit_events_for_user(
            user,
            case_id=filters.case_id,
            actor=filters.actor,
            action=filters.action,
            since=filters.since,
            until=filters.until,
        ).order_by("-seq")
    except PermissionDenied:
        raise DjangoPermissionDenied from None
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    asked: dict[str, Any] = {
        name: str(request.GET.get(name, "")).strip()[:MAX_FILTER_TEXT]
        for name in FILTERS
        if str(request.GET.get(name, "")).strip()
    }
    event_record(actor=user, action=Action.AUDIT_READ, payload={"via": "page", **asked})
    return render(
        request,
        "audit/trail.html",
        {
            "page": page,
            "rows": trail_rows(page, with_sealed=sees_sealed_payloads(user)),
            "filters": request.GET,
            "errors": filters.errors,
            "actions": action_choices(),
            "query": _query_without_page(request.GET),
            "time_zone": timezone.get_current_timezone_name(),
        },
        status=400 if filters.errors else 200,
    )

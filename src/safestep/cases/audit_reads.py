"""Reads of the audit trail that need a case's scope: a case's timeline, disclosure logs.

The trail (``safestep.audit``) knows nothing of cases; cases write to it. What a person may
read of it about a case or a student depends on which cases and concerns they may see, so
these selectors live with the cases and ask the trail for its rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from safestep.accounts.access import (
    Capability,
    concern_triage_scope,
    has_capability,
    sees_sealed_payloads,
    sees_withheld_reporter,
)
from safestep.accounts.models import User
from safestep.audit.models import Disclosure, Event
from safestep.audit.selectors import case_timeline
from safestep.cases.models import Case, Concern
from safestep.cases.selectors import case_scope_for, linked_cases_visible
from safestep.core.errors import PermissionDenied


def case_timeline_for_user(user: User, case: Case) -> list[Event]:
    """A case's events as USER may see them (the caller has already authorized CASE).

    A link to a case outside the user's scope is left out entirely: out of scope means the
    other case does not exist for them, so neither may the link.
    """
    if not has_capability(user, Capability.CASE_TIMELINE_READ):
        raise PermissionDenied(f"your role ({user.role}) does not read case timelines")
    visible = {other.pk for _, other in linked_cases_visible(user, case)}
    shown = []
    for event in case_timeline(case.pk):
        if event.action == "case.link" and event.payload.get("other_case") not in visible:
            continue
        shown.append(event)
    return shown


def case_timeline_page(
    case_id: int, *, size: int, before: int | None = None, with_reads: bool = False
) -> tuple[list[Event], bool]:
    """The latest SIZE events of a case before the event BEFORE (the latest when None),
    oldest first, and whether there are earlier ones. The caller has authorized the case.

    Reads of the case (``case.read``) are left out unless WITH_READS: they are most of a
    long-lived case's events. One query, walking the (case, seq) index backwards.
    """
    events = Event.objects.filter(case_id=case_id)
    if not with_reads:
        events = events.exclude(action="case.read")
    if before is not None:
        events = events.filter(seq__lt=before)
    rows = list(events.order_by("-seq")[: size + 1])
    return rows[:size][::-1], len(rows) > size


def withheld_reporter_concerns(user: User, disclosures: Iterable[Disclosure]) -> set[int]:
    """Concerns among DISCLOSURES whose reporter USER may not know (PC 11166(i)(2))."""
    if sees_withheld_reporter(user):
        return set()
    concern_ids = {item.concern_id for item in disclosures if item.concern_id is not None}
    return set(
        Concern.objects.filter(pk__in=concern_ids, withhold_identity=True).values_list(
            "pk", flat=True
        )
    )


def disclosures_for_user(user: User, *, sis_id: str) -> QuerySet[Disclosure]:
    """The disclosures about students with SIS_ID on cases USER may see, and on concerns USER
    reported or may triage.

    Only what the reader could already reach is listed: a SIS id names a student within one
    school, and another school's disclosures stay with that school's cases. Nobody without a
    case scope (auditors) may ask at all, so the answer can never tell whether a child with
    that SIS id has a record.
    """
    if not has_capability(user, Capability.CASE_READ) or not sees_sealed_payloads(user):
        raise PermissionDenied("your role does not read disclosure logs by student")
    cases = Case.objects.filter(case_scope_for(user), student__sis_id=sis_id)
    concerns = Concern.objects.filter(
        Q(submitted_by=user) | concern_triage_scope(user), named_students__student__sis_id=sis_id
    )
    # An empty list, never 404: the answer says nothing about students beyond the reader's.
    return (
        Disclosure.objects.filter(
            Q(case_id__in=cases.values("pk")) | Q(concern_id__in=concerns.values("pk"))
        )
        .select_related("recorded_by")
        .order_by("disclosed_at", "id")
    )

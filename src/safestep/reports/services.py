"""Producing reports. Each one is a disclosure, so each is written to the audit trail.

Nothing here changes a case; the only write is the audit event. It is appended after the
report is built and before it is handed over, in a transaction of its own (as an audited
read is), so a report whose event could not be written is never returned.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User
from safestep.audit.services import event_record
from safestep.cases.selectors import case_get_for_user, concern_get_own
from safestep.core.errors import PermissionDenied
from safestep.reports.periods import Period
from safestep.reports.rollups import rollup_rebuild
from safestep.reports.scar import render_scar_pdf, scar_concern_forms, scar_form
from safestep.reports.statistics import Statistics, statistics_compute


@dataclass(frozen=True)
class ScarDocument:
    filename: str
    content: bytes


def scar_generate(*, acting_user: User, case_id: int, channel: str = "api") -> ScarDocument:
    """The pre-filled SS 8572 for a case: 404 outside the user's scope, 403 for a role that
    does not generate it, 409 for a case whose pathway makes no report to CWS."""
    case = case_get_for_user(acting_user, case_id, audit_read=False)
    if not has_capability(acting_user, Capability.SCAR_GENERATE):
        raise PermissionDenied(f"your role ({acting_user.role}) does not generate the SS 8572")
    content = render_scar_pdf(scar_form(case, user=acting_user, now=timezone.now()))
    event_record(
        actor=acting_user,
        action="scar.generate",
        case_id=case.pk,
        payload={
            "via": channel,
            "reference": case.reference,
            "sha256": hashlib.sha256(content).hexdigest(),
        },
    )
    # The file name carries the case reference only, never the student's name.
    return ScarDocument(filename=f"SS8572-{case.reference}.pdf", content=content)


def scar_generate_for_concern(
    *, acting_user: User, concern_id: int, channel: str = "api"
) -> ScarDocument:
    """The reporter's own pre-filled SS 8572 for a concern they reported (PC 11166(i)).

    Their duty to report is personal, so the form is theirs whatever the school does with
    the concern, and only theirs: anyone else gets 404, as for a concern that does not exist.
    """
    concern = concern_get_own(acting_user, concern_id)
    # One report per victim: a concern naming several students prints one form for each.
    content = render_scar_pdf(scar_concern_forms(concern, now=timezone.now()))
    event_record(
        actor=acting_user,
        action="scar.generate",
        # Filed under the case once there is one, so the case's trail shows the disclosure.
        case_id=cases[0].pk if (cases := concern.cases) else None,
        payload={
            "via": channel,
            "concern": concern.pk,
            "sha256": hashlib.sha256(content).hexdigest(),
        },
    )
    # Named by the concern's number: neither the student nor a case reference the reporter
    # is not told.
    return ScarDocument(filename=f"SS8572-concern-{concern.pk}.pdf", content=content)


def statistics_export(
    *, acting_user: User, period: Period, by: tuple[str, ...], file_format: str
) -> Statistics:
    """De-identified counts for publication (coordinators and auditors)."""
    if not has_capability(acting_user, Capability.STATISTICS):
        raise PermissionDenied(f"your role ({acting_user.role}) does not read statistics")
    statistics = statistics_compute(period=period, by=by)
    event_record(
        actor=acting_user,
        action="stats.export",
        payload={
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "by": list(by),
            "format": file_format,
            "rows": len(statistics.rows),
            "suppressed": sum(row.suppressed for row in statistics.rows),
        },
    )
    return statistics


def rollup_rebuild_recorded(*, workers: int | None = None) -> tuple[int, int]:
    """Recount the dashboard's rollup from scratch and record that it was done (by an
    operator, from the command line: no user). Returns (cells, figures corrected)."""
    with transaction.atomic():
        cells, corrected = rollup_rebuild(workers=workers)
        event_record(
            actor=None,
            action="rollup.rebuild",
            payload={"cells": cells, "corrected": corrected},
        )
    return cells, corrected

"""Importing the district's roster (`safestep roster import DIR [--dry-run]`).

``accounts.roster`` reads the OneRoster export and plans; this module runs the import: it
takes the snapshot the plan is made against, writes schools and staff (through
``accounts.services``) and students (here: they are the cases' registry), and records one
audit event with the counts, all in one transaction. It lives in ``cases`` because it is
the one place that writes both accounts and students (cases depend on accounts, never the
reverse).

A bad row stops the import before anything is written; so does a clash with a write made
meanwhile (a concern naming a new student), which a second run resolves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import School, User
from safestep.accounts.roster import (
    STUDENT_FIELDS,
    Advance,
    Change,
    Export,
    Held,
    Plan,
    ProgressFactory,
    RosterError,
    SchoolHeld,
    StaffHeld,
    StudentHeld,
    StudentPlan,
    no_progress,
    plan_roster,
    read_export,
)
from safestep.accounts.services import ROSTER_BATCH, roster_schools_write, roster_staff_write
from safestep.audit.actions import Action
from safestep.audit.services import event_record
from safestep.cases.models import Student
from safestep.core.errors import PermissionDenied


def roster_held() -> Held:
    """What SafeStep holds now, as the plan compares it (every school, account, student)."""
    schools = [
        SchoolHeld(pk=pk, sourced_id=sourced_id, code=code, name=name)
        for pk, sourced_id, code, name in School.objects.values_list(
            "pk", "sourced_id", "code", "name"
        )
    ]
    school_ids: dict[int, set[int]] = {}
    for user_id, school_id in User.schools.through.objects.values_list("user_id", "school_id"):
        school_ids.setdefault(user_id, set()).add(school_id)
    staff = [
        StaffHeld(
            pk=row[0],
            sourced_id=row[1],
            username=row[2],
            first_name=row[3],
            last_name=row[4],
            email=row[5],
            role=row[6],
            is_active=row[7],
            school_ids=frozenset(school_ids.get(row[0], ())),
        )
        for row in User.objects.values_list(
            "pk",
            "sourced_id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "is_active",
        )
    ]
    # Sex and ethnicity come out decrypted (the field's converter runs for values too).
    students = [
        StudentHeld(
            pk=row[0],
            school_id=row[1],
            sourced_id=row[2],
            sis_id=row[3],
            first_name=row[4],
            last_name=row[5],
            birth_date=row[6],
            grade=row[7],
            sex=row[8],
            ethnicity=row[9],
        )
        for row in Student.objects.order_by().values_list(
            "pk",
            "school_id",
            "sourced_id",
            "sis_id",
            "first_name",
            "last_name",
            "birth_date",
            "grade",
            "sex",
            "ethnicity",
        )
    ]
    return Held(schools=schools, staff=staff, students=students)


def _student_values(plan: StudentPlan, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in names}


def roster_students_write(
    *, plans: Sequence[StudentPlan], school_ids: Mapping[str, int], advance: Advance
) -> None:
    """Create and update the registry students of a roster import."""
    created = [plan for plan in plans if plan.change == Change.CREATE]
    for start in range(0, len(created), ROSTER_BATCH):
        batch = created[start : start + ROSTER_BATCH]
        Student.objects.bulk_create(
            [
                Student(
                    school_id=school_ids[plan.school_code],
                    **_student_values(plan, STUDENT_FIELDS),
                )
                for plan in batch
            ]
        )
        advance(len(batch))
    updated = [plan for plan in plans if plan.change == Change.UPDATE]
    fields = sorted({name for plan in updated for name in plan.changed})
    for start in range(0, len(updated), ROSTER_BATCH):
        batch = updated[start : start + ROSTER_BATCH]
        Student.objects.bulk_update(
            [Student(pk=plan.pk, **_student_values(plan, fields)) for plan in batch], fields
        )
        advance(len(batch))


def _changes_to_write(plan: Plan) -> int:
    return sum(
        1
        for items in (plan.staff, plan.students)
        for item in items
        if item.change != Change.UNCHANGED
    )


def _plan(export: Export, progress: ProgressFactory) -> Plan:
    with progress("comparing", export.people) as advance:
        return plan_roster(export, roster_held(), today=timezone.localdate(), advance=advance)


def roster_import(
    *,
    directory: Path,
    dry_run: bool = False,
    acting_user: User | None = None,
    progress: ProgressFactory = no_progress,
) -> Plan:
    """Import the OneRoster 1.1 export in DIRECTORY; return the plan it followed.

    DRY_RUN plans and writes nothing (not even the audit event). A bad row raises
    RosterError (``FILE:LINE: message``) before anything is written.
    """
    if acting_user is not None and not has_capability(acting_user, Capability.ACCOUNTS_MANAGE):
        raise PermissionDenied(f"your role ({acting_user.role}) may not import rosters")
    # The files are read before the transaction starts: on SQLite a write transaction
    # makes every other writer wait, so it holds only the comparison and the writes.
    export = read_export(directory, progress=progress)
    if dry_run:
        return _plan(export, progress)
    try:
        with transaction.atomic():
            plan = _plan(export, progress)
            with progress("writing", _changes_to_write(plan)) as advance:
                school_ids = roster_schools_write(plans=plan.schools)
                roster_staff_write(plans=plan.staff, school_ids=school_ids, advance=advance)
                roster_students_write(plans=plan.students, school_ids=school_ids, advance=advance)
            event_record(
                actor=acting_user,
                action=Action.ROSTER_IMPORT,
                # Counts only: never a name, not even a username.
                payload={
                    **plan.counts(),
                    "files": {kind: str(mode) for kind, mode in export.modes.items()},
                },
            )
    except IntegrityError as error:
        raise RosterError(
            f"{directory}: SafeStep changed during the import ({error}); nothing was "
            "written, run it again"
        ) from None
    return plan

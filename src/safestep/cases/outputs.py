"""How a case, a step, a concern and a review read for a given user: built once, here.

The API answers with these shapes (``api.outputs`` re-exports them) and the pages render
from them, so a page never shows what the API would withhold. Who may know what is decided
in ``accounts.access`` and the scoped selectors; this module only assembles the answer.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django.utils import timezone

from safestep.accounts.access import reporter_hidden_from, sees_case_narrative
from safestep.accounts.models import User
from safestep.cases.folding import fetched_list
from safestep.cases.models import (
    Case,
    CaseLink,
    CasePerson,
    CaseStatus,
    CaseTransfer,
    CheckIn,
    Concern,
    ConcernStudent,
    Note,
    Review,
)
from safestep.cases.people import PERSON_DETAIL_KEYS
from safestep.cases.selectors import (
    ListedCase,
    case_concerns_loaded,
    case_definition,
    case_evaluation,
    case_next_check_in_due,
    case_people_for_user,
    case_reviews,
    concern_triaged_by,
    linked_cases_visible,
    live_record_by_step,
    visible_details,
)
from safestep.protocol import StepState
from safestep.protocol.evaluator import StepStatus


def iso(moment: datetime | None, zone: tzinfo | None = None) -> str | None:
    """MOMENT in ZONE (the reader's, by default) as ISO 8601.

    A list passes ZONE, looked up once: finding the reader's zone costs twice what
    converting a moment does, and a page of cases writes a hundred and fifty of them.
    """
    if moment is None:
        return None
    return moment.astimezone(zone or timezone.get_current_timezone()).isoformat()


def _student(case: Case) -> dict[str, Any]:
    student = case.student
    return {
        "sis_id": student.sis_id,
        "first_name": student.first_name,
        "last_name": student.last_name,
        "birth_date": student.birth_date.isoformat() if student.birth_date else None,
        "grade": student.grade,
    }


def _step(user: User, case: Case, status: StepStatus, records: dict[str, Any]) -> dict[str, Any]:
    step = status.step
    record = records.get(step.id)
    details = visible_details(user, case, step, record.details) if record is not None else None
    return {
        "id": step.id,
        "number": step.number,
        "code": step.code,
        "title": step.title,
        "actor_roles": list(step.actor_roles),
        "state": str(status.state),
        "required": status.state != StepState.NOT_REQUIRED,
        "due_at": iso(status.due_at),
        "overdue": status.overdue,
        # Resolved after its due time: stays true for good.
        "late": status.late,
        "waiting_on": list(status.waiting_on),
        "may_not_apply": step.may_not_apply,
        "progress": step.progress.title if step.progress is not None else None,
        "resolved_at": iso(record.occurred_at) if record else None,
        "recorded_at": iso(record.recorded_at) if record else None,
        "resolved_by": record.actor.username if record else None,
        "details": details,
        "details_withheld": record is not None and details is None,
        "reason": (record.reason if sees_case_narrative(user) else None) if record else None,
    }


def _steps_to_do(case: ListedCase) -> tuple[list[str], list[str]]:
    """The ids of an open case's unresolved steps and of those overdue, in protocol order.

    A list's cases carry their open steps as the rollup keeps them (``open_steps``, see
    ``selectors._list_folds``): what the protocol's evaluation says, without running it.
    """
    if case.status != CaseStatus.OPEN:
        return [], []
    now = timezone.now()
    overdue = [
        row.step_id for row in case.open_steps if row.due_at is not None and now > row.due_at
    ]
    return [row.step_id for row in case.open_steps], overdue


def case_summary_output(user: User, case: ListedCase) -> dict[str, Any]:
    """A case in a list."""
    unresolved, overdue = _steps_to_do(case)
    zone = timezone.get_current_timezone()
    return {
        "id": case.pk,
        "reference": case.reference,
        "school": case.school_code,
        "student": {
            "sis_id": case.student_sis_id,
            "name": f"{case.student_first_name} {case.student_last_name}",
        },
        "pathway": case.pathway,
        "status": case.status,
        "version": case.version,
        "opened_at": iso(case.opened_at, zone),
        "suspicion_formed_at": iso(case.suspicion_formed_at, zone),
        "unresolved": unresolved,
        "overdue": overdue,
        "next_due_at": iso(case.next_due_at, zone),
        "needs_review": case.needs_review,
    }


def _link(link: CaseLink, other: Case, case: Case) -> dict[str, Any]:
    # The relation reads from the point of view of CASE.
    relation = link.relation
    if link.to_case_id == case.pk and relation in ("recruited", "recruited_by"):
        relation = "recruited_by" if relation == "recruited" else "recruited"
    return {"case": other.pk, "reference": other.reference, "relation": relation}


def case_output(user: User, case: Case) -> dict[str, Any]:
    definition = case_definition(case)
    evaluation = case_evaluation(case)
    records = live_record_by_step(case)
    narrative = sees_case_narrative(user)
    plan = getattr(case, "check_in_plan", None)
    return {
        "id": case.pk,
        "reference": case.reference,
        "school": case.school.code,
        "student": _student(case),
        "pathway": case.pathway,
        "protocol": {"id": definition.id, "version": definition.version},
        "status": case.status,
        "version": case.version,
        "summary": case.summary if narrative else None,
        "suspicion_formed_at": iso(case.suspicion_formed_at),
        "opened_at": iso(case.opened_at),
        "opened_by": case.opened_by.username,
        "closed_at": iso(case.closed_at),
        "closed_by": case.closed_by.username if case.closed_by else None,
        "outcome": case.outcome if narrative else None,
        "facts": {fact.id: None for fact in definition.facts}
        | {fact.fact_id: fact.value for fact in case.facts.all()},
        "closable": evaluation.closable,
        "unresolved": list(evaluation.unresolved),
        "late": list(evaluation.late),
        "needs_review": case.needs_review,
        "reviews": [review_summary_output(review) for review in case_reviews(case)],
        "steps": [_step(user, case, status, records) for status in evaluation.steps],
        "links": [_link(link, other, case) for link, other in linked_cases_visible(user, case)],
        "check_in_plan": (
            {
                "every_days": plan.every_days,
                "assignee": plan.assignee.username,
                "started_at": iso(plan.started_at),
            }
            if plan is not None
            else None
        ),
        "next_check_in_due": iso(case_next_check_in_due(case)),
        "check_ins": [check_in_output(check_in, narrative) for check_in in case.check_ins.all()],
        "people": [person_output(person) for person in case_people_for_user(user, case)],
        "victim_details": dict(case.victim_details) if narrative else None,
        "concerns": ([concern.pk for concern in case_concerns_loaded(case)] if narrative else None),
        "voided_at": iso(case.voided_at),
        "voided_by": case.voided_by.username if case.voided_by else None,
        "void_reason": (case.void_reason or None) if narrative else None,
        "transfers": [
            {
                "from_school": transfer.from_school.code,
                "to_school": transfer.to_school.code,
                "completed_at": iso(transfer.completed_at),
            }
            for transfer in case_transfers(case)
        ],
    }


def case_transfers(case: Case) -> list[CaseTransfer]:
    """CASE's moves between schools, oldest first: as its read loaded them, if it did."""
    loaded = fetched_list(case, "transfers")
    if loaded is not None:
        return loaded
    return list(case.transfers.select_related("from_school", "to_school"))


def person_output(person: CasePerson) -> dict[str, Any]:
    details = person.details
    return {
        "id": person.pk,
        "role": person.role,
        **{key: details.get(key) for key in PERSON_DETAIL_KEYS},
        "sis_id": person.student.sis_id if person.student is not None else None,
        "may_contact": person.may_contact,
        "may_be_involved": person.may_be_involved,
        "added_at": iso(person.added_at),
        "updated_at": iso(person.updated_at),
    }


def check_in_output(check_in: CheckIn, narrative: bool = True) -> dict[str, Any]:
    return {
        "id": check_in.pk,
        "occurred_at": iso(check_in.occurred_at),
        "method": check_in.method,
        "notes": check_in.notes if narrative else None,
        "recorded_by": check_in.recorded_by.username if narrative else None,
    }


def note_output(note: Note) -> dict[str, Any]:
    return {
        "id": note.pk,
        "author": note.author.username,
        "text": note.text,
        "created_at": iso(note.created_at),
    }


WITHHELD_REPORTER = "a staff member"


def reporter_name_for(user: User, concern: Concern) -> str:
    """Who reported CONCERN, as USER may know it (PC 11166(i)(2))."""
    if reporter_hidden_from(
        user, reporter_id=concern.submitted_by_id, withheld=concern.withhold_identity
    ):
        return WITHHELD_REPORTER
    return concern.submitted_by.username


def concern_output(user: User, concern: Concern) -> dict[str, Any]:
    own = concern.submitted_by_id == user.pk
    body: dict[str, Any] = {
        "id": concern.pk,
        "status": concern.status,
        "school": concern.school.code,
        "submitted_at": iso(concern.submitted_at),
        "observed_at": iso(concern.observed_at),
        # The written report's legal deadline, running from the observation.
        "report_due_at": iso(concern.report_due_at),
        "withhold_identity": concern.withhold_identity if own else None,
    }
    if own:
        body["own_report"] = concern.own_report
        # What they typed, never the school's record of the student: a reporter at another
        # school must not learn a name through a SIS id.
        typed = [_typed_student(row) for row in concern.mentions]
        body["students"] = typed
        body["student"] = typed[0]
    if not concern_triaged_by(user, concern):
        # A reporter follows the status of what they reported, nothing about any case.
        return body
    students = [_named_student(row) for row in concern.mentions]
    cases = concern.cases
    return body | {
        # The first student named, as before several could be; ``students`` lists them all.
        "student": students[0],
        "students": students,
        "submitted_by": reporter_name_for(user, concern),
        "description": concern.description,
        "indicators": list(concern.indicators),
        "own_report": concern.own_report,
        "case": cases[0].pk if cases else None,
        "dismissed_reason": concern.dismissed_reason,
    }


def _typed_student(row: ConcernStudent) -> dict[str, Any]:
    typed = f"{row.typed_first_name} {row.typed_last_name}".strip()
    return {"sis_id": row.student.sis_id, "name": typed or None}


def _named_student(row: ConcernStudent) -> dict[str, Any]:
    return {
        "sis_id": row.student.sis_id,
        "name": f"{row.student.first_name} {row.student.last_name}",
        # The reporter spelled it otherwise: for the site administrator to reconcile.
        "typed_name": (
            f"{row.typed_first_name} {row.typed_last_name}" if row.name_differs else None
        ),
        "case": row.case_id,
    }


def review_summary_output(review: Review) -> dict[str, Any]:
    """What a case's team sees of a review: that it is open, and how it was decided."""
    return {
        "id": review.pk,
        "kind": review.kind,
        "status": review.status,
        "decision": review.decision or None,
        "opened_at": iso(review.opened_at),
        "decided_at": iso(review.decided_at),
    }


def review_output(review: Review) -> dict[str, Any]:
    """A review as the district coordinator reads it."""
    return review_summary_output(review) | {
        "case": review.case_id,
        "case_reference": review.case.reference if review.case is not None else None,
        "concern": review.concern_id,
        "school": (
            review.case.school.code
            if review.case is not None
            else review.concern.school.code
            if review.concern is not None
            else None
        ),
        "reason": review.reason,
        "subject": review.subject,
        "opened_by": review.opened_by.username,
        "decided_by": review.decided_by.username if review.decided_by else None,
        "comment": review.comment or None,
    }

"""Every change to a concern or case: the one write path.

Each service is keyword-only, takes the acting user, runs in one transaction, locks the
case row, checks the version the caller read, and writes its event in the same
transaction. A refused write raises before anything is saved, so it changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from safestep.accounts.access import (
    Capability,
    acts_at_school,
    check_in_assignable,
    has_capability,
    may_answer_fact,
    may_reopen_step,
    may_resolve_step,
)
from safestep.accounts.models import School, User
from safestep.audit.disclosures import disclosure_rule, own_report_disclosure
from safestep.audit.services import disclosure_record, event_record
from safestep.cases.models import (
    PARENT_ROLES,
    Case,
    CaseFact,
    CaseLink,
    CasePerson,
    CaseStatus,
    CaseTransfer,
    CheckIn,
    CheckInMethod,
    CheckInPlan,
    Concern,
    ConcernStatus,
    ConcernStudent,
    LinkRelation,
    Note,
    ReferenceCounter,
    Resolution,
    Review,
    ReviewDecision,
    ReviewKind,
    ReviewStatus,
    StepRecord,
    Student,
)
from safestep.cases.selectors import (
    case_clock_anchor,
    case_concerns,
    case_definition,
    case_evaluation,
    case_get_for_user,
    case_transfer_decided,
    concern_get_for_triage,
    concern_get_own,
    live_record_by_step,
    record_input,
    review_get_for_decision,
)
from safestep.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from safestep.core.moments import check_birth_date, check_moment
from safestep.definitions.selectors import definition_of, protocol_active, protocol_current
from safestep.notify.services import (
    notice_case_transferred,
    notice_concern_submitted,
    notice_reporter_duty_stands,
    notice_review_opened,
)
from safestep.protocol import (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_PARENT_CONTACT,
    EscalationNotAllowed,
    Protocol,
    Step,
    StepState,
    compute_due,
    iter_condition_facts,
    plan_escalation,
    validate_details,
)
from safestep.reports.rollups import rollup_case_changed

if TYPE_CHECKING:
    from safestep.definitions.models import ProtocolVersion

# One incident rarely involves more; a longer list is more likely a mistake than a report.
MAX_STUDENTS_PER_CONCERN = 20
REGULAR_CONTACT_FIELDS = ("every_days", "assignee")
MAX_TEXT = 20_000


@dataclass(frozen=True)
class StudentInput:
    sis_id: str
    first_name: str
    last_name: str
    birth_date: date | None = None
    grade: str = ""


# --- small checks shared by the services -------------------------------------------------


def _require(user: User, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(
            gettext("your role (%(role)s) may not do this: %(capability)s")
            % {"role": user.role, "capability": capability}
        )


def _local_minute(moment: datetime) -> str:
    """A time as messages quote it: local, to the minute, with its zone."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}"


def _not_in_future(field: str, moment: datetime, now: datetime) -> dict[str, list[str]]:
    # Aware, from 1 January 1990 to now plus a few minutes: safestep.core.moments.
    message = check_moment(moment, now=now)
    return {field: [message]} if message else {}


def _text(field: str, value: str, *, required: bool, errors: dict[str, list[str]]) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        errors[field] = [gettext("This field is required.")]
    elif len(cleaned) > MAX_TEXT:
        errors[field] = [gettext("At most %(limit)s characters.") % {"limit": MAX_TEXT}]
    return cleaned


# The part of a case every write depends on: its pathway, status, school and clock. A write
# that changes one of those conflicts with every write that read an older version.
CASE_WIDE = "case"


def step_part(step_id: str) -> str:
    return f"step:{step_id}"


def person_part(person_id: int) -> str:
    return f"person:{person_id}"


FACTS_PART = "facts"
PLAN_PART = "plan"
VICTIM_PART = "victim"


def locked_open_case(
    *,
    acting_user: User,
    case_id: int,
    capability: Capability,
    expected_version: int | None,
    parts: Sequence[str] | None = None,
) -> Case:
    """The case, locked for this transaction, after scope, role, status and version checks.

    The order matters: out of scope is 404 before anything else can leak that the case
    exists; then 403 for the role; then 409 for a closed case or a stale version.

    A write names the version it read. With PARTS (what the write changes: one step, the
    facts, the check-in plan ...) it is refused only if one of those, or the case as a whole,
    changed since that version: two people working different steps of one case do not stop
    each other. Without PARTS, any change since that version refuses it.
    """
    case = case_get_for_user(acting_user, case_id, for_write=True)
    _require(acting_user, capability)
    if case.status == CaseStatus.VOIDED:
        raise Conflict(
            gettext("case %(reference)s was voided as opened in error")
            % {"reference": case.reference}
        )
    if case.status != CaseStatus.OPEN:
        raise Conflict(
            gettext("case %(reference)s is closed; reopen it first") % {"reference": case.reference}
        )
    if expected_version is None:
        return case
    changed = _changed_since(case, expected_version, parts)
    if changed:
        raise StaleVersion(
            gettext(
                "case %(reference)s changed since you read it (version %(expected)s, "
                "now %(current)s: %(changed)s); reload and try again"
            )
            % {
                "reference": case.reference,
                "expected": expected_version,
                "current": case.version,
                "changed": changed,
            },
            current_version=case.version,
        )
    return case


def _changed_since(case: Case, expected_version: int, parts: Sequence[str] | None) -> str:
    """What of PARTS changed after EXPECTED_VERSION, in words; empty when nothing did."""
    if expected_version > case.version:
        return "that version does not exist yet"
    if parts is None:
        return "" if expected_version == case.version else "the case"
    changed_at = case.part_versions if isinstance(case.part_versions, dict) else {}
    newer = [part for part in (CASE_WIDE, *parts) if changed_at.get(part, 0) > expected_version]
    return ", ".join("the case" if part == CASE_WIDE else part for part in newer)


def bump_case(case: Case, *fields: str, parts: Sequence[str] | None = None) -> None:
    """Count a change to the case, note which PARTS it changed (the whole case when not
    said), and refresh its next deadline."""
    case.version += 1
    changed_at = dict(case.part_versions) if isinstance(case.part_versions, dict) else {}
    for part in parts if parts is not None else (CASE_WIDE,):
        changed_at[part] = case.version
    case.part_versions = changed_at
    case.next_due_at = _next_due(case)
    case.save(update_fields=["version", "part_versions", "next_due_at", *fields])
    # The dashboard's figures change in the same transaction as the case.
    rollup_case_changed(case)


def _next_due(case: Case) -> datetime | None:
    if case.status != CaseStatus.OPEN:
        return None
    evaluation = case_evaluation(case)
    due = [
        status.due_at for status in evaluation.steps if status.due_at is not None and status.is_open
    ]
    return min(due, default=None)


def _step_of(definition: Protocol, case: Case, step_id: str) -> Step:
    pathway = definition.pathway(case.pathway)
    if step_id not in pathway.step_ids:
        raise NotFound(
            gettext("no step %(step)r in pathway %(pathway)s")
            % {"step": step_id, "pathway": case.pathway}
        )
    return pathway.step(step_id)


def _report_step(definition: Protocol) -> Step | None:
    """The protocol's child abuse report step (its first pathway's version), if it has one."""
    step_id = definition.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    for pathway in definition.pathways:
        if step_id is not None and pathway.has_step(step_id):
            return pathway.step(step_id)
    return None


def _is_report_step(definition: Protocol, step: Step) -> bool:
    return step.id == definition.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)


def _review_open(
    *,
    acting_user: User,
    kind: ReviewKind,
    reason: str,
    case: Case | None = None,
    concern: Concern | None = None,
    subject: Mapping[str, Any] | None = None,
) -> Review:
    """Open a review for the district coordinator, in the caller's transaction.

    The caller saves the case (``needs_review`` is set here) with its own version bump.
    """
    review = Review.objects.create(
        case=case,
        concern=concern,
        kind=kind,
        subject=dict(subject or {}),
        reason=reason,
        opened_at=timezone.now(),
        opened_by=acting_user,
    )
    if case is not None:
        case.needs_review = True
    event_record(
        actor=acting_user,
        action="review.open",
        case_id=case.pk if case is not None else None,
        payload={
            "review": review.pk,
            "kind": kind.value,
            "concern": concern.pk if concern is not None else None,
        },
        sensitive={"reason": reason},
    )
    notice_review_opened(review=review)
    return review


def _tell_reporters_their_duty_stands(case: Case, kind: str) -> None:
    """The school will not make the report: each reporter's own duty stands (PC 11166(h))."""
    for concern in case_concerns(case):
        notice_reporter_duty_stands(concern=concern, kind=kind)


# --- concerns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentMatch:
    """The school's student for what was typed, and whether the typed name differs."""

    student: Student
    typed_first_name: str
    typed_last_name: str
    name_differs: bool


def _same_name(student: Student, first: str, last: str) -> bool:
    return (student.first_name.casefold(), student.last_name.casefold()) == (
        first.casefold(),
        last.casefold(),
    )


def _student_field(index: int, count: int) -> str:
    """How errors name the INDEX-th of COUNT students: ``student`` when there is one."""
    return "student" if count == 1 else f"students.{index}"


def _student_for(school: School, student: StudentInput, *, field: str = "student") -> StudentMatch:
    """The student with this SIS id at SCHOOL, created on first mention.

    The school's record is never overwritten by what someone typed: a different spelling is
    kept beside it (on the concern) for the site administrator to reconcile.
    """
    errors: dict[str, list[str]] = {}
    sis_id = _text(f"{field}.sis_id", student.sis_id, required=True, errors=errors)
    first = _text(f"{field}.first_name", student.first_name, required=True, errors=errors)
    last = _text(f"{field}.last_name", student.last_name, required=True, errors=errors)
    if student.birth_date is not None:
        problem = check_birth_date(student.birth_date, today=timezone.localdate())
        if problem:
            errors[f"{field}.birth_date"] = [problem]
    if errors:
        raise ValidationFailed(errors)
    existing = Student.objects.filter(school=school, sis_id=sis_id).first()
    if existing is not None:
        return StudentMatch(existing, first, last, not _same_name(existing, first, last))
    try:
        with transaction.atomic():
            created = Student.objects.create(
                sis_id=sis_id,
                first_name=first,
                last_name=last,
                birth_date=student.birth_date,
                grade=student.grade.strip(),
                school=school,
            )
    except IntegrityError:
        # Someone else mentioned the same student a moment ago.
        created = Student.objects.get(school=school, sis_id=sis_id)
        return StudentMatch(created, first, last, not _same_name(created, first, last))
    return StudentMatch(created, first, last, False)


def _school(code: str) -> School:
    school = School.objects.filter(code=code).first()
    if school is None:
        raise ValidationFailed({"school": [gettext("Unknown school %(code)r.") % {"code": code}]})
    return school


OWN_REPORT_FIELDS = ("agency", "agency_name", "phoned_at", "written_submitted_at", "reference")


def _check_own_report(
    definition: Protocol,
    own_report: Mapping[str, Any] | None,
    *,
    observed_at: datetime,
    now: datetime,
) -> dict[str, Any] | None:
    """The reporter's own report, checked against the protocol's child abuse report step.

    The call alone is partial progress; with the written report's time it is complete. The
    reporter cannot have reported before they saw what they report.
    """
    if own_report is None:
        return None
    step = _report_step(definition)
    if step is None:
        raise ValidationFailed(
            {"own_report": [gettext("This protocol has no child abuse report step.")]}
        )
    given = {key: value for key, value in own_report.items() if value not in (None, "")}
    subset = {key: given[key] for key in OWN_REPORT_FIELDS if key in given}
    written = "written_submitted_at" in subset
    cleaned, problems = validate_details(
        step,
        subset,
        resolution="done" if written else "in_progress",
        now=now,
        anchors={"suspicion_formed_at": observed_at},
    )
    errors = {f"own_report.{name}": messages for name, messages in problems.items()}
    for name in ("agency", "phoned_at"):
        if not subset.get(name):
            errors.setdefault(f"own_report.{name}", [gettext("This field is required.")])
    for name in sorted(set(own_report) - set(OWN_REPORT_FIELDS)):
        errors[f"own_report.{name}"] = [gettext("Unknown field.")]
    if errors:
        raise ValidationFailed(errors)
    return {key: cleaned[key] for key in OWN_REPORT_FIELDS if key in cleaned}


def _report_due(definition: Protocol, observed_at: datetime) -> datetime | None:
    """When the written report is due for something seen at OBSERVED_AT (PC 11166(a))."""
    step = _report_step(definition)
    if step is None or step.deadline is None or step.deadline.anchor_step is not None:
        return None
    return compute_due(observed_at, step.deadline.within, settings.TIME_ZONE)


def _record_own_report_disclosure(
    acting_user: User,
    concern: Concern,
    report: Mapping[str, Any],
    *,
    previous: Mapping[str, Any],
    definition: Protocol,
) -> None:
    """The reporter's call (and later the written report) released the student's information,
    as the protocol's child abuse report step declares."""
    disclosed = own_report_disclosure(definition, report)
    if disclosed is None:
        return
    rule, recipient = disclosed
    for moment_field in ("phoned_at", "written_submitted_at"):
        moment = report.get(moment_field)
        if not moment or (
            previous.get(moment_field) == moment and previous.get("agency") == report["agency"]
        ):
            continue
        for named in concern.named_students.all():
            disclosure_record(
                acting_user=acting_user,
                student_id=named.student_id,
                # The concern's, not its case's: a case's timeline must not name a reporter
                # who withheld their identity from the school's staff.
                case_id=None,
                concern_id=concern.pk,
                step_id="",
                recipient=recipient.name,
                recipient_type=recipient.type,
                categories=rule.categories,
                legal_basis=rule.legal_basis,
                disclosed_at=datetime.fromisoformat(str(moment)),
            )


def concern_submit(
    *,
    acting_user: User,
    school_code: str,
    observed_at: datetime,
    description: str,
    indicators: list[str],
    student: StudentInput | None = None,
    students: Sequence[StudentInput] = (),
    own_report: Mapping[str, Any] | None = None,
    withhold_identity: bool = False,
) -> Concern:
    """A staff member reports what they saw about one STUDENT or several STUDENTS of the
    same incident. Any active staff member may.

    The written report's legal clock starts when they saw it, so the concern carries its due
    time from this moment on, and the school's site administrators hear of it at once.
    """
    _require(acting_user, Capability.CONCERN_SUBMIT)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    errors |= _not_in_future("observed_at", observed_at, now)
    text = _text("description", description, required=True, errors=errors)
    # Concerns are screened with the indicators of the protocol new cases follow.
    definition = definition_of(protocol_active())
    known = {indicator.id for indicator in definition.indicators}
    unknown = [item for item in indicators if item not in known]
    if unknown:
        errors["indicators"] = [
            gettext("Unknown indicator %(indicator)r.") % {"indicator": item} for item in unknown
        ]
    if not isinstance(withhold_identity, bool):
        errors["withhold_identity"] = [gettext("Must be true or false.")]
    if student is not None and students:
        errors["students"] = [gettext("Name either one student or several students, not both.")]
    students = [student] if student is not None else list(students)
    if not students:
        errors["students"] = [gettext("Name at least one student.")]
    elif len(students) > MAX_STUDENTS_PER_CONCERN:
        errors["students"] = [
            gettext("At most %(limit)s students in one concern.")
            % {"limit": MAX_STUDENTS_PER_CONCERN}
        ]
    elif len({item.sis_id.strip() for item in students}) != len(students):
        errors["students"] = [gettext("A student is named twice.")]
    if errors:
        raise ValidationFailed(errors)
    report = _check_own_report(definition, own_report, observed_at=observed_at, now=now)
    with transaction.atomic():
        school = _school(school_code)
        matches = [
            _student_for(school, student, field=_student_field(index, len(students)))
            for index, student in enumerate(students)
        ]
        concern = Concern.objects.create(
            submitted_by=acting_user,
            submitted_at=now,
            school=school,
            observed_at=observed_at,
            description=text,
            indicators=list(dict.fromkeys(indicators)),
            own_report=report,
            own_report_updated_at=now if report is not None else None,
            report_due_at=_report_due(definition, observed_at),
            withhold_identity=withhold_identity,
        )
        for position, match in enumerate(matches):
            ConcernStudent.objects.create(
                concern=concern,
                student=match.student,
                position=position,
                typed_first_name=match.typed_first_name,
                typed_last_name=match.typed_last_name,
                name_differs=match.name_differs,
            )
        event_record(
            actor=acting_user,
            action="concern.submit",
            payload={
                "concern": concern.pk,
                "school": school.code,
                "students": len(matches),
                "own_report": report is not None,
                "withhold_identity": withhold_identity,
            },
        )
        if report is not None:
            _record_own_report_disclosure(
                acting_user, concern, report, previous={}, definition=definition
            )
        notice_concern_submitted(concern=concern)
    return concern


def concern_own_report_set(
    *,
    acting_user: User,
    concern_id: int,
    agency: str,
    phoned_at: datetime | str,
    written_submitted_at: datetime | str | None = None,
    reference: str = "",
    agency_name: str = "",
) -> Concern:
    """The reporter records or updates their own report (PC 11166(i)): nobody else may, and
    nobody's approval is needed."""
    with transaction.atomic():
        concern = concern_get_own(acting_user, concern_id, for_write=True)
        definition = definition_of(protocol_active())
        now = timezone.now()
        report = _check_own_report(
            definition,
            {
                "agency": agency,
                "phoned_at": phoned_at,
                "written_submitted_at": written_submitted_at,
                "reference": reference,
                "agency_name": agency_name,
            },
            observed_at=concern.observed_at,
            now=now,
        )
        assert report is not None
        previous = dict(concern.own_report or {})
        if previous.get("written_submitted_at") and not report.get("written_submitted_at"):
            raise ValidationFailed(
                {
                    "written_submitted_at": [
                        gettext("The written report was already recorded; give its time again.")
                    ]
                }
            )
        concern.own_report = report
        concern.own_report_updated_at = now
        concern.save(update_fields=["own_report", "own_report_updated_at"])
        event_record(
            actor=acting_user,
            action="concern.own_report",
            payload={
                "concern": concern.pk,
                "agency": report["agency"],
                "written": "written_submitted_at" in report,
            },
        )
        _record_own_report_disclosure(
            acting_user, concern, report, previous=previous, definition=definition
        )
    return concern


def concern_dismiss(*, acting_user: User, concern_id: int, reason: str) -> Concern:
    """Decide that a concern needs no case. The district coordinator reviews it, and the
    reporter is told that their own duty to report stands."""
    errors: dict[str, list[str]] = {}
    text = _text("reason", reason, required=True, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        concern = concern_get_for_triage(acting_user, concern_id, for_write=True)
        if concern.status != ConcernStatus.SUBMITTED:
            raise Conflict(
                gettext("concern %(concern)s was already %(status)s")
                % {"concern": concern.pk, "status": concern.status}
            )
        concern.status = ConcernStatus.DISMISSED
        concern.dismissed_reason = text
        concern.triaged_by = acting_user
        concern.triaged_at = timezone.now()
        concern.save(update_fields=["status", "dismissed_reason", "triaged_by", "triaged_at"])
        event_record(
            actor=acting_user,
            action="concern.dismiss",
            payload={"concern": concern.pk},
            sensitive={"reason": text},
        )
        _review_open(
            acting_user=acting_user,
            kind=ReviewKind.CONCERN_DISMISSED,
            reason=text,
            concern=concern,
        )
        notice_reporter_duty_stands(concern=concern, kind="concern_not_opened")
    return concern


# --- opening a case ---------------------------------------------------------------------


def _next_reference(year: int) -> str:
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"CSEC-{year}-{counter.last:04d}"


def case_open(
    *,
    acting_user: User,
    pathway: str,
    suspicion_formed_at: datetime,
    summary: str,
    school_code: str | None = None,
    student: StudentInput | None = None,
    concern_id: int | None = None,
    student_sis_id: str | None = None,
    protocol_id: str | None = None,
) -> Case:
    """Open a case for a student, from a concern (triage) or directly, on the active
    protocol or the one PROTOCOL_ID names (its most recently loaded version). The case
    keeps that version whatever is loaded or activated later.

    A concern that names several students becomes a case for each (STUDENT_SIS_ID says
    which); the cases of one concern are linked as the same incident, and the concern
    leaves the triage queue when every student it names has a case.
    """
    _require(acting_user, Capability.CASE_OPEN)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    errors |= _not_in_future("suspicion_formed_at", suspicion_formed_at, now)
    text = _text("summary", summary, required=False, errors=errors)
    stored = _protocol_to_open(protocol_id)
    definition = definition_of(stored)
    if pathway not in {item.id for item in definition.pathways}:
        errors["pathway"] = [
            gettext("Unknown pathway %(pathway)r; one of: %(known)s")
            % {"pathway": pathway, "known": ", ".join(item.id for item in definition.pathways)}
        ]
    if concern_id is None and (school_code is None or student is None):
        errors["concern"] = [gettext("Give either a concern, or a school and a student.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        concern: Concern | None = None
        mention: ConcernStudent | None = None
        if concern_id is not None:
            concern = concern_get_for_triage(acting_user, concern_id, for_write=True)
            if concern.status != ConcernStatus.SUBMITTED:
                raise Conflict(
                    gettext("concern %(concern)s was already %(status)s")
                    % {"concern": concern.pk, "status": concern.status}
                )
            mention = _mention_to_open(concern, student_sis_id)
            if suspicion_formed_at > concern.observed_at:
                # The clock runs from when staff first knew (PC 11166(a)); triage may not
                # restart it.
                raise ValidationFailed(
                    {
                        "suspicion_formed_at": [
                            gettext(
                                "May not be later than when the concern was observed "
                                "(%(observed)s): the 36-hour clock runs from the reporter's "
                                "knowledge."
                            )
                            % {"observed": _local_minute(concern.observed_at)}
                        ]
                    }
                )
            school, student_row = concern.school, mention.student
        else:
            assert school_code is not None
            assert student is not None
            school = _school(school_code)
            match = _student_for(school, student)
            if match.name_differs:
                # Said without the name on record: the caller may not know this student.
                raise ValidationFailed(
                    {
                        "student.sis_id": [
                            gettext(
                                "%(school)s has a student with this SIS id under another "
                                "name; check the SIS id, or open the case from a concern."
                            )
                            % {"school": school.code}
                        ]
                    }
                )
            student_row = match.student
        if not acts_at_school(acting_user, school.pk):
            raise ValidationFailed(
                {"school": [gettext("You do not work at %(school)s.") % {"school": school.code}]}
            )
        case = Case.objects.create(
            reference=_next_reference(now.year),
            school=school,
            student=student_row,
            protocol=stored,
            pathway=pathway,
            summary=text,
            suspicion_formed_at=suspicion_formed_at,
            opened_at=now,
            opened_by=acting_user,
        )
        case.next_due_at = _next_due(case)
        case.save(update_fields=["next_due_at"])
        rollup_case_changed(case)
        event_record(
            actor=acting_user,
            action="case.open",
            case_id=case.pk,
            payload={
                "reference": case.reference,
                "pathway": pathway,
                "protocol": f"{stored.protocol_id}@{stored.version}",
                "concern": concern.pk if concern else None,
            },
        )
        if concern is not None and mention is not None:
            _case_from_concern(acting_user, concern, mention, case, now)
    return case


def _protocol_to_open(protocol_id: str | None) -> ProtocolVersion:
    """The protocol version a new case follows: the active one, or the one named."""
    if protocol_id is None:
        return protocol_active()
    try:
        return protocol_current(protocol_id.strip())
    except NotFound:
        raise ValidationFailed(
            {
                "protocol": [
                    gettext("No protocol %(protocol)r is loaded.") % {"protocol": protocol_id}
                ]
            }
        ) from None


def _mention_to_open(concern: Concern, student_sis_id: str | None) -> ConcernStudent:
    """The student of CONCERN that a new case is for: the one named by STUDENT_SIS_ID, or
    the only one still without a case."""
    waiting = [row for row in concern.mentions if row.case_id is None]
    if student_sis_id:
        for row in concern.mentions:
            if row.student.sis_id == student_sis_id.strip():
                if row.case is not None:
                    raise Conflict(
                        gettext(
                            "concern %(concern)s already has case %(reference)s for "
                            "SIS id %(sis_id)s"
                        )
                        % {
                            "concern": concern.pk,
                            "reference": row.case.reference,
                            "sis_id": student_sis_id,
                        }
                    )
                return row
        raise ValidationFailed(
            {
                "student_sis_id": [
                    gettext("Concern %(concern)s names no student with this SIS id.")
                    % {"concern": concern.pk}
                ]
            }
        )
    if len(waiting) != 1:
        named = ", ".join(row.student.sis_id for row in waiting)
        raise ValidationFailed(
            {
                "student_sis_id": [
                    gettext(
                        "Concern %(concern)s names several students (%(named)s); say which one "
                        "this case is for."
                    )
                    % {"concern": concern.pk, "named": named}
                ]
            }
        )
    return waiting[0]


def _case_from_concern(
    acting_user: User, concern: Concern, mention: ConcernStudent, case: Case, now: datetime
) -> None:
    """Tie the new CASE to the concern's student, link it with the cases already opened from
    the same concern, and take the concern out of triage once every student has a case."""
    siblings = [row.case for row in concern.mentions if row.case is not None]
    mention.case = case
    mention.save(update_fields=["case"])
    for other in siblings:
        _link_cases(acting_user, case, other, LinkRelation.SAME_INCIDENT, now)
    if all(row.case_id is not None for row in concern.named_students.all()):
        concern.status = ConcernStatus.TRIAGED
        concern.triaged_by = acting_user
        concern.triaged_at = now
        concern.save(update_fields=["status", "triaged_by", "triaged_at"])


# --- facts ------------------------------------------------------------------------------


def case_facts_set(
    *,
    acting_user: User,
    case_id: int,
    facts: Mapping[str, bool | None],
    reason: str = "",
    expected_version: int,
) -> Case:
    """Answer the protocol's yes/no questions. Some answers need a reason and a review.

    A fact may name who judges it (School Police judge the evidence); anyone else is refused.
    """
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_READ,
            expected_version=expected_version,
            parts=(FACTS_PART,),
        )
        definition = case_definition(case)
        known = {fact.id: fact for fact in definition.facts}
        errors: dict[str, list[str]] = {}
        if not facts:
            errors["facts"] = [gettext("Answer at least one question.")]
        for name, value in facts.items():
            if name not in known:
                errors[f"facts.{name}"] = [
                    gettext("Unknown fact; one of: %(known)s.") % {"known": ", ".join(known)}
                ]
            elif value is not None and not isinstance(value, bool):
                errors[f"facts.{name}"] = [gettext("Must be true, false or null.")]
        for name in facts:
            if name in known and not may_answer_fact(acting_user, known[name].actor_roles):
                who = ", ".join(known[name].actor_roles) or gettext("the case's administrators")
                raise PermissionDenied(
                    gettext("%(fact)s is answered by: %(who)s; you are %(role)s")
                    % {"fact": name, "who": who, "role": acting_user.role}
                )
        reason_text = _text("reason", reason, required=False, errors=errors)
        gating = _facts_gating(definition, case.pathway)
        needs_reason = [
            name
            for name, value in facts.items()
            if name in known and value is not None and value == known[name].reason_required_when
        ]
        if needs_reason and not reason_text:
            errors["reason"] = [
                f"Explain why: answering {needs_reason[0]} that way needs a reason."
            ]
        if errors:
            raise ValidationFailed(errors)
        now = timezone.now()
        changed: dict[str, bool | None] = {}
        previous: dict[str, bool | None] = {}
        existing = {fact.fact_id: fact for fact in case.facts.all()}
        for name, value in facts.items():
            row = existing.get(name)
            if row is not None and row.value == value:
                continue
            changed[name] = value
            previous[name] = row.value if row is not None else None
            _fact_write(case, name, value, reason_text, acting_user, now, row)
        event_record(
            actor=acting_user,
            action="case.facts_set",
            case_id=case.pk,
            payload={"facts": changed, "reason_given": bool(reason_text)},
            sensitive={"reason": reason_text} if reason_text else None,
        )
        for name, value in changed.items():
            if value is not None and value == known[name].review_when and name in gating:
                _review_open(
                    acting_user=acting_user,
                    kind=ReviewKind.ABUSE_NOT_SUSPECTED,
                    reason=reason_text,
                    case=case,
                    subject={"fact": name, "value": value, "previous": previous[name]},
                )
                _tell_reporters_their_duty_stands(case, "report_waived")
        bump_case(case, "needs_review", parts=(FACTS_PART,))
    return case


def _fact_write(
    case: Case,
    name: str,
    value: bool | None,
    reason: str,
    acting_user: User,
    now: datetime,
    row: CaseFact | None,
) -> None:
    if row is None:
        CaseFact.objects.create(
            case=case, fact_id=name, value=value, reason=reason, set_by=acting_user, set_at=now
        )
    else:
        row.value, row.reason, row.set_by, row.set_at = value, reason, acting_user, now
        row.save(update_fields=["value", "reason", "set_by", "set_at"])


def _facts_gating(definition: Protocol, pathway_id: str) -> set[str]:
    """Facts that a condition of this pathway reads."""
    names: set[str] = set()
    for step in definition.pathway(pathway_id).steps:
        if step.condition is not None:
            names |= set(iter_condition_facts(step.condition))
    return names


# --- steps ------------------------------------------------------------------------------


def _check_resolvable(acting_user: User, case: Case, step: Step) -> StepState:
    if not may_resolve_step(acting_user, step.actor_roles):
        allowed = ", ".join(step.actor_roles)
        raise PermissionDenied(
            gettext("step %(step)s is resolved by: %(allowed)s; you are %(role)s")
            % {"step": step.id, "allowed": allowed, "role": acting_user.role}
        )
    status = case_evaluation(case).status(step.id)
    if status.state in (StepState.DONE, StepState.NOT_APPLICABLE):
        raise Conflict(
            gettext("step %(step)s is already resolved (%(state)s); reopen it first")
            % {"step": step.id, "state": status.state}
        )
    if status.state == StepState.WAITING:
        raise Conflict(
            gettext("step %(step)s waits on: %(steps)s")
            % {"step": step.id, "steps": ", ".join(status.waiting_on)}
        )
    return status.state


def _locked_step(
    acting_user: User, case_id: int, step_id: str, expected_version: int
) -> tuple[Case, Protocol, Step]:
    """The locked open case, its protocol and the step of its pathway."""
    case = locked_open_case(
        acting_user=acting_user,
        case_id=case_id,
        capability=Capability.CASE_READ,
        expected_version=expected_version,
        parts=(step_part(step_id),),
    )
    definition = case_definition(case)
    return case, definition, _step_of(definition, case, step_id)


def _step_to_resolve(
    acting_user: User, case_id: int, step_id: str, expected_version: int
) -> tuple[Case, Protocol, Step, StepState]:
    """The locked case, its protocol, the step and its state, once USER may resolve it."""
    case, definition, step = _locked_step(acting_user, case_id, step_id, expected_version)
    return case, definition, step, _check_resolvable(acting_user, case, step)


def _record(
    *,
    acting_user: User,
    case: Case,
    step: Step,
    resolution: Resolution,
    occurred_at: datetime,
    details: dict[str, Any],
    reason: str,
) -> StepRecord:
    try:
        with transaction.atomic():
            return case.step_records.create(
                step_id=step.id,
                pathway=case.pathway,
                resolution=resolution,
                occurred_at=occurred_at,
                recorded_at=timezone.now(),
                actor=acting_user,
                details=details,
                reason=reason,
            )
    except IntegrityError:
        raise Conflict(gettext("step %(step)s is already resolved") % {"step": step.id}) from None


def _supersede_progress(case: Case, step: Step, acting_user: User) -> dict[str, Any]:
    """Retire the step's in-progress record (kept for the trail); its details carry on."""
    record = live_record_by_step(case).get(step.id)
    if record is None or record.resolution != Resolution.IN_PROGRESS:
        return {}
    record.reopened_at = timezone.now()
    record.reopened_by = acting_user
    record.superseded = True
    record.save(update_fields=["reopened_at", "reopened_by", "superseded"])
    return dict(record.details)


def _step_anchors(case: Case) -> dict[str, datetime]:
    """The case's own times that a step's times may not precede."""
    return {"suspicion_formed_at": case_clock_anchor(case), "case_opened_at": case.opened_at}


def _details_errors(problems: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {f"details.{name}": messages for name, messages in problems.items()}


def _check_references(
    definition: Protocol, case: Case, step: Step, details: Mapping[str, Any]
) -> dict[str, list[str]]:
    """Details that name something SafeStep holds must name something that exists: a school
    for a ``school`` field, a person on this case for a ``person`` field. The person reached
    by the parent-contact step must be a parent or guardian who may be contacted."""
    errors: dict[str, list[str]] = {}
    for spec in step.fields:
        value = details.get(spec.name)
        if value in (None, ""):
            continue
        if spec.type == "school" and not School.objects.filter(code=str(value)).exists():
            errors[f"details.{spec.name}"] = [f"Unknown school {value!r}."]
        elif spec.type == "person":
            person = CasePerson.objects.filter(case=case, pk=int(str(value))).first()
            if person is None:
                errors[f"details.{spec.name}"] = [f"No person {value} on this case."]
            elif step.id == definition.step_id_with_role(STEP_ROLE_PARENT_CONTACT) and (
                person.role not in PARENT_ROLES or person.may_be_involved or not person.may_contact
            ):
                errors[f"details.{spec.name}"] = [
                    "Only a parent or guardian who may be contacted, and is not possibly "
                    "involved, can be chosen."
                ]
    return errors


def _check_threat(step: Step, details: Mapping[str, Any]) -> dict[str, list[str]]:
    """A disclosure under the health-or-safety exception must say what the threat was."""
    rule = disclosure_rule(step)
    if rule is None or not rule.needs_threat or rule.recipient(details) is None:
        return {}
    if rule.threat(details).strip():
        return {}
    return {
        f"details.{rule.declared.threat_field}": [
            "Describe the articulable and significant threat to the student's health or "
            "safety that this disclosure answers (FERPA 34 CFR 99.36)."
        ]
    }


def step_progress(
    *,
    acting_user: User,
    case_id: int,
    step_id: str,
    details: Mapping[str, Any],
    expected_version: int,
) -> Case:
    """Record partial progress the protocol declares (the phone call before the written
    report). The step stays open, and due, until it is completed."""
    with transaction.atomic():
        case, _definition, step, _state = _step_to_resolve(
            acting_user, case_id, step_id, expected_version
        )
        if step.progress is None:
            raise Conflict(
                gettext("step %(step)s has no partial progress to record; complete it")
                % {"step": step.id}
            )
        now = timezone.now()
        cleaned, problems = validate_details(
            step, dict(details), resolution="in_progress", now=now, anchors=_step_anchors(case)
        )
        errors = _details_errors(problems)
        if errors:
            raise ValidationFailed(errors)
        previous = _supersede_progress(case, step, acting_user)
        occurred_at = _progress_time(step, cleaned, now)
        _record(
            acting_user=acting_user,
            case=case,
            step=step,
            resolution=Resolution.IN_PROGRESS,
            occurred_at=occurred_at,
            details=cleaned,
            reason="",
        )
        bump_case(case, parts=(step_part(step.id),))
        event_record(
            actor=acting_user,
            action="step.progress",
            case_id=case.pk,
            step_id=step.id,
            payload={"occurred_at": occurred_at.isoformat(), "updated": bool(previous)},
        )
        if previous.get("agency") != cleaned.get("agency"):
            _record_disclosure(acting_user, case, step, cleaned, occurred_at)
    return case


def _progress_time(step: Step, details: Mapping[str, Any], now: datetime) -> datetime:
    """When the partial progress happened: the latest time among its declared fields."""
    assert step.progress is not None
    moments = [
        datetime.fromisoformat(str(details[name]))
        for name in step.progress.fields
        if step.field(name).type == "datetime" and details.get(name)
    ]
    return max(moments, default=now)


def step_complete(
    *,
    acting_user: User,
    case_id: int,
    step_id: str,
    occurred_at: datetime,
    details: Mapping[str, Any],
    expected_version: int,
    reason: str = "",
) -> Case:
    """Record that a step was done, with the details the protocol asks for.

    Details already given as progress (the phone call) carry over. When the protocol names
    the field that says when the step was done, that field is the time it happened, and a
    child abuse report done after its legal deadline needs a reason.
    """
    with transaction.atomic():
        case, definition, step, state = _step_to_resolve(
            acting_user, case_id, step_id, expected_version
        )
        if step.recurring:
            raise Conflict(
                gettext("step %(step)s is done by setting a check-in plan for the case")
                % {"step": step.id}
            )
        now = timezone.now()
        errors = _not_in_future("occurred_at", occurred_at, now)
        progress = (
            dict(live_record_by_step(case)[step.id].details)
            if state == StepState.IN_PROGRESS
            else {}
        )
        given = progress | {key: value for key, value in details.items() if value not in (None, "")}
        cleaned, problems = validate_details(
            step, given, resolution="done", now=now, anchors=_step_anchors(case)
        )
        errors |= _details_errors(problems)
        errors |= _check_threat(step, cleaned)
        errors |= _check_references(definition, case, step, cleaned)
        reason_text = _text("reason", reason, required=False, errors=errors)
        if step.done_at_field and cleaned.get(step.done_at_field):
            occurred_at = datetime.fromisoformat(str(cleaned[step.done_at_field]))
        due_at = case_evaluation(case).status(step.id).due_at
        late = due_at is not None and occurred_at > due_at
        if late and _is_report_step(definition, step) and not reason_text:
            errors["reason"] = [
                f"This report was made after its legal deadline "
                f"({timezone.localtime(due_at):%Y-%m-%d %H:%M %Z}); explain why it was late."
            ]
        if errors:
            raise ValidationFailed(errors)
        _supersede_progress(case, step, acting_user)
        _record(
            acting_user=acting_user,
            case=case,
            step=step,
            resolution=Resolution.DONE,
            occurred_at=occurred_at,
            details=cleaned,
            reason=reason_text,
        )
        bump_case(case, parts=(step_part(step.id),))
        event_record(
            actor=acting_user,
            action="step.complete",
            case_id=case.pk,
            step_id=step.id,
            payload={"occurred_at": occurred_at.isoformat(), "late": late},
            sensitive={"reason": reason_text} if reason_text else None,
        )
        _record_disclosure(acting_user, case, step, cleaned, occurred_at)
    return case


def _record_disclosure(
    acting_user: User, case: Case, step: Step, details: Mapping[str, Any], occurred_at: datetime
) -> None:
    """Log the disclosure outside the school that this step made, if it made one."""
    rule = disclosure_rule(step)
    recipient = rule.recipient(details) if rule is not None else None
    if rule is None or recipient is None:
        return
    disclosure_record(
        acting_user=acting_user,
        student_id=case.student_id,
        case_id=case.pk,
        step_id=step.id,
        recipient=recipient.name,
        recipient_type=recipient.type,
        categories=rule.categories,
        legal_basis=rule.legal_basis,
        disclosed_at=occurred_at,
        threat=rule.threat(details),
    )


def step_mark_not_applicable(
    *,
    acting_user: User,
    case_id: int,
    step_id: str,
    reason: str,
    details: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    expected_version: int,
) -> Case:
    """Record a conscious decision that a step does not apply, with the reason why.

    Waiving the child abuse report opens a review, and its reporters are told that their own
    duty stands. A pathway may forbid the decision altogether (a confirmed victim's report
    is always made).
    """
    with transaction.atomic():
        case, definition, step, state = _step_to_resolve(
            acting_user, case_id, step_id, expected_version
        )
        if not step.may_not_apply:
            raise Conflict(
                gettext(
                    "step %(step)s is always required on this pathway and cannot be marked "
                    "as not applicable; it must be done"
                )
                % {"step": step.id}
            )
        now = timezone.now()
        errors: dict[str, list[str]] = {}
        reason_text = _text("reason", reason, required=True, errors=errors)
        decided_at = occurred_at or now
        errors |= _not_in_future("occurred_at", decided_at, now)
        cleaned, problems = validate_details(
            step,
            dict(details or {}),
            resolution="not_applicable",
            now=now,
            anchors=_step_anchors(case),
        )
        errors |= _details_errors(problems)
        if errors:
            raise ValidationFailed(errors)
        if state == StepState.IN_PROGRESS:
            _supersede_progress(case, step, acting_user)
        record = _record(
            acting_user=acting_user,
            case=case,
            step=step,
            resolution=Resolution.NOT_APPLICABLE,
            occurred_at=decided_at,
            details=cleaned,
            reason=reason_text,
        )
        event_record(
            actor=acting_user,
            action="step.not_applicable",
            case_id=case.pk,
            step_id=step.id,
            payload={"review": step.review_when_not_applicable},
            sensitive={"reason": reason_text},
        )
        if step.review_when_not_applicable or _is_report_step(definition, step):
            _review_open(
                acting_user=acting_user,
                kind=ReviewKind.REPORT_WAIVED,
                reason=reason_text,
                case=case,
                subject={"step": step.id, "record": record.pk},
            )
            _tell_reporters_their_duty_stands(case, "report_waived")
        bump_case(case, "needs_review", parts=(step_part(step.id),))
    return case


def step_reopen(
    *, acting_user: User, case_id: int, step_id: str, reason: str, expected_version: int
) -> Case:
    """Undo a resolution (a mistake, new information). The old record stays, marked reopened.

    Only School Police reopen a police-only step. Reopening a resolved child abuse report
    opens a review: the report could otherwise be undone quietly.
    """
    with transaction.atomic():
        case, definition, step = _locked_step(acting_user, case_id, step_id, expected_version)
        if not may_reopen_step(acting_user, police_only=step.police_only):
            who = (
                gettext("School Police")
                if step.police_only
                else gettext("site administrators and coordinators")
            )
            raise PermissionDenied(
                gettext("step %(step)s is reopened by %(who)s; you are %(role)s")
                % {"step": step.id, "who": who, "role": acting_user.role}
            )
        errors: dict[str, list[str]] = {}
        reason_text = _text("reason", reason, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        record = live_record_by_step(case).get(step.id)
        if record is None:
            raise Conflict(gettext("step %(step)s is not resolved") % {"step": step.id})
        record.reopened_at = timezone.now()
        record.reopened_by = acting_user
        record.reopen_reason = reason_text
        record.save(update_fields=["reopened_at", "reopened_by", "reopen_reason"])
        event_record(
            actor=acting_user,
            action="step.reopen",
            case_id=case.pk,
            step_id=step.id,
            payload={"record": record.pk},
            sensitive={"reason": reason_text},
        )
        if _is_report_step(definition, step) and record.resolution == Resolution.DONE:
            _review_open(
                acting_user=acting_user,
                kind=ReviewKind.REPORT_REOPENED,
                reason=reason_text,
                case=case,
                subject={"step": step.id, "record": record.pk},
            )
        bump_case(case, "needs_review", parts=(step_part(step.id),))
    return case


# --- escalation and links ---------------------------------------------------------------


def case_escalate(
    *, acting_user: User, case_id: int, pathway: str, reason: str, expected_version: int
) -> Case:
    """Move the case to any other pathway of its protocol, keeping every record whose step
    exists there.

    A "does not apply" decision that the new pathway forbids (a confirmed victim's report is
    always made) is not carried: its record is reopened, so the step must be decided again.
    Moving to a lower pathway (a mistaken "confirmed", say) could leave a report unmade, so
    the district coordinator reviews it.
    """
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_ESCALATE,
            expected_version=expected_version,
        )
        errors: dict[str, list[str]] = {}
        reason_text = _text("reason", reason, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        previous = case.pathway
        lowers = _move_pathway(case, pathway, acting_user, reason_text)
        if lowers:
            _review_open(
                acting_user=acting_user,
                kind=ReviewKind.PATHWAY_LOWERED,
                reason=reason_text,
                case=case,
                subject={"from": previous, "to": pathway},
            )
        bump_case(case, "pathway", "needs_review")
    return case


def _move_pathway(case: Case, pathway: str, acting_user: User, reason: str) -> bool:
    """Move CASE (locked) to PATHWAY with its event; the caller saves the case. Say whether
    the move went to a lower pathway."""
    definition = case_definition(case)
    live = live_record_by_step(case)
    inputs = [status.record for status in case_evaluation(case).steps if status.record]
    # A decision this pathway already ignores is still a live record to re-ask.
    inputs += [
        record_input(record)
        for step_id, record in live.items()
        if step_id not in {item.step_id for item in inputs}
    ]
    try:
        plan = plan_escalation(definition, case.pathway, pathway, inputs)
    except EscalationNotAllowed as error:
        raise ValidationFailed({"pathway": [str(error)]}) from None
    now = timezone.now()
    target = definition.pathway(pathway)
    for asked in plan.reasked:
        record = live[asked.step_id]
        record.reopened_at = now
        record.reopened_by = acting_user
        record.reopen_reason = (
            f"{target.step(asked.step_id).code} is always required on "
            f"{target.title}; decide it again."
        )
        record.save(update_fields=["reopened_at", "reopened_by", "reopen_reason"])
    previous = case.pathway
    case.pathway = pathway
    event_record(
        actor=acting_user,
        action="case.escalate",
        case_id=case.pk,
        payload={
            "from": previous,
            "to": pathway,
            "lowers": plan.lowers,
            "carried": [record.step_id for record in plan.carried],
            "left_behind": [record.step_id for record in plan.left_behind],
            "reasked": [record.step_id for record in plan.reasked],
            "new_steps": list(plan.new_step_ids),
        },
        sensitive={"reason": reason},
    )
    return plan.lowers


def case_link(*, acting_user: User, case_id: int, other_case_id: int, relation: str) -> CaseLink:
    """Link two cases (both must be visible to the user); the link shows on both."""
    errors: dict[str, list[str]] = {}
    if relation not in LinkRelation.values:
        errors["relation"] = [
            gettext("One of: %(values)s.") % {"values": ", ".join(LinkRelation.values)}
        ]
    if other_case_id == case_id:
        errors["case"] = [gettext("A case cannot be linked to itself.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_LINK,
            expected_version=None,
        )
        try:
            other = case_get_for_user(acting_user, other_case_id, audit_read=False)
        except NotFound:
            # The same words as for a case that does not exist at all.
            raise ValidationFailed(
                {"case": [gettext("No case %(case)s.") % {"case": other_case_id}]}
            ) from None
        if (
            CaseLink.objects.filter(from_case=case, to_case=other).exists()
            or CaseLink.objects.filter(from_case=other, to_case=case).exists()
        ):
            raise Conflict(
                gettext("%(reference)s and %(other)s are already linked")
                % {"reference": case.reference, "other": other.reference}
            )
        link = _link_cases(acting_user, case, other, relation, timezone.now())
    return link


def _link_cases(
    acting_user: User, case: Case, other: Case, relation: str, now: datetime
) -> CaseLink:
    """Link two cases, with the event on both, in the caller's transaction."""
    link = CaseLink.objects.create(
        from_case=case, to_case=other, relation=relation, created_by=acting_user, created_at=now
    )
    for side, counterpart in ((case, other), (other, case)):
        event_record(
            actor=acting_user,
            action="case.link",
            case_id=side.pk,
            payload={"link": link.pk, "other_case": counterpart.pk, "relation": relation},
        )
    return link


# --- check-ins and notes ----------------------------------------------------------------


def checkin_plan_set(
    *, acting_user: User, case_id: int, every_days: int, assignee: str, expected_version: int
) -> Case:
    """Set (or change) how often someone checks in with the student.

    Setting the first plan completes the protocol's regular-contact step, if the pathway
    has one: that step is "set up regular contact".
    """
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CHECKIN_PLAN,
            expected_version=expected_version,
            parts=(PLAN_PART,),
        )
        errors: dict[str, list[str]] = {}
        if (
            not isinstance(every_days, int)
            or isinstance(every_days, bool)
            or not 1 <= every_days <= 90
        ):
            errors["every_days"] = [gettext("A whole number of days from 1 to 90.")]
        person = User.objects.filter(username=assignee, is_active=True).first()
        if person is None:
            errors["assignee"] = [gettext("No active user %(user)r.") % {"user": assignee}]
        elif not check_in_assignable(person, case.school_id):
            errors["assignee"] = [
                gettext("%(user)s cannot keep check-ins for this case.") % {"user": assignee}
            ]
        if errors:
            raise ValidationFailed(errors)
        assert person is not None
        now = timezone.now()
        plan = CheckInPlan.objects.filter(case=case).first()
        if plan is None:
            plan = CheckInPlan.objects.create(
                case=case,
                every_days=every_days,
                assignee=person,
                started_at=now,
                set_by=acting_user,
            )
        else:
            plan.every_days, plan.assignee, plan.set_by = every_days, person, acting_user
            plan.save(update_fields=["every_days", "assignee", "set_by"])
        definition = case_definition(case)
        pathway = definition.pathway(case.pathway)
        recurring = [step for step in pathway.steps if step.recurring]
        live = live_record_by_step(case)
        for step in recurring:
            if step.id not in live and may_resolve_step(acting_user, step.actor_roles):
                case.step_records.create(
                    step_id=step.id,
                    pathway=case.pathway,
                    resolution=Resolution.DONE,
                    occurred_at=now,
                    recorded_at=now,
                    actor=acting_user,
                    details={"every_days": every_days, "assignee": person.username},
                )
        bump_case(case, parts=(PLAN_PART, *(step_part(step.id) for step in recurring)))
        event_record(
            actor=acting_user,
            action="checkin.plan_set",
            case_id=case.pk,
            payload={"every_days": every_days, "assignee": person.username},
        )
    return case


def checkin_record(
    *,
    acting_user: User,
    case_id: int,
    occurred_at: datetime,
    method: str,
    notes: str,
    expected_version: int | None = None,
) -> CheckIn:
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CHECKIN_RECORD,
            expected_version=expected_version,
            # Only adds: it conflicts with nothing but a change to the whole case.
            parts=(),
        )
        now = timezone.now()
        errors = _not_in_future("occurred_at", occurred_at, now)
        # A check-in that says neither how it happened nor what came of it moves the
        # schedule on without anything to show for it: both are required.
        if not (method or "").strip():
            errors["method"] = [gettext("Say how the check-in happened.")]
        elif method not in CheckInMethod.values:
            errors["method"] = [
                gettext("One of: %(values)s.") % {"values": ", ".join(CheckInMethod.values)}
            ]
        text = _text("notes", notes, required=True, errors=errors)
        if "notes" in errors and not text:
            errors["notes"] = [gettext("Say what came of the check-in: a check-in needs a note.")]
        if errors:
            raise ValidationFailed(errors)
        check_in = CheckIn.objects.create(
            case=case,
            occurred_at=occurred_at,
            method=method,
            notes=text,
            recorded_by=acting_user,
            recorded_at=now,
        )
        event_record(
            actor=acting_user,
            action="checkin.record",
            case_id=case.pk,
            payload={"check_in": check_in.pk, "method": method},
        )
        # A check-in is not a change to the case (no bump_case), but it counts on the
        # dashboard.
        rollup_case_changed(case)
    return check_in


def note_add(
    *, acting_user: User, case_id: int, text: str, expected_version: int | None = None
) -> Note:
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.NOTE_ADD,
            expected_version=expected_version,
            # Only adds: it conflicts with nothing but a change to the whole case.
            parts=(),
        )
        errors: dict[str, list[str]] = {}
        body = _text("text", text, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        note = Note.objects.create(
            case=case, author=acting_user, text=body, created_at=timezone.now()
        )
        event_record(
            actor=acting_user, action="note.add", case_id=case.pk, payload={"note": note.pk}
        )
    return note


# --- closing ----------------------------------------------------------------------------


def case_close(*, acting_user: User, case_id: int, outcome: str, expected_version: int) -> Case:
    """Close the case; refused while any step is pending or waiting."""
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_CLOSE,
            expected_version=expected_version,
        )
        errors: dict[str, list[str]] = {}
        text = _text("outcome", outcome, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        open_reviews = list(
            Review.objects.filter(case=case, status=ReviewStatus.OPEN).values_list("pk", flat=True)
        )
        if open_reviews:
            raise Conflict(
                gettext(
                    "case %(reference)s has open reviews; the district coordinator decides "
                    "them before the case can close"
                )
                % {"reference": case.reference},
                open_reviews=open_reviews,
            )
        evaluation = case_evaluation(case)
        if not evaluation.closable:
            raise Conflict(
                gettext("case %(reference)s has unresolved steps: %(steps)s")
                % {"reference": case.reference, "steps": ", ".join(evaluation.unresolved)},
                unresolved=list(evaluation.unresolved),
            )
        case.status = CaseStatus.CLOSED
        case.closed_at = timezone.now()
        case.closed_by = acting_user
        case.outcome = text
        bump_case(case, "status", "closed_at", "closed_by", "outcome")
        event_record(
            actor=acting_user, action="case.close", case_id=case.pk, sensitive={"outcome": text}
        )
    return case


def case_reopen(*, acting_user: User, case_id: int, reason: str, expected_version: int) -> Case:
    with transaction.atomic():
        case = case_get_for_user(acting_user, case_id, for_write=True)
        _require(acting_user, Capability.CASE_REOPEN)
        if case.status != CaseStatus.CLOSED:
            raise Conflict(
                gettext("case %(reference)s is already open") % {"reference": case.reference}
            )
        if case.version != expected_version:
            raise StaleVersion(
                gettext("case %(reference)s changed since you read it; reload and try again")
                % {"reference": case.reference},
                current_version=case.version,
            )
        errors: dict[str, list[str]] = {}
        text = _text("reason", reason, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        case.status = CaseStatus.OPEN
        case.closed_at = None
        case.closed_by = None
        bump_case(case, "status", "closed_at", "closed_by")
        event_record(
            actor=acting_user, action="case.reopen", case_id=case.pk, sensitive={"reason": text}
        )
    return case


# --- mistakes undone, concerns added, transfers ----------------------------------------------


def case_void(*, acting_user: User, case_id: int, reason: str, expected_version: int) -> Case:
    """Void a case opened in error. Nothing is deleted: the case keeps its whole history,
    leaves every list but the "voided" one, and the district coordinator reviews the
    decision (overruling opens it again)."""
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_VOID,
            expected_version=expected_version,
        )
        errors: dict[str, list[str]] = {}
        text = _text("reason", reason, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        case.status = CaseStatus.VOIDED
        case.voided_at = timezone.now()
        case.voided_by = acting_user
        case.void_reason = text
        event_record(
            actor=acting_user, action="case.void", case_id=case.pk, sensitive={"reason": text}
        )
        _review_open(acting_user=acting_user, kind=ReviewKind.CASE_VOIDED, reason=text, case=case)
        bump_case(case, "status", "voided_at", "voided_by", "void_reason", "needs_review")
        _tell_reporters_their_duty_stands(case, "case_voided")
    return case


def concern_attach(
    *, acting_user: User, concern_id: int, case_id: int, expected_version: int
) -> Case:
    """Add a concern to the open case of a student it names (a second report of the same
    harm). The case's clock then runs from the earliest observation of its concerns."""
    with transaction.atomic():
        concern = concern_get_for_triage(acting_user, concern_id, for_write=True)
        if concern.status != ConcernStatus.SUBMITTED:
            raise Conflict(
                gettext("concern %(concern)s was already %(status)s")
                % {"concern": concern.pk, "status": concern.status}
            )
        try:
            case = locked_open_case(
                acting_user=acting_user,
                case_id=case_id,
                capability=Capability.CONCERN_TRIAGE,
                expected_version=expected_version,
            )
        except NotFound:
            raise ValidationFailed(
                {"case": [gettext("No case %(case)s.") % {"case": case_id}]}
            ) from None
        mention = next(
            (row for row in concern.mentions if _same_student(row.student, case, concern)), None
        )
        if mention is None:
            raise ValidationFailed(
                {
                    "case": [
                        gettext("Case %(reference)s is about a student this concern does not name.")
                        % {"reference": case.reference}
                    ]
                }
            )
        if mention.case is not None:
            raise Conflict(
                gettext("concern %(concern)s already went into case %(reference)s for this student")
                % {"concern": concern.pk, "reference": mention.case.reference}
            )
        now = timezone.now()
        previous_clock = case.suspicion_formed_at
        _case_from_concern(acting_user, concern, mention, case, now)
        if concern.observed_at < case.suspicion_formed_at:
            # Staff knew earlier than the case said: the legal clock runs from then.
            case.suspicion_formed_at = concern.observed_at
        event_record(
            actor=acting_user,
            action="case.concern_attach",
            case_id=case.pk,
            payload={
                "concern": concern.pk,
                "clock_from": previous_clock.isoformat(),
                "clock_to": case.suspicion_formed_at.isoformat(),
            },
        )
        bump_case(case, "suspicion_formed_at")
    return case


def _same_student(student: Student, case: Case, concern: Concern) -> bool:
    """Whether STUDENT, named in CONCERN, is CASE's student: the same record, or (after a
    transfer) the new school's record of the same SIS id, reported at that school."""
    if student.pk == case.student_id:
        return True
    return student.sis_id == case.student.sis_id and concern.school_id == case.school_id


def case_transfer(
    *,
    acting_user: User,
    case_id: int,
    school_code: str,
    completed_at: datetime,
    expected_version: int,
) -> Case:
    """Record that the student's transfer is complete, and move the case to the new school.

    Scope follows the case at once: the old school's staff no longer find it and the new
    school's site administrators are told. The placement review must have decided this
    transfer first. Check-ins kept by someone who does not work at the new school need a
    new keeper; until then the case says so and reminders go to the new school.
    """
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_TRANSFER,
            expected_version=expected_version,
        )
        now = timezone.now()
        errors = _not_in_future("completed_at", completed_at, now)
        school = School.objects.filter(code=(school_code or "").strip()).first()
        if school is None:
            errors["school"] = [gettext("Unknown school %(code)r.") % {"code": school_code}]
        elif school.pk == case.school_id:
            errors["school"] = [
                gettext("The case is already at %(school)s.") % {"school": school.code}
            ]
        if errors:
            raise ValidationFailed(errors)
        assert school is not None
        decided = case_transfer_decided(case)
        if decided is None:
            raise Conflict(
                gettext(
                    "case %(reference)s has no placement review deciding a transfer; "
                    "record that decision first"
                )
                % {"reference": case.reference}
            )
        step_id, new_school, decided_at = decided
        if new_school != school.code:
            raise ValidationFailed(
                {
                    "school": [
                        gettext("The placement review decided a transfer to %(school)s.")
                        % {"school": new_school}
                    ]
                }
            )
        if completed_at < decided_at:
            raise ValidationFailed(
                {
                    "completed_at": [
                        gettext("May not be before the placement review decided the transfer.")
                    ]
                }
            )
        transfer = CaseTransfer.objects.create(
            case=case,
            from_school=case.school,
            to_school=school,
            completed_at=completed_at,
            recorded_by=acting_user,
            recorded_at=now,
        )
        previous = case.school
        case.school = school
        event_record(
            actor=acting_user,
            action="case.transfer",
            case_id=case.pk,
            step_id=step_id,
            payload={
                "transfer": transfer.pk,
                "from_school": previous.code,
                "to_school": school.code,
                "completed_at": completed_at.isoformat(),
            },
        )
        bump_case(case, "school")
        notice_case_transferred(case=case, transfer=transfer)
    return case


# --- the reporting clock ------------------------------------------------------------------


def case_clock_move(
    *,
    acting_user: User,
    case_id: int,
    suspicion_formed_at: datetime,
    reason: str,
    expected_version: int,
) -> Case:
    """Correct when the suspicion was formed. It moves the legal clock, so it needs a reason
    and the district coordinator reviews it; it can never start later than a concern's
    observation (the clock runs from the earliest knowledge)."""
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_MOVE_CLOCK,
            expected_version=expected_version,
        )
        now = timezone.now()
        errors = _not_in_future("suspicion_formed_at", suspicion_formed_at, now)
        reason_text = _text("reason", reason, required=True, errors=errors)
        earliest = (
            Concern.objects.filter(named_students__case=case)
            .order_by("observed_at")
            .values_list("observed_at", flat=True)
        ).first()
        if not errors and earliest is not None and suspicion_formed_at > earliest:
            errors["suspicion_formed_at"] = [
                gettext("May not be later than the earliest concern's observation (%(observed)s).")
                % {"observed": _local_minute(earliest)}
            ]
        if not errors and suspicion_formed_at == case.suspicion_formed_at:
            errors["suspicion_formed_at"] = [gettext("This is already the case's time.")]
        if errors:
            raise ValidationFailed(errors)
        previous = case.suspicion_formed_at
        case.suspicion_formed_at = suspicion_formed_at
        event_record(
            actor=acting_user,
            action="case.clock_move",
            case_id=case.pk,
            payload={"from": previous.isoformat(), "to": suspicion_formed_at.isoformat()},
            sensitive={"reason": reason_text},
        )
        _review_open(
            acting_user=acting_user,
            kind=ReviewKind.CLOCK_MOVED,
            reason=reason_text,
            case=case,
            subject={"previous": previous.isoformat(), "moved_to": suspicion_formed_at.isoformat()},
        )
        bump_case(case, "suspicion_formed_at", "needs_review")
    return case


# --- reviews ------------------------------------------------------------------------------


def review_decide(*, acting_user: User, review_id: int, decision: str, comment: str) -> Review:
    """The district coordinator upholds a decision, or overrules it and restores what it
    switched off: the report is due again, the concern goes back to triage, the clock returns.
    """
    errors: dict[str, list[str]] = {}
    if decision not in ReviewDecision.values:
        errors["decision"] = [
            gettext("One of: %(values)s.") % {"values": ", ".join(ReviewDecision.values)}
        ]
    text = _text("comment", comment, required=decision == ReviewDecision.OVERRULED, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        review = review_get_for_decision(acting_user, review_id)
        if review.status != ReviewStatus.OPEN:
            raise Conflict(
                gettext("review %(review)s was already decided (%(decision)s)")
                % {"review": review.pk, "decision": review.decision}
            )
        if review.opened_by_id == acting_user.pk:
            raise PermissionDenied(
                gettext("a review is decided by someone other than who opened it")
            )
        now = timezone.now()
        case = (
            case_get_for_user(acting_user, review.case_id, for_write=True)
            if review.case_id is not None
            else None
        )
        restored = ""
        if decision == ReviewDecision.OVERRULED:
            restored = _overrule(review, case, acting_user, text, now)
        review.status = ReviewStatus.DECIDED
        review.decision = decision
        review.comment = text
        review.decided_at = now
        review.decided_by = acting_user
        review.save(update_fields=["status", "decision", "comment", "decided_at", "decided_by"])
        event_record(
            actor=acting_user,
            action="review.decide",
            case_id=review.case_id,
            payload={
                "review": review.pk,
                "kind": review.kind,
                "decision": decision,
                "restored": restored,
                "concern": review.concern_id,
            },
            sensitive={"comment": text} if text else None,
        )
        if case is not None:
            case.needs_review = Review.objects.filter(case=case, status=ReviewStatus.OPEN).exists()
            bump_case(case, "needs_review", "suspicion_formed_at", "status", "pathway")
    return review


def _overrule(
    review: Review, case: Case | None, acting_user: User, comment: str, now: datetime
) -> str:
    """Undo what the reviewed action switched off; say what was restored."""
    subject = review.subject
    if review.kind == ReviewKind.CONCERN_DISMISSED:
        concern = Concern.objects.select_for_update(of=("self",)).filter(reviews=review).first()
        if concern is None or concern.status != ConcernStatus.DISMISSED:
            return ""
        concern.status = ConcernStatus.SUBMITTED
        concern.triaged_by = None
        concern.triaged_at = None
        concern.save(update_fields=["status", "triaged_by", "triaged_at"])
        notice_concern_submitted(concern=concern)
        return "concern back in triage"
    if case is None:
        return ""
    if review.kind == ReviewKind.CASE_VOIDED:
        if case.status != CaseStatus.VOIDED:
            return ""
        case.status = CaseStatus.OPEN
        return "case open again"
    if case.status != CaseStatus.OPEN:
        raise Conflict(
            gettext("case %(reference)s is closed; reopen it before overruling")
            % {"reference": case.reference}
        )
    if review.kind == ReviewKind.PATHWAY_LOWERED:
        if case.pathway != subject["to"]:
            return ""  # moved again since; that move stands
        _move_pathway(case, str(subject["from"]), acting_user, comment)
        return f"pathway {subject['from']} restored"
    if review.kind == ReviewKind.ABUSE_NOT_SUSPECTED:
        name = str(subject["fact"])
        row = case.facts.filter(fact_id=name).first()
        _fact_write(case, name, not subject["value"], comment, acting_user, now, row)
        return f"fact {name} answered {not subject['value']}"
    if review.kind == ReviewKind.REPORT_WAIVED:
        record = StepRecord.objects.filter(
            pk=subject["record"], case=case, reopened_at__isnull=True
        ).first()
        if record is None:
            return ""
        record.reopened_at, record.reopened_by, record.reopen_reason = now, acting_user, comment
        record.save(update_fields=["reopened_at", "reopened_by", "reopen_reason"])
        return f"step {record.step_id} due again"
    if review.kind == ReviewKind.REPORT_REOPENED:
        original = StepRecord.objects.get(pk=subject["record"], case=case)
        if original.step_id in live_record_by_step(case):
            return ""  # the step was resolved again since; that record stands
        StepRecord.objects.create(
            case=case,
            step_id=original.step_id,
            pathway=case.pathway,
            resolution=original.resolution,
            occurred_at=original.occurred_at,
            recorded_at=now,
            actor=original.actor,
            details=original.details,
            reason=original.reason,
        )
        return f"step {original.step_id} restored as {original.resolution}"
    if review.kind == ReviewKind.CLOCK_MOVED:
        case.suspicion_formed_at = datetime.fromisoformat(str(subject["previous"]))
        return "reporting clock restored"
    return ""


# --- revised shipped definitions -----------------------------------------------------------


def _same_shape(older: Protocol, newer: Protocol) -> bool:
    """Whether NEWER keeps every pathway and step of OLDER, in order (it only declares more:
    step roles, disclosures, labels)."""
    return [(p.id, p.step_ids) for p in older.pathways] == [
        (p.id, p.step_ids) for p in newer.pathways
    ]


def cases_adopt_shipped_revisions() -> int:
    """Move open cases from an older revision of a shipped definition to its newest revision,
    when that revision has the same pathways and steps; say how many moved.

    A SafeStep release may revise its shipped definition without changing the district's
    protocol (the same version): for example to declare which steps disclose information
    outside the district. Cases opened before it would otherwise miss those safeguards.
    A revision that changes steps is not adopted: those cases stay on what they opened with.
    """
    from safestep.definitions.models import ProtocolVersion

    moved = 0
    newest: dict[tuple[str, str], ProtocolVersion] = {}
    for stored in ProtocolVersion.objects.order_by("protocol_id", "version", "revision"):
        newest[(stored.protocol_id, stored.version)] = stored
    for stored in ProtocolVersion.objects.exclude(pk__in=[v.pk for v in newest.values()]):
        target = newest[(stored.protocol_id, stored.version)]
        if not _same_shape(definition_of(stored), definition_of(target)):
            continue
        with transaction.atomic():
            for case in Case.objects.select_for_update().filter(
                protocol=stored, status=CaseStatus.OPEN
            ):
                case.protocol = target
                # A new revision is a change to the whole case (bump_case recomputes the due
                # times too, which the revision may word differently but never moves).
                bump_case(case, "protocol")
                event_record(
                    actor=None,
                    action="case.protocol_revision",
                    case_id=case.pk,
                    payload={
                        "protocol": stored.protocol_id,
                        "version": stored.version,
                        "from_revision": stored.revision,
                        "to_revision": target.revision,
                    },
                )
                moved += 1
    return moved

"""Every change to a concern or case: the one write path.

Each service is keyword-only, takes the acting user, runs in one transaction, locks the
case row, checks the version the caller read, and writes its event in the same
transaction. A refused write raises before anything is saved, so it changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from safestep.accounts.access import Capability, has_capability, may_resolve_step
from safestep.accounts.models import Role, School, User
from safestep.audit.disclosures import DISCLOSING_STEPS
from safestep.audit.services import disclosure_record, event_record
from safestep.cases.models import (
    Case,
    CaseFact,
    CaseLink,
    CaseStatus,
    CheckIn,
    CheckInMethod,
    CheckInPlan,
    Concern,
    ConcernStatus,
    LinkRelation,
    Note,
    ReferenceCounter,
    Resolution,
    Student,
)
from safestep.cases.selectors import (
    case_definition,
    case_evaluation,
    case_get_for_user,
    concern_get_for_triage,
    live_record_by_step,
)
from safestep.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from safestep.definitions.selectors import definition_of, protocol_current
from safestep.protocol import (
    EscalationNotAllowed,
    Protocol,
    Step,
    StepState,
    iter_condition_facts,
    plan_escalation,
    validate_details,
)

DEFAULT_PROTOCOL_ID = "sdusd-csec"
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
        raise PermissionDenied(f"your role ({user.role}) may not do this: {capability}")


def _not_in_future(field: str, moment: datetime, now: datetime) -> dict[str, list[str]]:
    if timezone.is_naive(moment):
        return {field: ["Give a time zone offset, e.g. 2026-03-02T09:30:00-08:00."]}
    if moment > now:
        return {field: ["May not be in the future."]}
    return {}


def _text(field: str, value: str, *, required: bool, errors: dict[str, list[str]]) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        errors[field] = ["This field is required."]
    elif len(cleaned) > MAX_TEXT:
        errors[field] = [f"At most {MAX_TEXT} characters."]
    return cleaned


def _locked_open_case(
    *, acting_user: User, case_id: int, capability: Capability, expected_version: int | None
) -> Case:
    """The case, locked for this transaction, after scope, role, status and version checks.

    The order matters: out of scope is 404 before anything else can leak that the case
    exists; then 403 for the role; then 409 for a closed case or a stale version.
    """
    case = case_get_for_user(acting_user, case_id, for_write=True)
    _require(acting_user, capability)
    if case.status != CaseStatus.OPEN:
        raise Conflict(f"case {case.reference} is closed; reopen it first")
    if expected_version is not None and case.version != expected_version:
        raise StaleVersion(
            f"case {case.reference} changed since you read it (version {expected_version}, "
            f"now {case.version}); reload and try again",
            current_version=case.version,
        )
    return case


def _bump(case: Case, *fields: str) -> None:
    """Count a change to the case and refresh its next deadline."""
    case.version += 1
    case.next_due_at = _next_due(case)
    case.save(update_fields=["version", "next_due_at", *fields])


def _next_due(case: Case) -> datetime | None:
    if case.status != CaseStatus.OPEN:
        return None
    evaluation = case_evaluation(case)
    due = [
        status.due_at
        for status in evaluation.steps
        if status.due_at is not None and status.state in (StepState.PENDING, StepState.WAITING)
    ]
    return min(due, default=None)


def _step_of(definition: Protocol, case: Case, step_id: str) -> Step:
    pathway = definition.pathway(case.pathway)
    if step_id not in pathway.step_ids:
        raise NotFound(f"no step {step_id!r} in pathway {case.pathway}")
    return pathway.step(step_id)


def _flag_for_review(case: Case, reason: str) -> None:
    case.needs_review = True
    case.review_reasons = [*case.review_reasons, reason]


# --- concerns ---------------------------------------------------------------------------


def _student_for(school: School, student: StudentInput) -> Student:
    errors: dict[str, list[str]] = {}
    sis_id = _text("student.sis_id", student.sis_id, required=True, errors=errors)
    first = _text("student.first_name", student.first_name, required=True, errors=errors)
    last = _text("student.last_name", student.last_name, required=True, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    existing = Student.objects.filter(sis_id=sis_id).first()
    if existing is not None:
        # An existing SIS record is the source of truth; a reporter's spelling never
        # overwrites it.
        return existing
    return Student.objects.create(
        sis_id=sis_id,
        first_name=first,
        last_name=last,
        birth_date=student.birth_date,
        grade=student.grade.strip(),
        school=school,
    )


def _school(code: str) -> School:
    school = School.objects.filter(code=code).first()
    if school is None:
        raise ValidationFailed({"school": [f"Unknown school {code!r}."]})
    return school


def _check_own_report(
    definition: Protocol, own_report: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any] | None:
    if own_report is None:
        return None
    step = next(
        (
            pathway.step("cws_report")
            for pathway in definition.pathways
            if "cws_report" in pathway.step_ids
        ),
        None,
    )
    if step is None:
        raise ValidationFailed({"own_report": ["This protocol has no CWS report step."]})
    subset = {
        key: own_report[key] for key in ("agency", "phoned_at", "reference") if key in own_report
    }
    unknown = sorted(set(own_report) - {"agency", "phoned_at", "reference"})
    cleaned, problems = validate_details(step, subset, resolution="not_applicable", now=now)
    errors = {f"own_report.{name}": messages for name, messages in problems.items()}
    for name in ("agency", "phoned_at"):
        if not subset.get(name):
            errors.setdefault(f"own_report.{name}", ["This field is required."])
    for name in unknown:
        errors[f"own_report.{name}"] = ["Unknown field."]
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def concern_submit(
    *,
    acting_user: User,
    school_code: str,
    student: StudentInput,
    observed_at: datetime,
    description: str,
    indicators: list[str],
    own_report: Mapping[str, Any] | None = None,
) -> Concern:
    """A staff member reports what they saw. Any active staff member may."""
    _require(acting_user, Capability.CONCERN_SUBMIT)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    errors |= _not_in_future("observed_at", observed_at, now)
    text = _text("description", description, required=True, errors=errors)
    definition = definition_of(protocol_current(DEFAULT_PROTOCOL_ID))
    known = {indicator.id for indicator in definition.indicators}
    unknown = [item for item in indicators if item not in known]
    if unknown:
        errors["indicators"] = [f"Unknown indicator {item!r}." for item in unknown]
    if errors:
        raise ValidationFailed(errors)
    report = _check_own_report(definition, own_report, now)
    with transaction.atomic():
        school = _school(school_code)
        concern = Concern.objects.create(
            submitted_by=acting_user,
            submitted_at=now,
            school=school,
            student=_student_for(school, student),
            observed_at=observed_at,
            description=text,
            indicators=list(dict.fromkeys(indicators)),
            own_report=report,
        )
        event_record(
            actor=acting_user,
            action="concern.submit",
            payload={
                "concern": concern.pk,
                "school": school.code,
                "own_report": report is not None,
            },
        )
    return concern


def concern_dismiss(*, acting_user: User, concern_id: int, reason: str) -> Concern:
    errors: dict[str, list[str]] = {}
    text = _text("reason", reason, required=True, errors=errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        concern = concern_get_for_triage(acting_user, concern_id, for_write=True)
        if concern.status != ConcernStatus.SUBMITTED:
            raise Conflict(f"concern {concern.pk} was already {concern.status}")
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
    protocol_id: str = DEFAULT_PROTOCOL_ID,
) -> Case:
    """Open a case for a student, from a concern (triage) or directly."""
    _require(acting_user, Capability.CASE_OPEN)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    errors |= _not_in_future("suspicion_formed_at", suspicion_formed_at, now)
    text = _text("summary", summary, required=False, errors=errors)
    stored = protocol_current(protocol_id)
    definition = definition_of(stored)
    if pathway not in {item.id for item in definition.pathways}:
        errors["pathway"] = [
            f"Unknown pathway {pathway!r}; one of: "
            + ", ".join(item.id for item in definition.pathways)
        ]
    if concern_id is None and (school_code is None or student is None):
        errors["concern"] = ["Give either a concern, or a school and a student."]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        concern: Concern | None = None
        if concern_id is not None:
            concern = concern_get_for_triage(acting_user, concern_id, for_write=True)
            if concern.status != ConcernStatus.SUBMITTED:
                raise Conflict(f"concern {concern.pk} was already {concern.status}")
            school, student_row = concern.school, concern.student
        else:
            assert school_code is not None
            assert student is not None
            school = _school(school_code)
            student_row = _student_for(school, student)
        if (
            acting_user.role != Role.DISTRICT_COORDINATOR
            and not acting_user.schools.filter(pk=school.pk).exists()
        ):
            raise ValidationFailed({"school": [f"You do not work at {school.code}."]})
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
        if concern is not None:
            concern.status = ConcernStatus.TRIAGED
            concern.triaged_by = acting_user
            concern.triaged_at = now
            concern.case = case
            concern.save(update_fields=["status", "triaged_by", "triaged_at", "case"])
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
    return case


# --- facts ------------------------------------------------------------------------------


def case_facts_set(
    *,
    acting_user: User,
    case_id: int,
    facts: Mapping[str, bool | None],
    reason: str = "",
    expected_version: int,
) -> Case:
    """Answer the protocol's yes/no questions. Some answers need a reason and a review."""
    with transaction.atomic():
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_SET_FACTS,
            expected_version=expected_version,
        )
        definition = case_definition(case)
        known = {fact.id: fact for fact in definition.facts}
        errors: dict[str, list[str]] = {}
        if not facts:
            errors["facts"] = ["Answer at least one question."]
        for name, value in facts.items():
            if name not in known:
                errors[f"facts.{name}"] = [f"Unknown fact; one of: {', '.join(known)}."]
            elif value is not None and not isinstance(value, bool):
                errors[f"facts.{name}"] = ["Must be true, false or null."]
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
        existing = {fact.fact_id: fact for fact in case.facts.all()}
        for name, value in facts.items():
            row = existing.get(name)
            if row is not None and row.value == value:
                continue
            changed[name] = value
            if row is None:
                CaseFact.objects.create(
                    case=case,
                    fact_id=name,
                    value=value,
                    reason=reason_text,
                    set_by=acting_user,
                    set_at=now,
                )
            else:
                row.value, row.reason, row.set_by, row.set_at = value, reason_text, acting_user, now
                row.save(update_fields=["value", "reason", "set_by", "set_at"])
            if value is not None and value == known[name].review_when and name in gating:
                _flag_for_review(case, f"fact {name} answered {value}: {reason_text}")
        _bump(case, "needs_review", "review_reasons")
        event_record(
            actor=acting_user,
            action="case.facts_set",
            case_id=case.pk,
            payload={"facts": changed, "reason_given": bool(reason_text)},
            sensitive={"reason": reason_text} if reason_text else None,
        )
    return case


def _facts_gating(definition: Protocol, pathway_id: str) -> set[str]:
    """Facts that a condition of this pathway reads."""
    names: set[str] = set()
    for step in definition.pathway(pathway_id).steps:
        if step.condition is not None:
            names |= set(iter_condition_facts(step.condition))
    return names


# --- steps ------------------------------------------------------------------------------


def _check_resolvable(acting_user: User, case: Case, step: Step) -> None:
    if not may_resolve_step(acting_user, step.actor_roles):
        allowed = ", ".join(step.actor_roles)
        raise PermissionDenied(
            f"step {step.id} is resolved by: {allowed}; you are {acting_user.role}"
        )
    status = case_evaluation(case).status(step.id)
    if status.state in (StepState.DONE, StepState.NOT_APPLICABLE):
        raise Conflict(f"step {step.id} is already resolved ({status.state}); reopen it first")
    if status.state == StepState.WAITING:
        raise Conflict(f"step {step.id} waits on: {', '.join(status.waiting_on)}")


def _record(
    *,
    acting_user: User,
    case: Case,
    step: Step,
    resolution: Resolution,
    occurred_at: datetime,
    details: dict[str, Any],
    reason: str,
) -> None:
    try:
        with transaction.atomic():
            case.step_records.create(
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
        raise Conflict(f"step {step.id} is already resolved") from None


def step_complete(
    *,
    acting_user: User,
    case_id: int,
    step_id: str,
    occurred_at: datetime,
    details: Mapping[str, Any],
    expected_version: int,
) -> Case:
    """Record that a step was done, with the details the protocol asks for."""
    with transaction.atomic():
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_READ,
            expected_version=expected_version,
        )
        step = _step_of(case_definition(case), case, step_id)
        _check_resolvable(acting_user, case, step)
        if step.recurring:
            raise Conflict(f"step {step.id} is done by setting a check-in plan for the case")
        now = timezone.now()
        errors = _not_in_future("occurred_at", occurred_at, now)
        cleaned, problems = validate_details(step, dict(details), resolution="done", now=now)
        errors |= {f"details.{name}": messages for name, messages in problems.items()}
        if errors:
            raise ValidationFailed(errors)
        _record(
            acting_user=acting_user,
            case=case,
            step=step,
            resolution=Resolution.DONE,
            occurred_at=occurred_at,
            details=cleaned,
            reason="",
        )
        _bump(case)
        event_record(
            actor=acting_user,
            action="step.complete",
            case_id=case.pk,
            step_id=step.id,
            payload={"occurred_at": occurred_at.isoformat()},
        )
        _record_disclosure(acting_user, case, step, cleaned, occurred_at)
    return case


def _record_disclosure(
    acting_user: User, case: Case, step: Step, details: Mapping[str, Any], occurred_at: datetime
) -> None:
    """Log the disclosure outside the school that this step made, if it made one."""
    rule = DISCLOSING_STEPS.get(step.id)
    recipient = rule.recipient(details) if rule is not None else None
    if rule is None or recipient is None:
        return
    disclosure_record(
        acting_user=acting_user,
        student_id=case.student_id,
        case_id=case.pk,
        step_id=step.id,
        recipient=recipient,
        categories=rule.categories,
        legal_basis=rule.legal_basis,
        disclosed_at=occurred_at,
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
    """Record a conscious decision that a step does not apply, with the reason why."""
    with transaction.atomic():
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_READ,
            expected_version=expected_version,
        )
        step = _step_of(case_definition(case), case, step_id)
        _check_resolvable(acting_user, case, step)
        if not step.may_not_apply:
            raise Conflict(f"step {step.id} cannot be marked as not applicable; it must be done")
        now = timezone.now()
        errors: dict[str, list[str]] = {}
        reason_text = _text("reason", reason, required=True, errors=errors)
        decided_at = occurred_at or now
        errors |= _not_in_future("occurred_at", decided_at, now)
        cleaned, problems = validate_details(
            step, dict(details or {}), resolution="not_applicable", now=now
        )
        errors |= {f"details.{name}": messages for name, messages in problems.items()}
        if errors:
            raise ValidationFailed(errors)
        _record(
            acting_user=acting_user,
            case=case,
            step=step,
            resolution=Resolution.NOT_APPLICABLE,
            occurred_at=decided_at,
            details=cleaned,
            reason=reason_text,
        )
        if step.review_when_not_applicable:
            _flag_for_review(case, f"step {step.id} marked not applicable: {reason_text}")
        _bump(case, "needs_review", "review_reasons")
        event_record(
            actor=acting_user,
            action="step.not_applicable",
            case_id=case.pk,
            step_id=step.id,
            payload={"review": step.review_when_not_applicable},
            sensitive={"reason": reason_text},
        )
    return case


def step_reopen(
    *, acting_user: User, case_id: int, step_id: str, reason: str, expected_version: int
) -> Case:
    """Undo a resolution (a mistake, new information). The old record stays, marked reopened."""
    with transaction.atomic():
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.STEP_REOPEN,
            expected_version=expected_version,
        )
        step = _step_of(case_definition(case), case, step_id)
        errors: dict[str, list[str]] = {}
        reason_text = _text("reason", reason, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        record = live_record_by_step(case).get(step.id)
        if record is None:
            raise Conflict(f"step {step.id} is not resolved")
        record.reopened_at = timezone.now()
        record.reopened_by = acting_user
        record.reopen_reason = reason_text
        record.save(update_fields=["reopened_at", "reopened_by", "reopen_reason"])
        _bump(case)
        event_record(
            actor=acting_user,
            action="step.reopen",
            case_id=case.pk,
            step_id=step.id,
            payload={"record": record.pk},
            sensitive={"reason": reason_text},
        )
    return case


# --- escalation and links ---------------------------------------------------------------


def case_escalate(
    *, acting_user: User, case_id: int, pathway: str, reason: str, expected_version: int
) -> Case:
    """Move the case to another pathway, keeping every record whose step exists there."""
    with transaction.atomic():
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_ESCALATE,
            expected_version=expected_version,
        )
        errors: dict[str, list[str]] = {}
        reason_text = _text("reason", reason, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        definition = case_definition(case)
        records = case_evaluation(case)
        try:
            plan = plan_escalation(
                definition,
                case.pathway,
                pathway,
                [status.record for status in records.steps if status.record is not None],
            )
        except EscalationNotAllowed as error:
            raise ValidationFailed({"pathway": [str(error)]}) from None
        previous = case.pathway
        case.pathway = pathway
        _bump(case, "pathway")
        event_record(
            actor=acting_user,
            action="case.escalate",
            case_id=case.pk,
            payload={
                "from": previous,
                "to": pathway,
                "carried": [record.step_id for record in plan.carried],
                "left_behind": [record.step_id for record in plan.left_behind],
                "new_steps": list(plan.new_step_ids),
            },
            sensitive={"reason": reason_text},
        )
    return case


def case_link(*, acting_user: User, case_id: int, other_case_id: int, relation: str) -> CaseLink:
    """Link two cases (both must be visible to the user); the link shows on both."""
    errors: dict[str, list[str]] = {}
    if relation not in LinkRelation.values:
        errors["relation"] = [f"One of: {', '.join(LinkRelation.values)}."]
    if other_case_id == case_id:
        errors["case"] = ["A case cannot be linked to itself."]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_LINK,
            expected_version=None,
        )
        try:
            other = case_get_for_user(acting_user, other_case_id, audit_read=False)
        except NotFound:
            # The same words as for a case that does not exist at all.
            raise ValidationFailed({"case": [f"No case {other_case_id}."]}) from None
        if (
            CaseLink.objects.filter(from_case=case, to_case=other).exists()
            or CaseLink.objects.filter(from_case=other, to_case=case).exists()
        ):
            raise Conflict(f"{case.reference} and {other.reference} are already linked")
        link = CaseLink.objects.create(
            from_case=case,
            to_case=other,
            relation=relation,
            created_by=acting_user,
            created_at=timezone.now(),
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
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CHECKIN_PLAN,
            expected_version=expected_version,
        )
        errors: dict[str, list[str]] = {}
        if (
            not isinstance(every_days, int)
            or isinstance(every_days, bool)
            or not 1 <= every_days <= 90
        ):
            errors["every_days"] = ["A whole number of days from 1 to 90."]
        person = User.objects.filter(username=assignee, is_active=True).first()
        if person is None:
            errors["assignee"] = [f"No active user {assignee!r}."]
        elif not has_capability(person, Capability.CHECKIN_RECORD) or not (
            person.role == Role.DISTRICT_COORDINATOR
            or person.schools.filter(pk=case.school_id).exists()
        ):
            errors["assignee"] = [f"{assignee} cannot keep check-ins for this case."]
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
        _bump(case)
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
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CHECKIN_RECORD,
            expected_version=expected_version,
        )
        now = timezone.now()
        errors = _not_in_future("occurred_at", occurred_at, now)
        if method not in CheckInMethod.values:
            errors["method"] = [f"One of: {', '.join(CheckInMethod.values)}."]
        text = _text("notes", notes, required=False, errors=errors)
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
    return check_in


def note_add(
    *, acting_user: User, case_id: int, text: str, expected_version: int | None = None
) -> Note:
    with transaction.atomic():
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.NOTE_ADD,
            expected_version=expected_version,
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
        case = _locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_CLOSE,
            expected_version=expected_version,
        )
        errors: dict[str, list[str]] = {}
        text = _text("outcome", outcome, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        evaluation = case_evaluation(case)
        if not evaluation.closable:
            raise Conflict(
                f"case {case.reference} has unresolved steps: {', '.join(evaluation.unresolved)}",
                unresolved=list(evaluation.unresolved),
            )
        case.status = CaseStatus.CLOSED
        case.closed_at = timezone.now()
        case.closed_by = acting_user
        case.outcome = text
        _bump(case, "status", "closed_at", "closed_by", "outcome")
        event_record(
            actor=acting_user, action="case.close", case_id=case.pk, sensitive={"outcome": text}
        )
    return case


def case_reopen(*, acting_user: User, case_id: int, reason: str, expected_version: int) -> Case:
    with transaction.atomic():
        case = case_get_for_user(acting_user, case_id, for_write=True)
        _require(acting_user, Capability.CASE_REOPEN)
        if case.status != CaseStatus.CLOSED:
            raise Conflict(f"case {case.reference} is already open")
        if case.version != expected_version:
            raise StaleVersion(
                f"case {case.reference} changed since you read it; reload and try again",
                current_version=case.version,
            )
        errors: dict[str, list[str]] = {}
        text = _text("reason", reason, required=True, errors=errors)
        if errors:
            raise ValidationFailed(errors)
        case.status = CaseStatus.OPEN
        case.closed_at = None
        case.closed_by = None
        _bump(case, "status", "closed_at", "closed_by")
        event_record(
            actor=acting_user, action="case.reopen", case_id=case.pk, sensitive={"reason": text}
        )
    return case

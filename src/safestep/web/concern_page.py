"""What the concern pages show: the reporter's own report, its due time, and who reported.

A staff member who reports a concern keeps their own legal duty to report (PC 11166): their
concern page shows when the written report is due and lets them record their own call and
written report. The form's controls are the protocol's own fields of its child abuse report
step, so the page asks exactly what the service checks.

Who reported a concern is withheld from school staff when the reporter asked for it
(PC 11166(i)(2)); :func:`reporter_label` and :func:`withheld_reporters` are the pages' one
place for that rule, which ``accounts.access.reporter_hidden_from`` decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safestep.accounts.access import reporter_hidden_from
from safestep.accounts.models import User
from safestep.cases import services
from safestep.cases.models import CaseStatus, Concern, ConcernStatus, ConcernStudent, Student
from safestep.cases.selectors import ListedCase, case_list_for_user
from safestep.core.moment_text import local_moment_text
from safestep.definitions.selectors import definition_of, protocol_active
from safestep.protocol import STEP_ROLE_CHILD_ABUSE_REPORT, FieldSpec, Protocol, Step
from safestep.web.forms import (
    ErrorItem,
    FormField,
    choice_label,
    details_from_post,
    error_summary,
    field_from_spec,
)

# How the pages name a reporter whose identity is withheld from the reader.
WITHHELD_REPORTER = gettext_lazy("a staff member")

# The own-report fields that must be given (the call); the others may follow later.
OWN_REPORT_REQUIRED = frozenset({"agency", "phoned_at"})
OWN_REPORT_PREFIX = "own"

STATUS_TEXT: dict[str, Any] = {
    ConcernStatus.SUBMITTED: gettext_lazy(
        "Waiting for triage: the site administrator has not decided on it yet."
    ),
    ConcernStatus.TRIAGED: gettext_lazy(
        "The school opened a case and is following the protocol. You will not see the case "
        "itself: what happens in it is shared on a need-to-know basis."
    ),
    ConcernStatus.DISMISSED: gettext_lazy("It was not opened as a case."),
}


def current_protocol() -> Protocol:
    """The protocol new concerns follow: the district's active one."""
    return definition_of(protocol_active())


def report_step(definition: Protocol) -> Step | None:
    """The protocol's child abuse report step (as its first pathway with it defines it)."""
    step_id = definition.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    if step_id is None:
        return None
    for pathway in definition.pathways:
        if pathway.has_step(step_id):
            return pathway.step(step_id)
    return None


def _agency_field(definition: Protocol) -> FieldSpec | None:
    """The child abuse report step's agency field, whose choices name the agencies."""
    step = report_step(definition)
    if step is None or "agency" not in step.field_names:
        return None
    return step.field("agency")


def agency_choices(definition: Protocol) -> list[tuple[str, str]]:
    """The agencies a child abuse report may go to, as the protocol lists and labels them."""
    spec = _agency_field(definition)
    if spec is None:
        return []
    return [(choice, choice_label(choice, spec)) for choice in spec.choices]


# --- who reported -----------------------------------------------------------------------


def _hidden_from(user: User, concern: Concern) -> bool:
    return reporter_hidden_from(
        user, reporter_id=concern.submitted_by_id, withheld=concern.withhold_identity
    )


def reporter_label(user: User, concern: Concern) -> str:
    """Who reported CONCERN, as USER may know it: "a staff member" when withheld."""
    if _hidden_from(user, concern):
        return str(WITHHELD_REPORTER)
    person = concern.submitted_by
    return person.get_full_name() or person.username


def withheld_reporters(user: User, concerns: Iterable[Concern]) -> set[str]:
    """Usernames of the reporters of CONCERNS that USER may not learn."""
    return {concern.submitted_by.username for concern in concerns if _hidden_from(user, concern)}


# --- the reporter's own report ----------------------------------------------------------


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class OwnReportState:
    """Where a reporter's own report stands, in words, and when the written one is due."""

    summary: str  # "Phoned CWS, written report not yet recorded"
    agency: str
    phoned_at: datetime | None
    written_at: datetime | None
    reference: str
    due_at: datetime | None
    overdue: bool  # the written report is not recorded and its due time has passed

    @property
    def phoned(self) -> bool:
        return self.phoned_at is not None

    @property
    def written(self) -> bool:
        return self.written_at is not None

    @property
    def written_late(self) -> bool:
        return (
            self.written_at is not None
            and self.due_at is not None
            and self.written_at > (self.due_at)
        )


def own_report_state(
    concern: Concern, *, now: datetime | None = None, definition: Protocol | None = None
) -> OwnReportState:
    """CONCERN's own report in words, its agency labelled as DEFINITION (by default the
    protocol concerns are reported under) labels it."""
    report: Mapping[str, Any] = concern.own_report or {}
    moment = now or timezone.now()
    agency = ""
    if report.get("agency"):
        spec = _agency_field(definition or current_protocol())
        agency = choice_label(report["agency"], spec)
    phoned_at = _moment(report.get("phoned_at"))
    written_at = _moment(report.get("written_submitted_at"))
    if written_at is not None:
        summary = _("Phoned %(agency)s; written report sent") % {"agency": agency}
    elif phoned_at is not None:
        summary = _("Phoned %(agency)s, written report not yet recorded") % {"agency": agency}
    else:
        summary = _("Not recorded")
    due = concern.report_due_at
    return OwnReportState(
        summary=summary,
        agency=agency,
        phoned_at=phoned_at,
        written_at=written_at,
        reference=str(report.get("reference") or ""),
        due_at=due,
        overdue=written_at is None and due is not None and moment > due,
    )


def own_report_fields(
    definition: Protocol,
    *,
    posted: QueryDict | None = None,
    initial: Mapping[str, object] | None = None,
    errors: Mapping[str, Sequence[str]] | None = None,
) -> list[FormField]:
    """The own-report form: the report step's fields that a reporter records."""
    step = report_step(definition)
    if step is None:
        return []
    problems = errors or {}
    return [
        field_from_spec(
            spec,
            prefix=OWN_REPORT_PREFIX,
            required=spec.name in OWN_REPORT_REQUIRED,
            posted=posted,
            initial=initial,
            errors=problems.get(f"own_report.{spec.name}", ()),
        )
        for spec in step.fields
        if spec.name in services.OWN_REPORT_FIELDS
    ]


def own_report_from_post(
    definition: Protocol, posted: QueryDict
) -> tuple[dict[str, object], dict[str, list[str]]]:
    """The own report a form carries, plus problems reading it (keyed ``own_report.<field>``)."""
    step = report_step(definition)
    if step is None:
        return {}, {"own_report": [_("This protocol has no child abuse report step.")]}
    details, problems = details_from_post(step, posted, only=services.OWN_REPORT_FIELDS)
    return details, {
        f"own_report.{key.removeprefix('details.')}": messages for key, messages in problems.items()
    }


def own_report_errors(errors: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The service's problems, each under the key of the control it belongs to."""
    shown: dict[str, list[str]] = {}
    for key, messages in errors.items():
        name = key.removeprefix("own_report.")
        target = f"own_report.{name}" if name in services.OWN_REPORT_FIELDS else key
        shown.setdefault(target, []).extend(messages)
    return shown


def own_report_summary(
    fields: Sequence[FormField], errors: Mapping[str, Sequence[str]]
) -> list[ErrorItem]:
    controls = {f"own_report.{item.name}": (item.id, item.label) for item in fields}
    return error_summary(errors, controls)


# --- triage: each student a concern names ---------------------------------------------------

# Where each problem a triage form is refused with is shown: (control id, label). The open
# and attach forms are one per student ("<concern>-<position>"), dismissing is per concern.
TRIAGE_CONTROLS: dict[str, dict[str, tuple[str, Any]]] = {
    "open": {
        "pathway": ("pathway", gettext_lazy("Pathway")),
        "suspicion_formed_at": (
            "suspicion_formed_at",
            gettext_lazy("When the suspicion was formed"),
        ),
        "summary": ("summary", gettext_lazy("Summary")),
        "student_sis_id": ("", gettext_lazy("Student")),
        "concern": ("", gettext_lazy("Concern")),
        "school": ("", gettext_lazy("School")),
    },
    "attach": {
        "case": ("case", gettext_lazy("Open case")),
        "concern": ("", gettext_lazy("Concern")),
    },
    "dismiss": {
        "reason": ("reason", gettext_lazy("Why it is dismissed")),
        "concern": ("", gettext_lazy("Concern")),
        "school": ("", gettext_lazy("School")),
    },
}
STUDENT_FORMS = ("open", "attach")


@dataclass(frozen=True)
class SentTriageForm:
    """The triage form someone just sent, refused: which one, what it held, what was wrong."""

    concern_id: int
    kind: str  # open | attach | dismiss
    posted: QueryDict
    errors: dict[str, list[str]]
    # Accepted, but not done yet: the page asks to confirm it (dismissing a concern).
    confirming: bool = False

    @property
    def student_sis_id(self) -> str:
        return str(self.posted.get("student_sis_id", "")).strip()


def _summary(kind: str, suffix: str, errors: Mapping[str, Sequence[str]]) -> list[ErrorItem]:
    controls = {
        key: (f"{target}-{suffix}" if target else "", str(label))
        for key, (target, label) in TRIAGE_CONTROLS[kind].items()
    }
    return error_summary(errors, controls)


@dataclass(frozen=True)
class TriageStudent:
    """One student a concern names, on the triage queue: their case, or the forms for one."""

    key: str  # "<concern id>-<position>", for the ids of its controls
    mention: ConcernStudent
    open_cases: list[ListedCase]  # the student's open cases the triager may add the concern to
    sent: SentTriageForm | None  # the refused form of this student, if any
    suspicion_value: str

    @property
    def student(self) -> Student:
        return self.mention.student

    @property
    def typed_name(self) -> str:
        """The name as the reporter typed it, when it differs from the school's record."""
        if not self.mention.name_differs:
            return ""
        return f"{self.mention.typed_first_name} {self.mention.typed_last_name}".strip()

    def _sent(self, kind: str) -> SentTriageForm | None:
        return self.sent if self.sent is not None and self.sent.kind == kind else None

    @property
    def open_form(self) -> QueryDict | None:
        sent = self._sent("open")
        return sent.posted if sent is not None else None

    @property
    def open_errors(self) -> dict[str, list[str]]:
        sent = self._sent("open")
        return sent.errors if sent is not None else {}

    @property
    def attach_form(self) -> QueryDict | None:
        sent = self._sent("attach")
        return sent.posted if sent is not None else None

    @property
    def attach_errors(self) -> dict[str, list[str]]:
        sent = self._sent("attach")
        return sent.errors if sent is not None else {}

    @property
    def summary(self) -> list[ErrorItem]:
        if self.sent is None:
            return []
        return _summary(self.sent.kind, self.key, self.sent.errors)


def _sent_to(concern: Concern, sent: SentTriageForm | None) -> ConcernStudent | None:
    """The student whose open or attach form SENT was: the one it names, else the first
    still without a case."""
    if sent is None or sent.concern_id != concern.pk or sent.kind not in STUDENT_FORMS:
        return None
    waiting = [row for row in concern.mentions if row.case_id is None]
    for row in concern.mentions:
        if row.student.sis_id == sent.student_sis_id:
            return row
    return waiting[0] if waiting and not sent.student_sis_id else None


def triage_students(
    concern: Concern, *, open_cases: Mapping[int, list[ListedCase]], sent: SentTriageForm | None
) -> list[TriageStudent]:
    target = _sent_to(concern, sent)
    students = []
    for row in concern.mentions:
        mine = sent if target is not None and row.pk == target.pk else None
        posted = mine.posted if mine is not None else None
        students.append(
            TriageStudent(
                key=f"{concern.pk}-{row.position}",
                mention=row,
                open_cases=list(open_cases.get(row.student_id, [])) if row.case_id is None else [],
                sent=mine,
                # Asked, never pre-filled: the clock runs from the moment the triager
                # gives (at the latest when the reporter saw it, which the page shows).
                suspicion_value=str(posted.get("suspicion_formed_at", ""))
                if posted is not None
                else "",
            )
        )
    return students


def dismiss_confirming(concern: Concern, sent: SentTriageForm | None) -> bool:
    """Whether the triage page asks to confirm dismissing CONCERN (its form was just sent)."""
    return (
        sent is not None
        and sent.concern_id == concern.pk
        and sent.kind == "dismiss"
        and sent.confirming
    )


def concern_wide_errors(
    concern: Concern, sent: SentTriageForm | None
) -> tuple[dict[str, list[str]], list[ErrorItem]]:
    """What was wrong with a form about the concern as a whole (dismissing it), or with a
    student's form that names no student of it."""
    if sent is None or sent.concern_id != concern.pk:
        return {}, []
    if sent.kind in STUDENT_FORMS and _sent_to(concern, sent) is not None:
        return {}, []
    kind = sent.kind if sent.kind == "dismiss" else "open"
    return sent.errors, _summary(kind, str(concern.pk), sent.errors)


def open_cases_by_student(user: User, concerns: Sequence[Concern]) -> dict[int, list[ListedCase]]:
    """The open cases USER may see of the students CONCERNS name without a case yet, by
    student: where triage may add a concern instead of opening a case."""
    waiting = {
        row.student_id for concern in concerns for row in concern.mentions if not row.case_id
    }
    if not waiting:
        return {}
    cases = case_list_for_user(user, status=CaseStatus.OPEN).filter(student_id__in=waiting)
    found: dict[int, list[ListedCase]] = {}
    for case in cases:
        found.setdefault(case.student_id, []).append(case)
    return found


def student_name(student: Student) -> str:
    return f"{student.first_name} {student.last_name}"


def and_list(items: Sequence[str]) -> str:
    """ITEMS as a sentence lists them: "A", "A and B", "A, B and C"."""
    words = [str(item) for item in items]
    if len(words) < 2:
        return "".join(words)
    return _("%(first)s and %(last)s") % {"first": ", ".join(words[:-1]), "last": words[-1]}


def concern_reference(concern: Concern) -> str:
    """How pages and messages name a concern: by its number, never by the student."""
    return _("Concern %(number)s") % {"number": concern.pk}


def concern_confirmation(concern: Concern) -> str:
    """What the reporter reads once their concern is sent: which concern, about whom, and
    when their own written report is due (their duty to report is personal)."""
    # As the reporter typed them: the school's record of a student is not theirs to learn.
    names = and_list(
        [f"{row.typed_first_name} {row.typed_last_name}".strip() for row in concern.mentions]
    )
    text = _("Thank you. %(concern)s about %(names)s is with the site administrator.") % {
        "concern": concern_reference(concern),
        "names": names,
    }
    due = concern.report_due_at
    if due is not None:
        hours = round((due - concern.observed_at).total_seconds() / 3600)
        text += " " + _(
            "Your own written report (SS 8572) is due by %(due)s, %(hours)s hours after you "
            "saw it. Record your call and download your pre-filled SS 8572 on the concern's "
            "page."
        ) % {"due": local_moment_text(due), "hours": hours}
    return text

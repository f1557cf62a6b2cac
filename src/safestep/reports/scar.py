"""The Suspected Child Abuse Report (California form SS 8572), pre-filled.

Two forms are made from the same section builders: the case's form (``scar_form``), for the
people who work the case, and the reporter's own form (``scar_concern_form``), which a staff
member who reported a concern prints to meet their personal duty (PC 11166(i)) whatever the
school does with the concern.

The form is laid out in the sections of the state's form: A reporting party, B report
notification, C victim (one report per victim), D involved parties, E incident information.
Every field SafeStep knows is filled in; every other field is left blank for the reporter,
because an incomplete report must still be sent (PC 11167(a)).

Only three step records are read, each found by its step role: the call to police
(``police_involvement``), the child abuse report (``child_abuse_report``) and the contact
with a parent (``parent_contact``). The police-only steps' details are law-enforcement-unit
records and are never read here. Agencies and contact methods are worded as the definition
labels their choices (a choice's ``report_label``, else its ``label``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from safestep.accounts.access import is_report_only, is_school_police, sees_withheld_reporter
from safestep.accounts.models import User
from safestep.cases.models import Case, Concern, Resolution, StepRecord, Student
from safestep.cases.selectors import (
    case_definition,
    case_evaluation,
    live_record_by_step,
    visible_details,
)
from safestep.cases.services import DEFAULT_PROTOCOL_ID
from safestep.core.errors import Conflict
from safestep.definitions.selectors import definition_of, protocol_current
from safestep.protocol import (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_PARENT_CONTACT,
    STEP_ROLE_POLICE_INVOLVEMENT,
    FieldSpec,
    Protocol,
    Step,
    StepState,
)

CONFIDENTIAL = "Confidential: not part of the pupil record"
FORM_TITLE = "Suspected Child Abuse Report (SS 8572)"
WITHHELD_NOTE = "Withheld at the reporter's request (PC 11166(i)(2))"

FONTS = Path(__file__).resolve().parent / "fonts"


@dataclass(frozen=True)
class ScarField:
    label: str
    value: str = ""  # blank: not known to SafeStep, to be filled in by hand


@dataclass(frozen=True)
class ScarSection:
    letter: str
    title: str
    fields: list[ScarField]
    # The free-text box under the fields (section E); None: the section has none.
    narrative: list[str] | None = None


@dataclass(frozen=True)
class ScarForm:
    # What the form was made from, e.g. "case CSEC-2026-0001" or "concern 12": printed in
    # every page's footer so a loose page can be put back with its report.
    subject: str
    prepared_at: str
    sections: list[ScarSection]


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _moment(value: object) -> datetime | None:
    """A datetime stored in JSON (ISO 8601 text), or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _local_text(value: object) -> str:
    """A datetime stored in step details (ISO 8601 text) in local time."""
    moment = _moment(value)
    if moment is not None:
        return _local(moment)
    # Text that is not a time is printed as given rather than lost.
    return value if isinstance(value, str) else ""


def _age(birth_date: date | None, today: date) -> str:
    if birth_date is None:
        return ""
    years = (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
    return f"{birth_date.isoformat()} (age {years})"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _field(step: Step | None, name: str) -> FieldSpec | None:
    """STEP's field NAME, if the step exists and has one."""
    if step is None or name not in step.field_names:
        return None
    return step.field(name)


def _agency(value: object, spec: FieldSpec | None) -> str:
    """An agency as the form names it: the choice's report label, else its label."""
    code = str(value)
    if spec is not None:
        worded = spec.report_label(code) or spec.choice_label(code)
        if worded:
            return worded
    return _text(value)


def _report_agency_field(definition: Protocol) -> FieldSpec | None:
    return _field(definition.step_with_role(STEP_ROLE_CHILD_ABUSE_REPORT), "agency")


def _record_details(
    user: User,
    case: Case,
    records: dict[str, StepRecord],
    step_id: str | None,
    resolutions: Collection[str] = (Resolution.DONE,),
) -> tuple[StepRecord | None, dict[str, object]]:
    """The record and readable details of a step recorded with one of RESOLUTIONS."""
    if step_id is None:
        return None, {}
    pathway = case_definition(case).pathway(case.pathway)
    record = records.get(step_id)
    if record is None or record.resolution not in resolutions or not pathway.has_step(step_id):
        return None, {}
    step = pathway.step(step_id)
    if step.police_only:
        return None, {}
    stored: object = record.details  # decrypted JSON: a dict
    details = dict(stored) if isinstance(stored, dict) else {}
    return record, visible_details(user, case, step, details) or {}


def _reporter_title(reporter: User | None) -> str:
    if reporter is None or is_report_only(reporter):
        return ""
    return str(reporter.get_role_display())


def _reporter_category(reporter: User | None) -> str:
    if reporter is None:
        return ""
    if is_school_police(reporter):
        return "School police officer (PC 11165.7)"
    return "School employee (PC 11165.7)"


@dataclass(frozen=True)
class _ReportingParty:
    name: str = ""
    title: str = ""
    category: str = ""
    note: str = ""  # why the name is blank, when the form says so


def _party(person: User | None) -> _ReportingParty:
    if person is None:
        return _ReportingParty()
    return _ReportingParty(
        name=person.get_full_name() or person.username,
        title=_reporter_title(person),
        category=_reporter_category(person),
    )


def _case_reporting_party(
    user: User, first_concern: Concern | None, report_record: StepRecord | None
) -> _ReportingParty:
    """Who section A names on a case's form, as USER may know it.

    The staff member who filed the first concern formed the suspicion, so they are named.
    If they withheld their identity from school staff (PC 11166(i)(2)) and USER is school
    staff (neither the reporter nor a role that sees withheld reporters), the person who
    recorded the report step is named instead, as they made the report on the school's
    behalf; unless that is the reporter again, in which case nobody is.
    """
    recorder = report_record.actor if report_record else None
    if first_concern is None:
        return _party(recorder)
    reporter = first_concern.submitted_by
    withheld = (
        first_concern.withhold_identity
        and reporter.pk != user.pk
        and not sees_withheld_reporter(user)
    )
    if not withheld:
        return _party(reporter)
    if recorder is not None and recorder.pk != reporter.pk:
        return _party(recorder)
    return _ReportingParty(note=WITHHELD_NOTE)


def _lateness_fields(
    *,
    late: bool,
    overdue: bool,
    sent_at: datetime | None,
    due_at: datetime | None,
    reason: str = "",
) -> list[ScarField]:
    """The report's timeliness, for the trail: a late report says so, with its reason.

    Nothing is added for a report on time or not yet due, so a timely form reads as the
    state's form does.
    """
    if due_at is None:
        return []
    if late and sent_at is not None:
        return [
            ScarField("Written report late", f"yes — sent {_local(sent_at)}, due {_local(due_at)}"),
            ScarField("Reason the report was late", reason),
        ]
    if overdue:
        return [ScarField("Written report overdue since", _local(due_at))]
    return []


# --- the form's sections, shared by the case's form and the reporter's own form ---------


def _section_a(party: _ReportingParty, school_name: str) -> ScarSection:
    fields = [ScarField("Name of mandated reporter", party.name)]
    if party.note:
        fields.append(ScarField("Note", party.note))
    fields += [
        ScarField("Title", party.title),
        ScarField("Mandated reporter category", party.category),
        ScarField("Reporter's business / agency name", school_name),
        ScarField("Business address"),
        ScarField("Telephone"),
        ScarField("Did the mandated reporter witness the incident?"),
        ScarField("Signature"),
        ScarField("Date signed"),
    ]
    return ScarSection("A", "Reporting party", fields)


def _section_b(
    report: Mapping[str, object],
    *,
    agency_field: FieldSpec | None,
    due_at: datetime | None,
    police_summary: str = "",
    timeliness: list[ScarField] | None = None,
) -> ScarSection:
    """REPORT holds the child abuse report's details: agency, phoned_at, reference,
    written_submitted_at (any may be missing); AGENCY_FIELD is the report step's agency
    field, whose choices name the agencies."""
    agency = report.get("agency")
    return ScarSection(
        "B",
        "Report notification",
        [
            ScarField("Report made to (agency)", _agency(agency, agency_field) if agency else ""),
            ScarField("Agency address"),
            ScarField("Official contacted"),
            ScarField("Official's telephone"),
            ScarField("Date and time of telephone report", _local_text(report.get("phoned_at"))),
            ScarField("Agency reference number", _text(report.get("reference"))),
            ScarField(
                "Written report (this form) sent", _local_text(report.get("written_submitted_at"))
            ),
            ScarField("Written report due (36 hours after the suspicion)", _local(due_at)),
            *(timeliness or []),
            ScarField("Law enforcement also notified", police_summary),
        ],
    )


def _section_c(student: Student, school_name: str, today: date) -> ScarSection:
    return ScarSection(
        "C",
        "Victim (one report per victim)",
        [
            ScarField("Name (last, first)", f"{student.last_name}, {student.first_name}"),
            ScarField("Birth date or approximate age", _age(student.birth_date, today)),
            ScarField("Sex"),
            ScarField("Ethnicity"),
            ScarField("Primary language"),
            ScarField("Address"),
            ScarField("Telephone"),
            ScarField("School", school_name),
            ScarField("Grade", student.grade),
            ScarField("Present location of victim"),
            ScarField("Disabilities (physical, developmental, other)"),
            ScarField("In foster care?"),
            ScarField(
                "Type of abuse",
                "Sexual abuse: commercial sexual exploitation (PC 11165.1)",
            ),
            ScarField("Victim's relationship to suspect"),
        ],
    )


def _section_d(parent_summary: str = "") -> ScarSection:
    return ScarSection(
        "D",
        "Involved parties",
        [
            ScarField("Victim's siblings (name, birth date, sex, ethnicity)"),
            ScarField("Parents / guardians (name, relationship)", parent_summary),
            ScarField("Parents' / guardians' address and telephone"),
            ScarField("Suspect (name, birth date, sex, ethnicity)"),
            ScarField("Suspect's address and telephone"),
            ScarField("Other relevant information about the suspect"),
        ],
    )


def _section_e(
    *,
    observed_at: datetime | None,
    suspicion_formed_at: datetime | None,
    narrative: list[str],
) -> ScarSection:
    return ScarSection(
        "E",
        "Incident information",
        [
            ScarField("Date and time of incident (as observed)", _local(observed_at)),
            ScarField("Suspicion first formed", _local(suspicion_formed_at)),
            ScarField("Place of incident"),
        ],
        narrative=narrative,
    )


def _concern_narrative(concern: Concern, definition: Protocol) -> list[str]:
    """What the reporter saw, with the screening indicators in the protocol's words."""
    indicator_texts = {indicator.id: indicator.text for indicator in definition.indicators}
    lines = [
        f"Observed {_local(concern.observed_at)} (reported {_local(concern.submitted_at)}): "
        f"{concern.description}"
    ]
    seen = [indicator_texts.get(item, item) for item in concern.indicators]
    if seen:
        lines.append("Indicators noted: " + " ".join(seen))
    return lines


def _today(now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


# --- the case's form --------------------------------------------------------------------


def scar_form(case: Case, *, user: User, now: datetime) -> ScarForm:
    """What goes on the form for CASE, as USER may see it."""
    definition = case_definition(case)
    pathway = definition.pathway(case.pathway)
    report_step = definition.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    if report_step is None or not pathway.has_step(report_step):
        raise Conflict(
            f"case {case.reference} follows the pathway {pathway.title!r}, which makes no "
            "report to Child Welfare Services; the SS 8572 reports a suspected victim"
        )
    concerns: list[Concern] = list(
        case.concerns.select_related("submitted_by").order_by("submitted_at", "id")
    )
    first_concern = concerns[0] if concerns else None
    records = live_record_by_step(case)
    # The phone call goes on the form as soon as it is recorded, before the written report.
    report_record, report = _record_details(
        user, case, records, report_step, (Resolution.DONE, Resolution.IN_PROGRESS)
    )
    police_step = definition.step_with_role(STEP_ROLE_POLICE_INVOLVEMENT)
    parent_step = definition.step_with_role(STEP_ROLE_PARENT_CONTACT)
    police_record, police = _record_details(
        user, case, records, police_step.id if police_step else None
    )
    _parent_record, parent = _record_details(
        user, case, records, parent_step.id if parent_step else None
    )
    own_report: dict[str, object] = dict(first_concern.own_report or {}) if first_concern else {}
    if not report and own_report:
        # The reporter's own call, recorded with the concern, until the step has a record.
        report = {
            "agency": own_report.get("agency"),
            "phoned_at": own_report.get("phoned_at"),
            "reference": own_report.get("reference"),
        }
    status = case_evaluation(case, now=now).status(report_step)
    done = status.state == StepState.DONE and report_record is not None
    timeliness = _lateness_fields(
        late=status.late and done,
        overdue=status.overdue,
        sent_at=report_record.occurred_at if done and report_record else None,
        due_at=status.due_at,
        reason=report_record.reason if report_record else "",
    )

    police_summary = ""
    if police_record is not None:
        parts = [_agency(police.get("agency"), _field(police_step, "agency"))]
        if police.get("officer"):
            parts.append(f"contact: {_text(police['officer'])}")
        if police.get("police_report_number"):
            parts.append(f"report no. {_text(police['police_report_number'])}")
        parts.append(f"on {_local(police_record.occurred_at)}")
        police_summary = ", ".join(parts)

    parent_summary = ""
    if parent.get("contacted_person"):
        parent_summary = _text(parent["contacted_person"])
        if parent.get("relationship"):
            parent_summary += f" ({_text(parent['relationship'])})"
        # "informed by phone": only a method the definition words for the form.
        method_field = _field(parent_step, "method")
        method = method_field.report_label(str(parent.get("method"))) if method_field else None
        if method:
            parent_summary += f", informed {method}"

    narrative = [line for concern in concerns for line in _concern_narrative(concern, definition)]
    if case.summary:
        narrative.append(f"Summary: {case.summary}")

    sections = [
        _section_a(_case_reporting_party(user, first_concern, report_record), case.school.name),
        _section_b(
            report,
            agency_field=_report_agency_field(definition),
            due_at=status.due_at,
            police_summary=police_summary,
            timeliness=timeliness,
        ),
        _section_c(case.student, case.school.name, _today(now)),
        _section_d(parent_summary),
        _section_e(
            observed_at=first_concern.observed_at if first_concern else None,
            suspicion_formed_at=case.suspicion_formed_at,
            narrative=narrative,
        ),
    ]
    return ScarForm(subject=f"case {case.reference}", prepared_at=_local(now), sections=sections)


# --- the reporter's own form ------------------------------------------------------------


def _concern_definition(concern: Concern) -> Protocol:
    """The protocol whose indicators the concern was screened with: its case's, once it
    has one, else the one concerns are submitted under."""
    if concern.case_id is not None and concern.case is not None:
        return case_definition(concern.case)
    return definition_of(protocol_current(DEFAULT_PROTOCOL_ID))


def scar_concern_form(concern: Concern, *, now: datetime) -> ScarForm:
    """The reporter's own form for CONCERN, from what they recorded themselves.

    Only the concern and the reporter's own report are read, never the case it may have
    become: the reporter follows their concern, not a case.
    """
    own_report: dict[str, object] = dict(concern.own_report or {})
    definition = _concern_definition(concern)
    sent_at = _moment(own_report.get("written_submitted_at"))
    due_at = concern.report_due_at
    timeliness = _lateness_fields(
        late=sent_at is not None and due_at is not None and sent_at > due_at,
        overdue=sent_at is None and due_at is not None and now > due_at,
        sent_at=sent_at,
        due_at=due_at,
    )
    sections = [
        _section_a(_party(concern.submitted_by), concern.school.name),
        _section_b(
            own_report,
            agency_field=_report_agency_field(definition),
            due_at=due_at,
            timeliness=timeliness,
        ),
        _section_c(concern.student, concern.school.name, _today(now)),
        _section_d(),
        _section_e(
            observed_at=concern.observed_at,
            suspicion_formed_at=None,
            narrative=_concern_narrative(concern, definition),
        ),
    ]
    return ScarForm(subject=f"concern {concern.pk}", prepared_at=_local(now), sections=sections)


class _ScarPDF(FPDF):
    def __init__(self, source: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="letter")
        # Not "subject": FPDF keeps the document's metadata subject under that name.
        self.source = source
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)

    def header(self) -> None:
        self.set_font("DejaVu", "B", 9)
        self.set_text_color(160, 0, 15)
        self.cell(0, 5, CONFIDENTIAL.upper(), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("DejaVu", "", 7.5)
        self.cell(
            0,
            4,
            f"{CONFIDENTIAL}. Suspected child abuse reports are confidential (PC 11167, "
            f"11167.5). SafeStep {self.source}. Page {self.page_no()} of {{nb}}",
            align="C",
        )


def render_scar_pdf(form: ScarForm) -> bytes:
    pdf = _ScarPDF(form.subject)
    pdf.set_title(FORM_TITLE)
    pdf.set_subject(CONFIDENTIAL)
    pdf.set_creator("SafeStep")
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 8, FORM_TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8.5)
    pdf.multi_cell(
        width,
        4.2,
        "To be completed by mandated child abuse reporters (Penal Code 11166). Pre-filled by "
        f"SafeStep on {form.prepared_at}. Blank fields were not recorded: fill them in if "
        "known. An incomplete report must still be sent (PC 11167(a)). Send the written "
        "report within 36 hours of first suspecting abuse.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    for section in form.sections:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 10.5)
        pdf.set_fill_color(225, 230, 238)
        pdf.cell(
            0,
            7,
            f"{section.letter}. {section.title.upper()}",
            fill=True,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_font("DejaVu", "", 9)
        pdf.set_fill_color(255, 255, 255)
        with pdf.table(
            col_widths=(0.38, 0.62),
            first_row_as_headings=False,
            line_height=6,
            text_align="LEFT",
            padding=1.2,
        ) as table:
            for item in section.fields:
                row = table.row()
                row.cell(item.label)
                row.cell(item.value or " ")
        if section.narrative is not None:
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 9)
            pdf.cell(
                0,
                6,
                "Narrative description (what the reporter observed, what the victim said)",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            pdf.set_font("DejaVu", "", 9)
            text = "\n\n".join(section.narrative) if section.narrative else " "
            pdf.multi_cell(width, 5, text, border=1, padding=2, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())

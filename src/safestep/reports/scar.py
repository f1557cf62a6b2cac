"""The Suspected Child Abuse Report (California form SS 8572), pre-filled from a case.

The form is laid out in the sections of the state's form: A reporting party, B report
notification, C victim (one report per victim), D involved parties, E incident information.
Every field SafeStep knows is filled in; every other field is left blank for the reporter,
because an incomplete report must still be sent (PC 11167(a)).

Only three step records are read: the call to police (``police_involved``), the report to
CWS (``cws_report``) and the contact with a parent (``parent_contact``). The police-only
steps' details are law-enforcement-unit records and are never read here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from safestep.accounts.models import Role, User
from safestep.cases.models import Case, Concern, Resolution, StepRecord
from safestep.cases.selectors import (
    case_definition,
    case_evaluation,
    live_record_by_step,
    visible_details,
)
from safestep.core.errors import Conflict

CWS_STEP = "cws_report"
POLICE_STEP = "police_involved"
PARENT_STEP = "parent_contact"
CONFIDENTIAL = "Confidential: not part of the pupil record"
FORM_TITLE = "Suspected Child Abuse Report (SS 8572)"

AGENCY_NAMES = {
    "cws": "Child Welfare Services (county)",
    "sdpd": "San Diego Police Department",
    "sheriff": "Sheriff's Department",
    "other_law_enforcement": "Other law enforcement agency",
    "school_police": "School Police",
    "other": "Other agency",
}
CONTACT_METHODS = {"phone": "by phone", "in_person": "in person", "letter": "by letter"}
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
    narrative: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScarForm:
    case_reference: str
    prepared_at: str
    sections: list[ScarSection]


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _local_text(value: object) -> str:
    """A datetime stored in step details (ISO 8601 text) in local time."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return _local(datetime.fromisoformat(value))
    except ValueError:
        return value


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


def _done_details(
    user: User, case: Case, records: dict[str, StepRecord], step_id: str
) -> tuple[StepRecord | None, dict[str, object]]:
    """The record and readable details of a step that was done; nothing otherwise."""
    pathway = case_definition(case).pathway(case.pathway)
    record = records.get(step_id)
    if record is None or record.resolution != Resolution.DONE or not pathway.has_step(step_id):
        return None, {}
    step = pathway.step(step_id)
    if step.police_only:
        return None, {}
    stored: object = record.details  # decrypted JSON: a dict
    details = dict(stored) if isinstance(stored, dict) else {}
    return record, visible_details(user, case, step, details) or {}


def _reporter_title(reporter: User | None) -> str:
    if reporter is None or reporter.role == Role.REPORTER:
        return ""
    return str(reporter.get_role_display())


def _reporter_category(reporter: User | None) -> str:
    if reporter is None:
        return ""
    if reporter.role == Role.SCHOOL_POLICE:
        return "School police officer (PC 11165.7)"
    return "School employee (PC 11165.7)"


def scar_form(case: Case, *, user: User, now: datetime) -> ScarForm:
    """What goes on the form for CASE, as USER may see it."""
    definition = case_definition(case)
    pathway = definition.pathway(case.pathway)
    if not pathway.has_step(CWS_STEP):
        raise Conflict(
            f"case {case.reference} follows the pathway {pathway.title!r}, which makes no "
            "report to Child Welfare Services; the SS 8572 reports a suspected victim"
        )
    concerns: list[Concern] = list(
        case.concerns.select_related("submitted_by").order_by("submitted_at", "id")
    )
    first_concern = concerns[0] if concerns else None
    records = live_record_by_step(case)
    cws_record, cws = _done_details(user, case, records, CWS_STEP)
    police_record, police = _done_details(user, case, records, POLICE_STEP)
    _parent_record, parent = _done_details(user, case, records, PARENT_STEP)
    own_report: dict[str, object] = dict(first_concern.own_report or {}) if first_concern else {}
    if not cws and own_report:
        # The reporter's own call, recorded with the concern, until the step is done.
        cws = {
            "agency": own_report.get("agency"),
            "phoned_at": own_report.get("phoned_at"),
            "reference": own_report.get("reference"),
        }
    reporter = first_concern.submitted_by if first_concern else None
    if reporter is None and cws_record is not None:
        reporter = cws_record.actor
    due_at = case_evaluation(case, now=now).status(CWS_STEP).due_at
    student = case.student
    today = now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()

    police_summary = ""
    if police_record is not None:
        parts = [AGENCY_NAMES.get(str(police.get("agency")), _text(police.get("agency")))]
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
        method = CONTACT_METHODS.get(str(parent.get("method")), "")
        if method:
            parent_summary += f", informed {method}"

    indicator_texts = {indicator.id: indicator.text for indicator in definition.indicators}
    narrative: list[str] = []
    for concern in concerns:
        narrative.append(
            f"Observed {_local(concern.observed_at)} (reported {_local(concern.submitted_at)}): "
            f"{concern.description}"
        )
        seen = [indicator_texts.get(item, item) for item in concern.indicators]
        if seen:
            narrative.append("Indicators noted: " + " ".join(seen))
    if case.summary:
        narrative.append(f"Summary: {case.summary}")

    sections = [
        ScarSection(
            "A",
            "Reporting party",
            [
                ScarField(
                    "Name of mandated reporter", reporter.get_full_name() or reporter.username
                )
                if reporter
                else ScarField("Name of mandated reporter"),
                ScarField("Title", _reporter_title(reporter)),
                ScarField("Mandated reporter category", _reporter_category(reporter)),
                ScarField("Reporter's business / agency name", case.school.name),
                ScarField("Business address"),
                ScarField("Telephone"),
                ScarField("Did the mandated reporter witness the incident?"),
                ScarField("Signature"),
                ScarField("Date signed"),
            ],
        ),
        ScarSection(
            "B",
            "Report notification",
            [
                ScarField(
                    "Report made to (agency)",
                    AGENCY_NAMES.get(str(cws.get("agency")), _text(cws.get("agency"))),
                ),
                ScarField("Agency address"),
                ScarField("Official contacted"),
                ScarField("Official's telephone"),
                ScarField("Date and time of telephone report", _local_text(cws.get("phoned_at"))),
                ScarField("Agency reference number", _text(cws.get("reference"))),
                ScarField(
                    "Written report (this form) sent", _local_text(cws.get("written_submitted_at"))
                ),
                ScarField("Written report due (36 hours after the suspicion)", _local(due_at)),
                ScarField("Law enforcement also notified", police_summary),
            ],
        ),
        ScarSection(
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
                ScarField("School", case.school.name),
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
        ),
        ScarSection(
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
        ),
        ScarSection(
            "E",
            "Incident information",
            [
                ScarField(
                    "Date and time of incident (as observed)",
                    _local(first_concern.observed_at) if first_concern else "",
                ),
                ScarField("Suspicion first formed", _local(case.suspicion_formed_at)),
                ScarField("Place of incident"),
            ],
            narrative=narrative,
        ),
    ]
    return ScarForm(case_reference=case.reference, prepared_at=_local(now), sections=sections)


class _ScarPDF(FPDF):
    def __init__(self, reference: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="letter")
        self.reference = reference
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
            f"11167.5). SafeStep case {self.reference}. Page {self.page_no()} of {{nb}}",
            align="C",
        )


def render_scar_pdf(form: ScarForm) -> bytes:
    pdf = _ScarPDF(form.case_reference)
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
        if section.letter == "E":
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

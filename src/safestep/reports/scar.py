"""The Suspected Child Abuse Report (California form SS 8572), pre-filled on the state's form.

Two forms are made the same way: the case's form (``scar_form``), for the people who work
the case, and the reporter's own form (``scar_concern_form``), which a staff member who
reported a concern prints to meet their personal duty (PC 11166(i)) whatever the school does
with the concern. Both follow the Department of Justice form field for field: its fields,
labels and order are data, in ``safestep.reports.ss8572`` (FIELD_MAP), and this module
fills them and draws them on US Letter paper.

Every field SafeStep holds is filled; every other field is left blank for the reporter,
because an incomplete report must still be sent (PC 11167(a)). Nothing is invented: a blank
is never written as "N/A". What SafeStep adds that the state's form has no field for (the
36-hour due time, a late report and its reason, the call to the police) is printed after
the section it belongs to, marked as SafeStep's own.

Step records are read only through the protocol's declarations: the child abuse report
step (``role: child_abuse_report``) names the reporting party; fields that declare a
``form_field`` fill it; the call to police (``police_involvement``) and the contact with a
parent (``parent_contact``) are noted. The police-only steps' details are law-enforcement-
unit records and are never read here, nor is any police-only field. Choices are worded as
the definition labels them (a choice's ``report_label``, else its ``label``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.util import Padding

from safestep.accounts import access
from safestep.accounts.models import User
from safestep.cases.models import (
    PARENT_ROLES,
    Case,
    CasePerson,
    Concern,
    ConcernStudent,
    Resolution,
    StepRecord,
    Student,
)
from safestep.cases.people import SEX_CHOICES
from safestep.cases.selectors import (
    case_concerns,
    case_definition,
    case_evaluation,
    case_people_for_user,
    live_record_by_step,
    visible_details,
)
from safestep.core.errors import Conflict
from safestep.definitions.selectors import definition_of, protocol_active
from safestep.protocol import (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_PARENT_CONTACT,
    STEP_ROLE_POLICE_INVOLVEMENT,
    FieldSpec,
    Pathway,
    Protocol,
    Step,
    StepState,
)
from safestep.reports.ss8572 import (
    COLUMNS,
    FIELD_MAP,
    FIELDS_BY_KEY,
    PERSON_GROUPS,
    SECTIONS,
    FormField,
    Kind,
    PersonGroup,
    group_fields,
    section_fields,
)

CONFIDENTIAL = "Confidential: not part of the pupil record"
FORM_TITLE = "Suspected Child Abuse Report (SS 8572)"
WITHHELD_NOTE = "Withheld at the reporter's request (PC 11166(i)(2))"
# How the hidden reporter of a concern is named wherever their name would be.
A_STAFF_MEMBER = "a staff member"
CHECKED, UNCHECKED = "☒", "☐"

FONTS = Path(__file__).resolve().parent / "fonts"

# The reporter's own report (Concern.own_report) holds these, and so do the child abuse
# report step's fields of a definition that declares no `form_field` for them.
OWN_REPORT_FIELDS: dict[str, str] = {
    "agency": "B.agency",
    "agency_name": "B.agency_name",
    "phoned_at": "B.contacted_at",
    "reference": "B.report_number",
    "written_submitted_at": "B.written_report_at",
}
# Records whose details count: the step done, or partly done (the phone call alone).
_READ_RESOLUTIONS = (Resolution.DONE, Resolution.IN_PROGRESS)


# --- what goes on the form ---------------------------------------------------------------


P = ParamSpec("P")
R = TypeVar("R")


def in_english(function: Callable[P, R]) -> Callable[P, R]:
    """The SS 8572 is the State of California's form and is filed in English, whatever
    language the person printing it reads SafeStep in: choice labels, role names and notes
    are worded in English while a form is filled in and drawn."""

    @functools.wraps(function)
    def in_english_only(*args: P.args, **kwargs: P.kwargs) -> R:
        # A new override each call: nested calls each restore the language they found.
        with translation.override("en"):
            return function(*args, **kwargs)

    return in_english_only


@dataclass(frozen=True)
class Filled:
    """One field's value: its text, and for boxes the values whose box is checked."""

    text: str = ""
    checked: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.text or self.checked)


BLANK = Filled()


@dataclass(frozen=True)
class Note:
    """Something SafeStep adds after a section, which the state's form has no field for."""

    label: str
    text: str


@dataclass(frozen=True)
class ScarForm:
    # What the form was made from, e.g. "case CSEC-2026-0001" or "concern 12": printed on
    # every page so a loose page can be put back with its report.
    subject: str
    prepared_at: str
    # Each field not of a person, by key (FIELD_MAP), blank when SafeStep does not hold it.
    values: Mapping[str, Filled]
    # Each person group of section D ("D.parents"): one mapping of field key to value per
    # person known, in the order they were added.
    people: Mapping[str, tuple[Mapping[str, Filled], ...]] = field(default_factory=dict)
    # SafeStep's additions, by section key ("B").
    notes: Mapping[str, tuple[Note, ...]] = field(default_factory=dict)
    # Printed with the reporting party's name when it is withheld.
    party_note: str = ""

    def text(self, key: str) -> str:
        return self.values.get(key, BLANK).text

    def checked(self, key: str) -> frozenset[str]:
        return self.values.get(key, BLANK).checked


# --- words and times ---------------------------------------------------------------------


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
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _local_text(value: object) -> str:
    """A datetime stored in details (ISO 8601 text) in local time; other text as given."""
    moment = _moment(value)
    if moment is not None:
        return _local(moment)
    return value if isinstance(value, str) else ""


def _today(now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def _with_age(birth_date: date | None, today: date) -> str:
    if birth_date is None:
        return ""
    years = (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
    return f"{birth_date.isoformat()} (age {years})"


def _plain(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value if item not in (None, ""))
    return str(value).strip()


def _yes_no(value: object) -> Filled:
    if isinstance(value, bool):
        return Filled(text="Yes" if value else "No", checked=frozenset({"yes" if value else "no"}))
    return BLANK


def _choice_words(spec: FieldSpec | None, value: str) -> str:
    """A choice as the form words it: the definition's report label, else its label."""
    if spec is not None:
        worded = spec.report_label(value) or spec.choice_label(value)
        if worded:
            return worded
    return value


def _field(step: Step | None, name: str) -> FieldSpec | None:
    """STEP's field NAME, if the step exists and has one."""
    if step is None or name not in step.field_names:
        return None
    return step.field(name)


def _detail_text(spec: FieldSpec | None, value: object, people: Mapping[int, str]) -> str:
    """A step detail as text: times local, choices in the definition's words, a person on
    the case by name."""
    if value is None or value == "" or value == []:
        return ""
    kind = spec.type if spec is not None else ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == "person" and isinstance(value, int):
        return people.get(value, "")
    if kind in ("choice", "multi_choice", "list"):
        items = value if isinstance(value, list) else [value]
        return ", ".join(_choice_words(spec, str(item)) for item in items if item != "")
    if kind == "datetime" or (spec is None and _moment(value) is not None):
        return _local_text(value)
    return _plain(value)


def _recipient_type(step: Step | None, spec: FieldSpec | None, value: str) -> str | None:
    """The kind of recipient (child_welfare, law_enforcement ...) the definition says a
    choice VALUE of this field discloses to, if it says so."""
    if step is None or spec is None or step.discloses is None:
        return None
    recipient = step.discloses.recipient
    if recipient.field_name != spec.name:
        return None
    declared = recipient.values.get(value)
    return declared.type if declared is not None else None


def _from_step(
    target: FormField,
    step: Step | None,
    spec: FieldSpec | None,
    value: object,
    people: Mapping[int, str] | None = None,
) -> Filled:
    """The value of the form field TARGET from a step's detail VALUE (field SPEC of STEP).

    A box is checked for a value equal to its option, a yes/no answer to its box, or a
    choice whose disclosure recipient type (from the definition) is the option: the agency
    notified checks "law enforcement" or "county welfare / CPS" that way.
    """
    text = _detail_text(spec, value, people or {})
    if target.kind == Kind.TEXT:
        return Filled(text=text)
    options = {option for option, _ in target.boxes}
    checked: set[str] = set()
    for item in value if isinstance(value, list) else [value]:
        code = ("yes" if item else "no") if isinstance(item, bool) else str(item)
        if code in options:
            checked.add(code)
        elif (kind := _recipient_type(step, spec, code)) in options and kind is not None:
            checked.add(kind)
    return Filled(text=text, checked=frozenset(checked))


# --- the map's sources -------------------------------------------------------------------


def _first(spec: FormField, facts: Mapping[str, Filled]) -> Filled:
    for source in spec.sources:
        found = facts.get(f"step:{spec.key}" if source == "step" else source)
        if found:
            return found
    return BLANK


def _fill(facts: Mapping[str, Filled]) -> dict[str, Filled]:
    """Every field not of a person, from FACTS (values by source name)."""
    values = {spec.key: _first(spec, facts) for spec in FIELD_MAP if spec.group is None}
    for spec in FIELD_MAP:
        if spec.fallback and not values.get(spec.key):
            text = values[spec.fallback].text
            values[spec.key] = Filled(text=text) if text else BLANK
    return values


@dataclass(frozen=True)
class _Party:
    name: str = ""
    title: str = ""
    category: str = ""


def _party(person: User | None) -> _Party:
    if person is None:
        return _Party()
    title = "" if access.is_report_only(person) else str(person.get_role_display())
    category = (
        "School police officer (PC 11165.7)"
        if access.is_school_police(person)
        else "School employee (PC 11165.7)"
    )
    return _Party(name=person.get_full_name() or person.username, title=title, category=category)


def _party_facts(party: _Party, business_name: str) -> dict[str, Filled]:
    return {
        "party.name": Filled(text=party.name),
        "party.title": Filled(text=party.title),
        "party.category": Filled(text=party.category),
        "party.business_name": Filled(text=business_name),
    }


def _student_facts(student: Student, school_name: str, today: date) -> dict[str, Filled]:
    return {
        "student.name": Filled(text=f"{student.last_name}, {student.first_name}"),
        "student.birth_date": Filled(text=_with_age(student.birth_date, today)),
        "student.school": Filled(text=school_name),
        "student.grade": Filled(text=student.grade),
    }


def _victim_details(case: Case) -> dict[str, Any]:
    """What the case holds about the student, with the school's record (the roster's sex
    and ethnicity) where the case says nothing."""
    details = dict(case.victim_details) if isinstance(case.victim_details, dict) else {}
    for key in ("sex", "ethnicity"):
        registered = getattr(case.student, key, "")
        if not details.get(key) and registered:
            details[key] = registered
    return details


def _victim_facts(details: Mapping[str, Any]) -> dict[str, Filled]:
    """The case's victim details (Case.victim_details) as the form's sources."""
    facts = {
        f"victim.{name}": Filled(text=_plain(details.get(name)))
        for name in (
            "ethnicity",
            "address",
            "phone",
            "present_location",
            "other_disability",
            "primary_language",
        )
    }
    sex = details.get("sex")
    if isinstance(sex, str) and sex:
        facts["victim.sex"] = Filled(text=SEX_CHOICES.get(sex, sex))
    disabilities = details.get("disabilities")
    if isinstance(disabilities, list):
        # Recorded (even as none): each question is answered. Not recorded: both blank.
        facts["victim.physically_disabled"] = _yes_no("physical" in disabilities)
        facts["victim.developmentally_disabled"] = _yes_no("developmental" in disabilities)
    facts["victim.in_foster_care"] = _yes_no(details.get("in_foster_care"))
    care = details.get("out_of_home_care")
    if isinstance(care, str) and care:
        options = dict(FIELDS_BY_KEY["C.out_of_home_care"].options)
        facts["victim.out_of_home_care"] = Filled(
            text=options.get(care, care), checked=frozenset({care})
        )
    return facts


def _person_name(person: CasePerson) -> str:
    details = person.details if isinstance(person.details, dict) else {}
    name = _plain(details.get("name"))
    if not name and person.student is not None:
        name = f"{person.student.last_name}, {person.student.first_name}"
    return name


def _person_facts(person: CasePerson, today: date) -> dict[str, Filled]:
    stored: object = person.details
    details: Mapping[str, Any] = stored if isinstance(stored, dict) else {}
    name = _person_name(person)
    relationship = _plain(details.get("relationship"))
    description = _plain(details.get("description"))
    if person.role in PARENT_ROLES:
        about = [relationship or str(person.get_role_display()).lower()]
        if person.may_be_involved:
            about.append("may be involved in the exploitation")
        if name:
            name = f"{name} ({'; '.join(about)})"
    birth = ""
    born = details.get("birth_date")
    if isinstance(born, str) and born:
        try:
            birth = _with_age(date.fromisoformat(born), today)
        except ValueError:
            birth = born
    elif person.student is not None and person.student.birth_date is not None:
        birth = _with_age(person.student.birth_date, today)
    elif isinstance(details.get("approximate_age"), int):
        birth = f"about {details['approximate_age']}"
    other = []
    if relationship and person.role not in ("parent", "guardian"):
        other.append(f"Relationship to the victim: {relationship}.")
    if description:
        other.append(description)
    sex = details.get("sex")
    return {
        "person.name": Filled(text=name),
        "person.birth_date": Filled(text=birth),
        "person.sex": Filled(text=SEX_CHOICES.get(sex, sex) if isinstance(sex, str) else ""),
        "person.ethnicity": Filled(text=_plain(details.get("ethnicity"))),
        "person.address": Filled(text=_plain(details.get("address"))),
        "person.phone": Filled(text=_plain(details.get("phone"))),
        "person.business_phone": Filled(text=_plain(details.get("business_phone"))),
        "person.other_information": Filled(text=" ".join(other)),
    }


def _people_rows(
    people: Sequence[CasePerson], today: date
) -> dict[str, tuple[Mapping[str, Filled], ...]]:
    rows: dict[str, tuple[Mapping[str, Filled], ...]] = {}
    for group in PERSON_GROUPS:
        specs = group_fields(group.key)
        rows[group.key] = tuple(
            {spec.key: _first(spec, _person_facts(person, today)) for spec in specs}
            for person in people
            if person.role in group.roles
        )
    return rows


def _suspect_relationships(people: Sequence[CasePerson]) -> Filled:
    found: list[str] = []
    for person in people:
        stored: object = person.details
        if person.role == "suspect" and isinstance(stored, dict):
            relationship = _plain(stored.get("relationship"))
            if relationship and relationship not in found:
                found.append(relationship)
    return Filled(text="; ".join(found))


# --- step records --------------------------------------------------------------------------


def _declared_form_fields(definition: Protocol) -> dict[str, tuple[Step, FieldSpec]]:
    """Each form field a step fills: those the definition declares (``form_field``), and
    for a definition that does not declare them, the child abuse report step's fields named
    as the reporter's own report is (agency, phoned_at, reference ...)."""
    declared = dict(definition.fields_for_form())
    report_step = definition.step_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    if report_step is not None:
        claimed = {(step.id, spec.name) for step, spec in declared.values()}
        for name, key in OWN_REPORT_FIELDS.items():
            spec = _field(report_step, name)
            if spec is not None and (report_step.id, name) not in claimed:
                declared.setdefault(key, (report_step, spec))
    return declared


class _Records:
    """The details of a case's live step records, as USER may read them for the form."""

    def __init__(self, user: User, case: Case, pathway: Pathway) -> None:
        self.user = user
        self.case = case
        self.pathway = pathway
        self.records = live_record_by_step(case)
        self._read: dict[str, dict[str, object]] = {}

    def record(self, step_id: str | None) -> StepRecord | None:
        """The live record of STEP_ID done or in progress on the case's pathway, unless the
        step is police-only."""
        if step_id is None or not self.pathway.has_step(step_id):
            return None
        record = self.records.get(step_id)
        if record is None or record.resolution not in _READ_RESOLUTIONS:
            return None
        if self.pathway.step(step_id).police_only:
            return None
        return record

    def details(self, step_id: str | None) -> dict[str, object]:
        if step_id is None:
            return {}
        if step_id not in self._read:
            record = self.record(step_id)
            readable: dict[str, object] = {}
            if record is not None:
                step = self.pathway.step(step_id)
                stored: object = record.details  # decrypted JSON: a dict
                details = dict(stored) if isinstance(stored, dict) else {}
                visible = visible_details(self.user, self.case, step, details) or {}
                # The form leaves the district: a police-only field never goes on it,
                # whoever prints it.
                hidden = {spec.name for spec in step.fields if spec.police_only}
                readable = {name: value for name, value in visible.items() if name not in hidden}
            self._read[step_id] = readable
        return self._read[step_id]


def _step_facts(
    definition: Protocol, records: _Records, people: Mapping[int, str]
) -> dict[str, Filled]:
    facts: dict[str, Filled] = {}
    for key, (step, spec) in _declared_form_fields(definition).items():
        target = FIELDS_BY_KEY.get(key)
        if target is None or "step" not in target.sources:
            continue
        details = records.details(step.id)
        if details.get(spec.name) in (None, "", []):
            continue
        step_here = records.pathway.step(step.id)
        facts[f"step:{key}"] = _from_step(target, step_here, spec, details[spec.name], people)
    return facts


def _own_report_facts(own_report: Mapping[str, object], definition: Protocol) -> dict[str, Filled]:
    """The reporter's own report as the form's B fields (their own form)."""
    report_step = definition.step_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    facts: dict[str, Filled] = {}
    for name, key in OWN_REPORT_FIELDS.items():
        value = own_report.get(name)
        if value in (None, ""):
            continue
        facts[f"step:{key}"] = _from_step(
            FIELDS_BY_KEY[key], report_step, _field(report_step, name), value
        )
    return facts


def _own_report_summary(own_report: Mapping[str, object], definition: Protocol) -> str:
    facts = _own_report_facts(own_report, definition)
    values = _fill(facts)
    parts = [values["B.agency_name"].text]
    if values["B.contacted_at"].text:
        parts.append(f"phoned {values['B.contacted_at'].text}")
    if values["B.report_number"].text:
        parts.append(f"reference {values['B.report_number'].text}")
    if values["B.written_report_at"].text:
        parts.append(f"written report sent {values['B.written_report_at'].text}")
    return ", ".join(part for part in parts if part)


def _lateness_notes(
    *,
    late: bool,
    overdue: bool,
    sent_at: datetime | None,
    due_at: datetime | None,
    reason: str = "",
) -> list[Note]:
    """The report's timeliness, for the trail: a late report says so, with its reason.
    Nothing is added for a report on time or not yet due."""
    if due_at is None:
        return []
    if late and sent_at is not None:
        return [
            Note("Written report late", f"yes — sent {_local(sent_at)}, due {_local(due_at)}"),
            Note("Reason the report was late", reason),
        ]
    if overdue:
        return [Note("Written report overdue since", _local(due_at))]
    return []


def _due_note(due_at: datetime | None) -> list[Note]:
    if due_at is None:
        return []
    return [Note("Written report due (36 hours after the suspicion)", _local(due_at))]


def _concern_lines(concern: Concern, definition: Protocol, *, reported_by: str | None) -> list[str]:
    """What the reporter saw, with the screening indicators in the protocol's words."""
    indicator_texts = {indicator.id: indicator.text for indicator in definition.indicators}
    if reported_by is None:
        opening = (
            f"Observed {_local(concern.observed_at)} (reported {_local(concern.submitted_at)})"
        )
    else:
        opening = (
            f"Concern reported to the school by {reported_by} on "
            f"{_local(concern.submitted_at)}. Observed {_local(concern.observed_at)}"
        )
    lines = [f"{opening}: {concern.description}"]
    seen = [indicator_texts.get(item, item) for item in concern.indicators]
    if seen:
        lines.append("Indicators noted: " + " ".join(seen))
    return lines


# --- the case's form --------------------------------------------------------------------


def _police_note(
    definition: Protocol, records: _Records, people_names: Mapping[int, str]
) -> list[Note]:
    """B: the call to the police, as the step with the police-involvement role recorded it."""
    police_step = definition.step_with_role(STEP_ROLE_POLICE_INVOLVEMENT)
    police_id = police_step.id if police_step else None
    police_record = records.record(police_id)
    if police_record is None or police_record.resolution != Resolution.DONE:
        return []
    police = records.details(police_id)
    parts = [_detail_text(_field(police_step, "agency"), police.get("agency"), people_names)]
    if police.get("officer"):
        parts.append(f"contact: {_plain(police['officer'])}")
    if police.get("police_report_number"):
        parts.append(f"report no. {_plain(police['police_report_number'])}")
    parts.append(f"on {_local(police_record.occurred_at)}")
    return [Note("Law enforcement also notified", ", ".join(part for part in parts if part))]


def _parent_contact_note(
    definition: Protocol, records: _Records, people_names: Mapping[int, str]
) -> list[Note]:
    """D: the contact with a parent, as the definition words how it was made."""
    parent_step = definition.step_with_role(STEP_ROLE_PARENT_CONTACT)
    if parent_step is None:
        return []
    parent = records.details(parent_step.id)
    contacted = _detail_text(
        _field(parent_step, "contacted_person"), parent.get("contacted_person"), people_names
    )
    # Chosen from the case's people rather than written in.
    for spec in parent_step.fields:
        if spec.type == "person" and not contacted:
            contacted = _detail_text(spec, parent.get(spec.name), people_names)
    if not contacted:
        return []
    if parent.get("relationship"):
        contacted += f" ({_plain(parent['relationship'])})"
    method_field = _field(parent_step, "method")
    method = method_field.report_label(str(parent.get("method"))) if method_field else None
    if method:
        contacted += f", informed {method}"
    return [Note("Parent or guardian contacted", contacted)]


def _with_incident_time(
    values: dict[str, Filled], observed: Sequence[datetime]
) -> dict[str, Filled]:
    """VALUES with the incident's time (E) filled in: as a step recorded it, else when it
    was first observed (the earliest of the concerns), which is what a reporter knows."""
    if not values.get("E.incident_at") and observed:
        values["E.incident_at"] = Filled(text=_local(min(observed)))
    return values


@in_english
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
    today = _today(now)
    concerns = list(case_concerns(case))
    people = case_people_for_user(user, case)
    people_names = {person.pk: _person_name(person) for person in people}
    records = _Records(user, case, pathway)
    report_record = records.record(report_step)

    # A: whoever recorded the report (the phone call or the written form); before anyone
    # has, the person printing the form, who is about to make it.
    party_user = report_record.actor if report_record is not None else user
    party_note = ""
    hidden_reporters = {
        concern.submitted_by_id
        for concern in concerns
        if access.reporter_hidden_from(
            user, reporter_id=concern.submitted_by_id, withheld=concern.withhold_identity
        )
    }
    if party_user.pk in hidden_reporters:
        party, party_note = _Party(), WITHHELD_NOTE
    else:
        party = _party(party_user)

    narrative: list[str] = []
    for concern in concerns:
        hidden = concern.submitted_by_id in hidden_reporters
        narrative += _concern_lines(
            concern,
            definition,
            reported_by=A_STAFF_MEMBER if hidden else _party(concern.submitted_by).name,
        )
    if case.summary:
        narrative.append(f"Summary: {case.summary}")

    facts: dict[str, Filled] = {
        "form.reference": Filled(text=case.reference),
        "form.today": Filled(text=today.isoformat()),
        **_party_facts(party, case.school.name),
        **_student_facts(case.student, case.school.name, today),
        **_victim_facts(_victim_details(case)),
        "suspects.relationship": _suspect_relationships(people),
        "narrative": Filled(text="\n\n".join(narrative)),
        **_step_facts(definition, records, people_names),
    }

    # B: SafeStep's own notes: the clock, lateness, the reporter's own call, the police.
    status = case_evaluation(case, now=now).status(report_step)
    done = status.state == StepState.DONE and report_record is not None
    b_notes = _due_note(status.due_at) + _lateness_notes(
        late=status.late and done,
        overdue=status.overdue,
        sent_at=report_record.occurred_at if done and report_record else None,
        due_at=status.due_at,
        reason=report_record.reason if report_record else "",
    )
    if report_record is None:
        for concern in concerns:
            own: object = concern.own_report
            summary = _own_report_summary(own, definition) if isinstance(own, dict) else ""
            if summary:
                b_notes.append(Note("The reporter's own report (PC 11166(i))", summary))
    b_notes += _police_note(definition, records, people_names)
    d_notes = _parent_contact_note(definition, records, people_names)

    e_notes = [Note("Suspicion first formed", _local(case.suspicion_formed_at))]

    return ScarForm(
        subject=f"case {case.reference}",
        prepared_at=_local(now),
        values=_with_incident_time(_fill(facts), [concern.observed_at for concern in concerns]),
        people=_people_rows(people, today),
        notes={"B": tuple(b_notes), "D": tuple(d_notes), "E": tuple(e_notes)},
        party_note=party_note,
    )


# --- the reporter's own form ------------------------------------------------------------


def _concern_definition(mention: ConcernStudent) -> Protocol:
    """The protocol whose indicators the concern was screened with: its case's, once the
    student's part has one, else the one concerns are submitted under."""
    if mention.case_id is not None and mention.case is not None:
        return case_definition(mention.case)
    return definition_of(protocol_active())


@in_english
def scar_concern_form(
    concern: Concern, *, now: datetime, student: Student | None = None
) -> ScarForm:
    """The reporter's own form for CONCERN, about one STUDENT it names (by default the
    first), from what they recorded themselves: one report per victim.

    Only the concern and the reporter's own report are read, never a case the concern may
    have become: the reporter follows their concern, not a case.
    """
    mentions = concern.mentions
    if not mentions:
        raise ValueError(f"concern {concern.pk} names no student")
    if student is None:
        mention = mentions[0]
    else:
        found = [row for row in mentions if row.student_id == student.pk]
        if not found:
            raise ValueError(f"concern {concern.pk} does not name student {student.pk}")
        mention = found[0]
    definition = _concern_definition(mention)
    today = _today(now)
    stored: object = concern.own_report
    own_report: dict[str, object] = dict(stored) if isinstance(stored, dict) else {}
    facts: dict[str, Filled] = {
        "form.today": Filled(text=today.isoformat()),
        **_party_facts(_party(concern.submitted_by), concern.school.name),
        **_student_facts(mention.student, concern.school.name, today),
        "narrative": Filled(
            text="\n\n".join(_concern_lines(concern, definition, reported_by=None))
        ),
        **_own_report_facts(own_report, definition),
    }
    sent_at = _moment(own_report.get("written_submitted_at"))
    due_at = concern.report_due_at
    b_notes = _due_note(due_at) + _lateness_notes(
        late=sent_at is not None and due_at is not None and sent_at > due_at,
        overdue=sent_at is None and due_at is not None and now > due_at,
        sent_at=sent_at,
        due_at=due_at,
    )
    subject = f"concern {concern.pk}"
    if len(mentions) > 1:
        subject += f", student {mentions.index(mention) + 1} of {len(mentions)}"
    return ScarForm(
        subject=subject,
        prepared_at=_local(now),
        values=_with_incident_time(_fill(facts), [concern.observed_at]),
        notes={"B": tuple(b_notes)},
    )


@in_english
def scar_concern_forms(concern: Concern, *, now: datetime) -> list[ScarForm]:
    """The reporter's own forms for CONCERN: one per student it names, in the order named."""
    return [
        scar_concern_form(concern, now=now, student=mention.student) for mention in concern.mentions
    ]


# --- drawing it --------------------------------------------------------------------------

MARGIN = 12.0  # mm, left and right
BOTTOM = 21.0  # mm kept free at the foot of each page for the footer
PAD = 1.0
LABEL_SIZE, LABEL_LINE = 6.3, 2.7
VALUE_SIZE, VALUE_LINE = 9.0, 4.1
NOTE_SIZE, NOTE_LINE = 7.5, 3.4
HANDWRITING = 5.0  # the least room under a label, to write in by hand
BLANK_NARRATIVE = 45.0  # mm of ruled-off room for a narrative SafeStep does not hold


@dataclass(frozen=True)
class _Cell:
    width: float
    label: str = ""
    value: str = ""
    note: str = ""


class _ScarPDF(FPDF):
    def __init__(self, totals: Sequence[int] | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="letter")
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=BOTTOM)
        self.set_margins(MARGIN, 10, MARGIN)
        # Each form's page count, known on the second pass (the first counts them).
        self.totals = totals
        self.form_index = -1
        self.form_subject = ""
        self.form_first_page = 1
        self.starting: tuple[str, int] | None = None
        # What runs on from one page to the next ("narrative"), for the running headings.
        self.continuing = ""

    # Page numbers count within each form: a file may hold one report per victim.
    def form_page(self) -> int:
        return self.page_no() - self.form_first_page + 1

    def form_total(self) -> str:
        if self.totals is None:
            return "?"
        return str(self.totals[self.form_index])

    def start_form(self, subject: str) -> None:
        # The footer of the previous form's last page is drawn inside add_page(), before the
        # header of the new one: switch forms in the header.
        self.starting = (subject, self.page_no() + 1)
        self.add_page()

    def header(self) -> None:
        if self.starting is not None:
            self.form_subject, self.form_first_page = self.starting
            self.form_index += 1
            self.starting = None
        self.set_font("DejaVu", "B", 8.5)
        self.set_text_color(160, 0, 15)
        self.cell(0, 4.5, CONFIDENTIAL.upper(), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        if self.form_page() > 1:
            self.set_font("DejaVu", "B", 8.5)
            self.cell(
                0,
                5,
                f"{FORM_TITLE}, {self.form_subject}, continued: page {self.form_page()} of "
                f"{self.form_total()}",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            if self.continuing == "narrative":
                self.set_font("DejaVu", "B", 8)
                self.cell(
                    0,
                    5,
                    "E. Incident information: narrative description (continued)",
                    new_x=XPos.LMARGIN,
                    new_y=YPos.NEXT,
                )
        self.ln(1.5)

    def footer(self) -> None:
        if self.continuing == "narrative":
            self.set_y(-19)
            self.set_font("DejaVu", "B", 7.5)
            self.cell(0, 4, f"The narrative continues on page {self.form_page() + 1}.", align="R")
        self.set_y(-13)
        self.set_font("DejaVu", "", 7)
        self.multi_cell(
            0,
            3.2,
            f"{CONFIDENTIAL}. Suspected child abuse reports are confidential (PC 11167, "
            f"11167.5). SS 8572 pre-filled by SafeStep, {self.form_subject}. Page "
            f"{self.form_page()} of {self.form_total()}",
            align="C",
        )


def _line_count(pdf: FPDF, width: float, text: str, size: float, style: str = "") -> int:
    if not text:
        return 0
    pdf.set_font("DejaVu", style, size)
    lines = pdf.multi_cell(width, 1, text, dry_run=True, output="LINES")
    return len(lines) if isinstance(lines, list) else 1


def _draw_row(pdf: _ScarPDF, cells: Sequence[_Cell], *, room: float = HANDWRITING) -> None:
    """One line of boxed fields: each with its label small on top, the value under it."""

    def height(cell: _Cell) -> float:
        inner = cell.width - 2 * PAD
        label = _line_count(pdf, inner, cell.label, LABEL_SIZE, "B") * LABEL_LINE
        value = _line_count(pdf, inner, cell.value, VALUE_SIZE) * VALUE_LINE
        note = _line_count(pdf, inner, cell.note, NOTE_SIZE) * NOTE_LINE
        return 2 * PAD + label + max(value + note, room)

    tallest = max(height(cell) for cell in cells)
    if pdf.will_page_break(tallest):
        pdf.add_page()
    top, x = pdf.get_y(), pdf.l_margin
    for cell in cells:
        inner = cell.width - 2 * PAD
        pdf.rect(x, top, cell.width, tallest)
        pdf.set_xy(x + PAD, top + PAD)
        for text, size, line, style in (
            (cell.label, LABEL_SIZE, LABEL_LINE, "B"),
            (cell.value, VALUE_SIZE, VALUE_LINE, ""),
            (cell.note, NOTE_SIZE, NOTE_LINE, ""),
        ):
            if text:
                pdf.set_font("DejaVu", style, size)
                pdf.multi_cell(inner, line, text, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
        x += cell.width
    pdf.set_xy(pdf.l_margin, top + tallest)


def _boxes(spec: FormField, value: Filled) -> str:
    return "   ".join(
        f"{CHECKED if option in value.checked else UNCHECKED} {label}"
        for option, label in spec.boxes
    )


def _shown(spec: FormField, value: Filled) -> str:
    return value.text if spec.kind == Kind.TEXT else _boxes(spec, value)


def _lines_of(specs: Iterable[FormField]) -> list[list[FormField]]:
    """Fields flowed into lines of the form's width, in order."""
    lines: list[list[FormField]] = []
    used = COLUMNS
    for spec in specs:
        if used + spec.span > COLUMNS:
            lines.append([])
            used = 0
        lines[-1].append(spec)
        used += spec.span
    return lines


def _widths(pdf: FPDF, line: Sequence[FormField]) -> list[float]:
    """Each field's width; the last of a line takes what is left."""
    unit = pdf.epw / COLUMNS
    widths = [spec.span * unit for spec in line]
    widths[-1] = pdf.epw - sum(widths[:-1])
    return widths


def _draw_fields(
    pdf: _ScarPDF,
    specs: Iterable[FormField],
    values: Mapping[str, Filled],
    notes: Mapping[str, str],
) -> None:
    for line in _lines_of(specs):
        _draw_row(
            pdf,
            [
                _Cell(
                    width,
                    spec.label,
                    _shown(spec, values.get(spec.key, BLANK)),
                    notes.get(spec.key, ""),
                )
                for spec, width in zip(line, _widths(pdf, line), strict=True)
            ],
        )


def _draw_bar(pdf: _ScarPDF, text: str, *, size: float, shade: int, keep: float = 12) -> None:
    """A heading, on the same page as at least KEEP mm of what follows it."""
    pdf.set_font("DejaVu", "B", size)
    pdf.set_fill_color(shade, shade + 5, min(shade + 13, 255))
    height = size * 0.62
    if pdf.will_page_break(height + keep):
        pdf.add_page()
    pdf.cell(0, height, text, fill=True, border=1, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _draw_group(pdf: _ScarPDF, group: PersonGroup, rows: Sequence[Mapping[str, Filled]]) -> None:
    specs = group_fields(group.key)
    count = max(len(rows), group.rows)
    table = sum(spec.span for spec in specs) <= COLUMNS
    # The group's heading stays with its labels and its first lines.
    _draw_bar(pdf, group.title, size=8, shade=238, keep=6 + 7.5 * min(count, 3) if table else 26)
    if table:
        # A table: the labels once, then a line per person (the siblings).
        widths = _widths(pdf, specs)
        _draw_row(
            pdf, [_Cell(w, spec.label) for spec, w in zip(specs, widths, strict=True)], room=0
        )
        for index in range(count):
            row = rows[index] if index < len(rows) else {}
            _draw_row(
                pdf,
                [
                    _Cell(w, value=_shown(spec, row.get(spec.key, BLANK)))
                    for spec, w in zip(specs, widths, strict=True)
                ],
            )
        return
    for index in range(count):
        row = rows[index] if index < len(rows) else {}
        pdf.set_font("DejaVu", "B", 7)
        if pdf.will_page_break(22):
            pdf.add_page()
        pdf.cell(0, 4, f"{group.item} {index + 1}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _draw_fields(pdf, specs, row, {})


def _draw_notes(pdf: _ScarPDF, notes: Sequence[Note]) -> None:
    if not notes:
        return
    pdf.set_fill_color(244, 244, 244)
    pdf.set_font("DejaVu", "B", NOTE_SIZE)
    if pdf.will_page_break(4 * NOTE_LINE):
        pdf.add_page()
    pdf.multi_cell(
        0,
        NOTE_LINE,
        "Added by SafeStep (not a field of the state's form)",
        fill=True,
        border="LTR",
        padding=Padding(PAD, PAD, 0, PAD),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("DejaVu", "", NOTE_SIZE)
    for index, note in enumerate(notes):
        last = index == len(notes) - 1
        pdf.multi_cell(
            0,
            NOTE_LINE,
            f"{note.label}: {note.text}",
            fill=True,
            align="L",
            border="LRB" if last else "LR",
            padding=Padding(0, PAD, PAD if last else 0, PAD),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def _draw_narrative(pdf: _ScarPDF, spec: FormField, value: Filled) -> None:
    """The narrative box: as long as the narrative, running on to extra pages that each
    carry the form's subject, "continued" and the page number."""
    pdf.set_font("DejaVu", "B", LABEL_SIZE)
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.multi_cell(
        0,
        LABEL_LINE,
        spec.label,
        border="LTR",
        align="L",
        padding=Padding(PAD, PAD, 0.5, PAD),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("DejaVu", "", VALUE_SIZE)
    if not value.text:
        pdf.cell(0, BLANK_NARRATIVE, "", border="LRB", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    pdf.continuing = "narrative"
    pdf.multi_cell(
        0,
        VALUE_LINE,
        value.text,
        border="LRB",
        align="L",
        padding=Padding(0.5, PAD, PAD, PAD),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.continuing = ""


def _draw_title(pdf: _ScarPDF, form: ScarForm) -> None:
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(pdf.epw * 0.75, 7, "SUSPECTED CHILD ABUSE REPORT")
    pdf.set_font("DejaVu", "B", 9)
    pdf.cell(0, 7, "SS 8572", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(
        0,
        4,
        "To be completed by mandated child abuse reporters pursuant to Penal Code section 11166",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(1)
    _draw_fields(pdf, section_fields("header"), form.values, {})
    pdf.set_font("DejaVu", "", 7.2)
    pdf.multi_cell(
        0,
        3.3,
        f"Pre-filled by SafeStep on {form.prepared_at} with what it holds. Blank fields were "
        "not recorded: fill them in if known. An incomplete report must still be sent (PC "
        "11167(a)). Send the written report within 36 hours of first suspecting abuse.",
        align="L",
        padding=Padding(1, 0, 0, 0),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )


def _draw_form(pdf: _ScarPDF, form: ScarForm) -> None:
    pdf.start_form(form.subject)
    _draw_title(pdf, form)
    for section in SECTIONS:
        if section.key == "header":
            continue
        pdf.ln(1.5)
        groups = [group for group in PERSON_GROUPS if group.key.split(".")[0] == section.key]
        # A section's heading stays with its first fields (or its first group of people).
        _draw_bar(
            pdf,
            f"{section.key}. {section.title.upper()}",
            size=9.5,
            shade=222,
            keep=36 if groups else 14,
        )
        specs = [spec for spec in section_fields(section.key) if spec.key != "E.narrative"]
        notes = {"A.name": form.party_note} if section.key == "A" and form.party_note else {}
        _draw_fields(pdf, specs, form.values, notes)
        for group in groups:
            _draw_group(pdf, group, form.people.get(group.key, ()))
        if section.key == "E":
            _draw_narrative(
                pdf, FIELDS_BY_KEY["E.narrative"], form.values.get("E.narrative", BLANK)
            )
        _draw_notes(pdf, form.notes.get(section.key, ()))


def _render(forms: Sequence[ScarForm], totals: Sequence[int] | None) -> tuple[bytes, list[int]]:
    pdf = _ScarPDF(totals)
    pdf.set_title(FORM_TITLE)
    pdf.set_subject(CONFIDENTIAL)
    pdf.set_creator("SafeStep")
    pages: list[int] = []
    for form in forms:
        before = pdf.page_no()
        _draw_form(pdf, form)
        pages.append(pdf.page_no() - before)
    return bytes(pdf.output()), pages


@in_english
def render_scar_pdf(form: ScarForm | Sequence[ScarForm]) -> bytes:
    """The PDF of one form, or of several (one report per victim) one after the other,
    each numbering its own pages."""
    forms = [form] if isinstance(form, ScarForm) else list(form)
    if not forms:
        raise ValueError("no form to render")
    # The first pass counts each form's pages, so every page can say "page 2 of 3".
    _, totals = _render(forms, None)
    content, _ = _render(forms, totals)
    return content

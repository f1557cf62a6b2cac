"""The fields of California's Suspected Child Abuse Report (SS 8572), as data.

The Department of Justice form required by PC 11168: a header, then sections A to E in the
form's order, each field with the form's label. A later revision of the form is a change to
FIELD_MAP (and to the list the tests check it against,
``reports/tests/ss8572_form_fields.txt``), not to the code that fills and draws it.

Each field says where SafeStep takes its value from (``sources``, tried in order; see
SOURCES). A field with no source is one SafeStep never holds, such as the signature: it is
left blank for the reporter to fill in by hand. The source ``step`` means a field of a step
of the case's protocol that declares this field as its ``form_field`` (for example the child
abuse report step's ``official_phone`` declares ``B.official_phone``), read from the case's
live record of that step.

The people of section D repeat: a field whose key has three parts (``D.parents.name``)
belongs to the group its first two parts name (PERSON_GROUPS), and is printed once per
person on the case in that group.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from safestep.cases.people import OUT_OF_HOME_CARE

# The form's width is divided into this many columns; a field spans some of them.
COLUMNS = 24


class Kind(StrEnum):
    TEXT = "text"  # written in
    CHECKBOX = "checkbox"  # one or more of the field's options, each with a box
    YES_NO = "yes_no"  # a "yes" box and a "no" box


YES_NO_OPTIONS: tuple[tuple[str, str], ...] = (("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True)
class FormField:
    key: str  # "<section>.<name>", or "<section>.<group>.<name>" for a person's field
    label: str  # as the state's form words it
    kind: Kind = Kind.TEXT
    # Where the value comes from, first found first (see SOURCES); () for never.
    sources: tuple[str, ...] = ()
    # For a checkbox: (value, label) of each box, in the form's order.
    options: tuple[tuple[str, str], ...] = ()
    # When this field is blank, the text of that field fills it (the agency's name, when
    # no other name was recorded, is how the definition words the agency notified).
    fallback: str | None = None
    span: int = COLUMNS  # width on the form, in COLUMNS
    # SafeStep's own field, not one of the state's form (printed at the end of its section).
    extra: bool = False

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def group(self) -> str | None:
        """The person group (``D.parents``) of a person's field, else None."""
        parts = self.key.split(".")
        return ".".join(parts[:2]) if len(parts) == 3 else None

    @property
    def boxes(self) -> tuple[tuple[str, str], ...]:
        """The boxes printed for the field: its options, yes and no, or none for text."""
        if self.kind == Kind.YES_NO:
            return YES_NO_OPTIONS
        return self.options


@dataclass(frozen=True)
class Section:
    key: str
    title: str  # printed as "A. REPORTING PARTY"; the header has none


@dataclass(frozen=True)
class PersonGroup:
    key: str  # "D.siblings"
    title: str  # the form's heading for the group
    item: str  # one of them, numbered on the form: "Parent / guardian 2"
    roles: tuple[str, ...]  # the roles of the case's people (CasePerson.role) it lists
    rows: int  # the form's lines for the group, printed blank when fewer people are known


SECTIONS: tuple[Section, ...] = (
    Section("header", ""),
    Section("A", "Reporting party"),
    Section("B", "Report notification"),
    Section("C", "Victim (one report per victim)"),
    Section("D", "Involved parties"),
    Section("E", "Incident information"),
)

PERSON_GROUPS: tuple[PersonGroup, ...] = (
    PersonGroup("D.siblings", "Victim's siblings", "Sibling", ("sibling",), 3),
    PersonGroup(
        "D.parents", "Victim's parents / guardians", "Parent / guardian", ("parent", "guardian"), 2
    ),
    PersonGroup("D.suspects", "Suspect", "Suspect", ("suspect",), 1),
)

# Every source a field may name, and what it is (printed in docs/reports.md).
SOURCES: dict[str, str] = {
    "form.reference": "the case reference (blank on the reporter's own form)",
    "form.today": "the day the form is generated",
    "party.name": "the reporting party (below): full name",
    "party.title": "the reporting party's role in SafeStep (none for a reporter-only account)",
    "party.category": "the reporting party's PC 11165.7 category: school employee, or "
    "school police officer",
    "party.business_name": "the case's school (the concern's, on the reporter's own form)",
    "step": "the step field that declares this form field (`form_field`), from the case's "
    "live record of that step; on the reporter's own form, their own report "
    "(`own_report`) for B.agency, B.contacted_at, B.report_number, B.written_report_at",
    "student.name": "the student record: last name, first name",
    "student.birth_date": "the student record: birth date, with the age today",
    "student.school": "the case's school (the concern's, on the reporter's own form)",
    "student.grade": "the student record: grade",
    "victim.sex": "the case's victim details: sex",
    "victim.ethnicity": "the case's victim details: ethnicity",
    "victim.address": "the case's victim details: address",
    "victim.phone": "the case's victim details: telephone",
    "victim.present_location": "the case's victim details: present location",
    "victim.physically_disabled": "the case's victim details: `physical` among disabilities",
    "victim.developmentally_disabled": "the case's victim details: `developmental` among "
    "disabilities",
    "victim.other_disability": "the case's victim details: other disability",
    "victim.primary_language": "the case's victim details: primary language",
    "victim.in_foster_care": "the case's victim details: in foster care",
    "victim.out_of_home_care": "the case's victim details: type of out-of-home care",
    "suspects.relationship": "the relationship to the victim of each suspect on the case",
    "person.name": "the person's name (a student's, from the student record); for a "
    "parent or guardian, with their relationship and whether they may be involved",
    "person.birth_date": "the person's birth date with the age today, else their approximate age",
    "person.sex": "the person's sex",
    "person.ethnicity": "the person's ethnicity",
    "person.address": "the person's address",
    "person.phone": "the person's telephone",
    "person.business_phone": "the person's business telephone",
    "person.other_information": "the suspect's relationship to the victim and description",
    "narrative": "each concern: who reported it and when, what was observed and when, the "
    "screening indicators in the protocol's words; then the case summary",
}

_AGENCY_TYPES = (
    # The disclosure recipient types of a definition (`discloses.recipient.values`) that
    # check the form's boxes; the form's "county probation" has no type of its own.
    ("law_enforcement", "Law enforcement"),
    ("county_probation", "County probation"),
    ("child_welfare", "County welfare / CPS"),
)
_ABUSE_TYPES = (
    ("physical", "Physical"),
    ("mental", "Mental"),
    ("sexual", "Sexual"),
    ("neglect", "Neglect"),
    ("other", "Other (specify)"),
)
_YES_NO_UNKNOWN = (("yes", "Yes"), ("no", "No"), ("unknown", "Unknown"))

T, CB, YN = Kind.TEXT, Kind.CHECKBOX, Kind.YES_NO
STEP = ("step",)

FIELD_MAP: tuple[FormField, ...] = (
    # --- header --------------------------------------------------------------------------
    FormField("header.case_name", "Report no. / case name", T, ("form.reference",), span=16),
    FormField("header.report_date", "Date of report", T, ("form.today",), span=8),
    # --- A. reporting party ---------------------------------------------------------------
    FormField("A.name", "Name of mandated reporter", T, ("party.name",), span=10),
    FormField("A.title", "Title / position", T, ("party.title",), span=7),
    FormField("A.category", "Mandated reporter category", T, ("party.category",), span=7),
    FormField(
        "A.business_name",
        "Reporter's business / agency name",
        T,
        ("party.business_name",),
        span=10,
    ),
    FormField("A.business_address", "Address (street, city, zip)", span=14),
    FormField("A.witnessed", "Did mandated reporter witness the incident?", YN, STEP, span=8),
    FormField("A.phone", "Reporter's telephone (daytime)", span=6),
    FormField("A.signature", "Signature", span=6),
    FormField("A.date", "Today's date", T, ("form.today",), span=4),
    # --- B. report notification -----------------------------------------------------------
    FormField("B.agency", "Agency notified", CB, STEP, options=_AGENCY_TYPES),
    FormField("B.agency_name", "Agency name", T, STEP, fallback="B.agency", span=10),
    FormField("B.address", "Address (street, city, zip)", T, STEP, span=14),
    FormField("B.official_name", "Official contacted", T, STEP, span=8),
    FormField("B.official_title", "Title", T, STEP, span=5),
    FormField("B.official_phone", "Telephone", T, STEP, span=5),
    FormField("B.contacted_at", "Date / time of phone call", T, STEP, span=6),
    FormField("B.report_number", "Agency report number", T, STEP, span=12, extra=True),
    FormField(
        "B.written_report_at",
        "Written report (this form) sent",
        T,
        STEP,
        span=12,
        extra=True,
    ),
    # --- C. victim --------------------------------------------------------------------------
    FormField("C.name", "Name (last, first, middle)", T, ("student.name",), span=10),
    FormField("C.birth_date", "Birthdate or approx. age", T, ("student.birth_date",), span=6),
    FormField("C.sex", "Sex", T, ("victim.sex",), span=3),
    FormField("C.ethnicity", "Ethnicity", T, ("victim.ethnicity",), span=5),
    FormField("C.address", "Address (street, city, zip)", T, ("victim.address",), span=12),
    FormField("C.phone", "Telephone", T, ("victim.phone",), span=5),
    FormField(
        "C.present_location",
        "Present location of victim",
        T,
        ("victim.present_location",),
        span=7,
    ),
    FormField("C.school", "School", T, ("student.school",), span=12),
    FormField("C.class", "Class", span=6),
    FormField("C.grade", "Grade", T, ("student.grade",), span=6),
    FormField(
        "C.physically_disabled",
        "Physically disabled?",
        YN,
        ("victim.physically_disabled",),
        span=6,
    ),
    FormField(
        "C.developmentally_disabled",
        "Developmentally disabled?",
        YN,
        ("victim.developmentally_disabled",),
        span=6,
    ),
    FormField(
        "C.other_disability",
        "Other disability (specify)",
        T,
        ("victim.other_disability",),
        span=6,
    ),
    FormField(
        "C.primary_language",
        "Primary language spoken in home",
        T,
        ("victim.primary_language",),
        span=6,
    ),
    FormField("C.in_foster_care", "In foster care?", YN, ("victim.in_foster_care",), span=6),
    FormField(
        "C.out_of_home_care",
        "If victim was in out-of-home care at time of incident, type of care",
        CB,
        ("victim.out_of_home_care",),
        options=tuple(OUT_OF_HOME_CARE.items()),
        span=18,
    ),
    FormField("C.abuse_type", "Type of abuse", CB, STEP, options=_ABUSE_TYPES, span=16),
    FormField("C.abuse_type_other", "Other type of abuse (specify)", T, STEP, span=8),
    FormField(
        "C.relationship_to_suspect",
        "Relationship to suspect",
        T,
        ("step", "suspects.relationship"),
        span=10,
    ),
    FormField("C.photos_taken", "Photos taken?", YN, STEP, span=6),
    FormField(
        "C.resulted_in_death",
        "Did the incident result in this victim's death?",
        CB,
        STEP,
        options=_YES_NO_UNKNOWN,
        span=8,
    ),
    # --- D. involved parties ----------------------------------------------------------------
    FormField("D.siblings.name", "Name (last, first, middle)", T, ("person.name",), span=10),
    FormField("D.siblings.birth_date", "Birthdate", T, ("person.birth_date",), span=6),
    FormField("D.siblings.sex", "Sex", T, ("person.sex",), span=3),
    FormField("D.siblings.ethnicity", "Ethnicity", T, ("person.ethnicity",), span=5),
    FormField("D.parents.name", "Name (last, first, middle)", T, ("person.name",), span=10),
    FormField(
        "D.parents.birth_date", "Birthdate or approx. age", T, ("person.birth_date",), span=6
    ),
    FormField("D.parents.sex", "Sex", T, ("person.sex",), span=3),
    FormField("D.parents.ethnicity", "Ethnicity", T, ("person.ethnicity",), span=5),
    FormField("D.parents.address", "Address (street, city, zip)", T, ("person.address",), span=12),
    FormField("D.parents.home_phone", "Home phone", T, ("person.phone",), span=6),
    FormField("D.parents.business_phone", "Business phone", T, ("person.business_phone",), span=6),
    FormField("D.suspects.name", "Name (last, first, middle)", T, ("person.name",), span=10),
    FormField(
        "D.suspects.birth_date", "Birthdate or approx. age", T, ("person.birth_date",), span=6
    ),
    FormField("D.suspects.sex", "Sex", T, ("person.sex",), span=3),
    FormField("D.suspects.ethnicity", "Ethnicity", T, ("person.ethnicity",), span=5),
    FormField("D.suspects.address", "Address (street, city, zip)", T, ("person.address",), span=14),
    FormField("D.suspects.phone", "Telephone", T, ("person.phone",), span=10),
    FormField(
        "D.suspects.other_information",
        "Other relevant information",
        T,
        ("person.other_information",),
    ),
    # --- E. incident information ------------------------------------------------------------
    FormField("E.incident_at", "Date / time of incident", T, STEP, span=8),
    FormField("E.incident_place", "Place of incident", T, STEP, span=16),
    FormField(
        "E.narrative",
        "Narrative description (what victim(s) said / what the mandated reporter observed / "
        "what person accompanying the victim(s) said / similar or past incidents involving "
        "the victim(s) or suspect)",
        T,
        ("narrative",),
    ),
)

FIELDS_BY_KEY: dict[str, FormField] = {spec.key: spec for spec in FIELD_MAP}
# Every field of the form, for checking a protocol definition's `form_field` names.
FORM_FIELD_KEYS: tuple[str, ...] = tuple(FIELDS_BY_KEY)
# The fields a step of the protocol may fill (`form_field`): the others come from elsewhere.
STEP_FIELD_KEYS: frozenset[str] = frozenset(
    spec.key for spec in FIELD_MAP if "step" in spec.sources
)


def section_fields(section: str) -> tuple[FormField, ...]:
    """The fields of SECTION that are not a person's, in the form's order."""
    return tuple(spec for spec in FIELD_MAP if spec.section == section and spec.group is None)


def group_fields(group: str) -> tuple[FormField, ...]:
    """The fields printed for each person of GROUP (``D.parents``), in the form's order."""
    return tuple(spec for spec in FIELD_MAP if spec.group == group)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def field_map_markdown() -> str:
    """The field map as the Markdown table docs/reports.md shows (a test keeps them equal)."""
    lines = [
        "| key | label | kind | filled from |",
        "|---|---|---|---|",
    ]
    for spec in FIELD_MAP:
        kind = str(spec.kind)
        if spec.boxes and spec.kind == Kind.CHECKBOX:
            kind += ": " + ", ".join(label for _, label in spec.boxes)
        sources = [f"`{source}`" for source in spec.sources]
        if spec.fallback:
            sources.append(f"else the text of `{spec.fallback}`")
        if spec.extra:
            sources.append("(SafeStep's own field)")
        origin = ", then ".join(sources[: len(spec.sources)])
        rest = " ".join(sources[len(spec.sources) :])
        origin = " ".join(part for part in (origin, rest) if part) or "blank: by hand"
        lines.append(f"| `{spec.key}` | {_cell(spec.label)} | {_cell(kind)} | {_cell(origin)} |")
    return "\n".join(lines) + "\n"


def sources_markdown() -> str:
    """What each source of the field map means, as docs/reports.md lists it."""
    lines = ["| source | what it is |", "|---|---|"]
    for source, meaning in SOURCES.items():
        lines.append(f"| `{source}` | {_cell(meaning)} |")
    return "\n".join(lines) + "\n"

"""The case page's people and the student's details for the SS 8572: forms and their input.

The services (``cases.people``) decide what is acceptable; this module only turns their
fields into form controls and a sent form back into the mappings they take. A blank field
of a change form is sent as "", which the services read as "clear it"; an add form leaves
blank fields out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safestep.cases.models import PersonRole
from safestep.cases.people import DISABILITIES, OUT_OF_HOME_CARE, SEX_CHOICES
from safestep.web.forms import ErrorItem, FormField, Option, controls_of, error_summary

PERSON_LABELS: dict[str, Any] = {
    "role": gettext_lazy("Role in the case"),
    "name": gettext_lazy("Name"),
    "description": gettext_lazy("Description"),
    "birth_date": gettext_lazy("Birth date"),
    "approximate_age": gettext_lazy("Approximate age (years)"),
    "sex": gettext_lazy("Sex"),
    "ethnicity": gettext_lazy("Ethnicity"),
    "address": gettext_lazy("Address"),
    "phone": gettext_lazy("Phone"),
    "business_phone": gettext_lazy("Business phone"),
    "relationship": gettext_lazy("Relationship to the student"),
    "sis_id": gettext_lazy("SIS id, if a student of the district"),
    "may_contact": gettext_lazy("May staff contact this person about the case?"),
    "may_be_involved": gettext_lazy("This parent or guardian may be involved in the exploitation"),
}
PERSON_HELP: dict[str, Any] = {
    "description": gettext_lazy(
        "What the student or staff said about them. A suspect may have only a description."
    ),
    "may_contact": gettext_lazy(
        "Left unanswered: yes, except for a suspect or a parent who may be involved."
    ),
}
# The person's text fields as plain inputs (the others are drawn differently).
PERSON_INPUTS = ("name", "ethnicity", "phone", "business_phone", "relationship", "sis_id")
PERSON_TEXTAREAS = ("description", "address")

VICTIM_LABELS: dict[str, Any] = {
    "sex": gettext_lazy("Sex"),
    "ethnicity": gettext_lazy("Ethnicity"),
    "primary_language": gettext_lazy("Primary language"),
    "address": gettext_lazy("Home address"),
    "phone": gettext_lazy("Home phone"),
    "disabilities": gettext_lazy("Disabilities"),
    "other_disability": gettext_lazy("Other disability"),
    "in_foster_care": gettext_lazy("In foster care?"),
    "out_of_home_care": gettext_lazy("Type of out-of-home care at the time of the incident"),
    "present_location": gettext_lazy("Where the student is now"),
}
VICTIM_INPUTS = ("ethnicity", "primary_language", "phone", "other_disability")
VICTIM_TEXTAREAS = ("address", "present_location")

_YES_NO = {"yes": True, "no": False}


def role_label(role: str) -> str:
    return str(dict(PersonRole.choices).get(role, role))


def person_choice_label(person: Mapping[str, Any]) -> str:
    """A person on the case as a step's "person" field offers them: name, role, and why
    they may not be the one to contact."""
    title = str(person.get("name") or person.get("description") or "")
    label = f"{title[:60]} · {role_label(str(person.get('role', '')))}"
    if person.get("may_be_involved"):
        label += " · " + _("may be involved")
    elif not person.get("may_contact"):
        label += " · " + _("not to be contacted")
    return label


# --- drawing the forms --------------------------------------------------------------------


@dataclass
class _Draw:
    """What one form shows: its prefix for ids, what was sent, what is stored, the errors."""

    prefix: str
    posted: QueryDict | None
    initial: Mapping[str, Any]
    errors: Mapping[str, Sequence[str]]
    labels: Mapping[str, Any]
    help: Mapping[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> str:
        if self.posted is not None:
            return str(self.posted.get(name, ""))
        stored = self.initial.get(name)
        if stored is None or isinstance(stored, bool):
            return ""
        return str(stored)

    def control(self, name: str, widget: str = "input", **extra: Any) -> FormField:
        return FormField(
            id=f"{self.prefix}-{name}",
            name=name,
            label=str(self.labels[name]),
            widget=widget,
            help=str(self.help.get(name, "")),
            value=self.value(name),
            errors=[str(message) for message in self.errors.get(name, ())],
            **extra,
        )

    def select(self, name: str, choices: Mapping[str, str], *, required: bool = False) -> FormField:
        chosen = self.value(name)
        options = [Option(value, str(label), value == chosen) for value, label in choices.items()]
        return self.control(name, "select", options=options, required=required)

    def yes_no(self, name: str) -> FormField:
        if self.posted is not None:
            chosen = str(self.posted.get(name, ""))
        else:
            stored = self.initial.get(name)
            chosen = "" if stored is None else ("yes" if stored else "no")
        options = [Option("yes", _("Yes"), chosen == "yes"), Option("no", _("No"), chosen == "no")]
        return self.control(name, "radios", options=options)

    def checkbox(self, name: str) -> FormField:
        if self.posted is not None:
            checked = bool(self.posted.get(name))
        else:
            checked = bool(self.initial.get(name))
        return self.control(name, "checkbox", options=[Option("yes", "", checked)])


def person_fields(
    *,
    prefix: str,
    posted: QueryDict | None = None,
    initial: Mapping[str, Any] | None = None,
    errors: Mapping[str, Sequence[str]] | None = None,
) -> list[FormField]:
    """The controls of a person's form; INITIAL is the person as ``person_output`` reads."""
    draw = _Draw(prefix, posted, initial or {}, errors or {}, PERSON_LABELS, PERSON_HELP)
    roles = {value: str(label) for value, label in PersonRole.choices}
    controls = [draw.select("role", roles, required=True), draw.control("name")]
    controls.append(draw.control("description", "textarea"))
    controls.append(draw.control("birth_date", input_type="date"))
    controls.append(draw.control("approximate_age", input_type="number", minimum=0, maximum=120))
    controls.append(draw.select("sex", SEX_CHOICES))
    controls += [draw.control(name) for name in ("ethnicity", "relationship")]
    controls.append(draw.control("address", "textarea"))
    controls += [draw.control(name) for name in ("phone", "business_phone", "sis_id")]
    controls += [draw.yes_no("may_contact"), draw.checkbox("may_be_involved")]
    return controls


def victim_fields(
    *,
    posted: QueryDict | None = None,
    initial: Mapping[str, Any] | None = None,
    errors: Mapping[str, Sequence[str]] | None = None,
) -> list[FormField]:
    """The controls of the student's details form; INITIAL is ``case.victim_details``."""
    stored = dict(initial or {})
    draw = _Draw("victim", posted, stored, errors or {}, VICTIM_LABELS)
    controls = [draw.select("sex", SEX_CHOICES)]
    controls += [draw.control(name) for name in ("ethnicity", "primary_language")]
    controls.append(draw.control("address", "textarea"))
    controls.append(draw.control("phone"))
    chosen = (
        posted.getlist("disabilities") if posted is not None else stored.get("disabilities") or []
    )
    disabilities = [
        Option(value, str(label), value in chosen) for value, label in DISABILITIES.items()
    ]
    controls.append(draw.control("disabilities", "checkboxes", options=disabilities))
    controls.append(draw.control("other_disability"))
    controls.append(draw.yes_no("in_foster_care"))
    controls.append(draw.select("out_of_home_care", OUT_OF_HOME_CARE))
    controls.append(draw.control("present_location", "textarea"))
    return controls


def form_summary(
    fields: Sequence[FormField], errors: Mapping[str, Sequence[str]]
) -> list[ErrorItem]:
    return error_summary(errors, controls_of(fields))


# --- reading them back --------------------------------------------------------------------


def _age(raw: str, problems: dict[str, list[str]]) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if text.isascii() and text.isdecimal() and len(text) <= 3:
        return int(text)
    problems["approximate_age"] = [_("A whole number of years.")]
    return None


def person_from_post(
    posted: QueryDict, *, change: bool
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The values a person's form carries, plus problems reading the HTML input.

    A change form sends every field (blank clears it); an add form only those filled in.
    """
    problems: dict[str, list[str]] = {}
    values: dict[str, Any] = {"role": str(posted.get("role", "")).strip()}
    for name in (*PERSON_INPUTS, *PERSON_TEXTAREAS, "birth_date", "sex"):
        text = str(posted.get(name, "")).strip()
        if text or change:
            values[name] = text
    age = _age(str(posted.get("approximate_age", "")), problems)
    if age is not None or change:
        values["approximate_age"] = age
    values["may_contact"] = _YES_NO.get(str(posted.get("may_contact", "")))
    values["may_be_involved"] = bool(posted.get("may_be_involved"))
    return values, problems


def victim_from_post(posted: QueryDict) -> dict[str, Any]:
    """The student's details the form carries; a blank field clears what was stored."""
    changes: dict[str, Any] = {
        name: str(posted.get(name, "")).strip()
        for name in (*VICTIM_INPUTS, *VICTIM_TEXTAREAS, "sex", "out_of_home_care")
    }
    changes["disabilities"] = [str(item) for item in posted.getlist("disabilities")]
    changes["in_foster_care"] = _YES_NO.get(str(posted.get("in_foster_care", "")))
    return changes


# --- what the page lists ------------------------------------------------------------------


@dataclass(frozen=True)
class PersonView:
    """One person on the case as the People section lists them, with their change form."""

    id: int
    role: str
    role_label: str
    title: str  # their name, else their description
    facts: list[tuple[str, str]]
    may_contact: bool
    may_be_involved: bool
    fields: list[FormField]
    summary: list[ErrorItem]
    open_form: bool


@dataclass(frozen=True)
class PeopleSection:
    people: list[PersonView]
    may_edit: bool
    add_fields: list[FormField]
    add_summary: list[ErrorItem]
    add_open: bool


def _person_facts(person: Mapping[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for name in (
        "description",
        "relationship",
        "birth_date",
        "approximate_age",
        "sex",
        "ethnicity",
        "address",
        "phone",
        "business_phone",
        "sis_id",
    ):
        value = person.get(name)
        if value in (None, ""):
            continue
        if name == "sex":
            value = SEX_CHOICES.get(str(value), value)
        shown.append((str(PERSON_LABELS[name]), str(value)))
    return shown


def person_view(
    person: Mapping[str, Any], *, posted: QueryDict | None, errors: Mapping[str, Sequence[str]]
) -> PersonView:
    fields = person_fields(
        prefix=f"person-{person['id']}", posted=posted, initial=person, errors=errors
    )
    name = str(person.get("name") or "")
    description = str(person.get("description") or "")
    facts = _person_facts(person)
    if not name:
        facts = [item for item in facts if item[0] != str(PERSON_LABELS["description"])]
    return PersonView(
        id=int(person["id"]),
        role=str(person["role"]),
        role_label=role_label(str(person["role"])),
        title=name or description,
        facts=facts,
        may_contact=bool(person.get("may_contact")),
        may_be_involved=bool(person.get("may_be_involved")),
        fields=fields,
        summary=form_summary(fields, errors),
        open_form=posted is not None,
    )


def victim_facts(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The student's recorded details, in words."""
    shown = []
    for name, label in VICTIM_LABELS.items():
        value = details.get(name)
        if value in (None, "", []):
            continue
        if name == "sex":
            text = SEX_CHOICES.get(str(value), str(value))
        elif name == "out_of_home_care":
            text = OUT_OF_HOME_CARE.get(str(value), str(value))
        elif name == "disabilities" and isinstance(value, list):
            text = ", ".join(DISABILITIES.get(str(item), str(item)) for item in value)
        elif isinstance(value, bool):
            text = _("Yes") if value else _("No")
        else:
            text = str(value)
        shown.append((str(label), text))
    return shown

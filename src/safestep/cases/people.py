"""The people on a case and the student's details for the report form.

The SS 8572 asks about the victim (sex, ethnicity, language, address, disabilities, care)
and about the people involved (siblings, parents or guardians, the suspect). SafeStep keeps
them here, encrypted at rest like narratives, and each change with its event in the same
transaction. Those who may work the case read and change them; the placement office sees
none of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from safestep.accounts.access import Capability
from safestep.accounts.models import User
from safestep.audit.services import event_record
from safestep.cases.models import PARENT_ROLES, Case, CasePerson, PersonRole, Student
from safestep.cases.services import VICTIM_PART, bump_case, locked_open_case, person_part
from safestep.core.errors import NotFound, ValidationFailed
from safestep.core.moments import BIRTH_DATE_FUTURE_MESSAGE

MAX_SHORT_TEXT = 200
MAX_LONG_TEXT = 2_000
MAX_AGE = 120
EARLIEST_PERSON_BIRTH_DATE = date(1900, 1, 1)

# The sexes the state's form records, as SafeStep stores them. The words are English, as
# the SS 8572 prints them; they are marked for translation (gettext_noop) so that pages can
# show them in the reader's language with gettext(label), while the form keeps the English.
SEX_CHOICES: dict[str, str] = {
    "female": gettext_noop("Female"),
    "male": gettext_noop("Male"),
    "nonbinary": gettext_noop("Nonbinary"),
    "unknown": gettext_noop("Unknown"),
}
# The SS 8572's "if victim was in out-of-home care at time of incident, check type of care".
OUT_OF_HOME_CARE: dict[str, str] = {
    "family_day_care": gettext_noop("Family day care"),
    "child_care_center": gettext_noop("Child care center"),
    "foster_family_home": gettext_noop("Foster family home"),
    "small_family_home": gettext_noop("Small family home"),
    "group_home_or_institution": gettext_noop("Group home or institution"),
    "relative_home": gettext_noop("Relative's home"),
}
# The SS 8572 asks "physically disabled?" and "developmentally disabled?", then "other".
DISABILITIES: dict[str, str] = {
    "physical": gettext_noop("Physically disabled"),
    "developmental": gettext_noop("Developmentally disabled"),
}

# What a person on a case may hold, besides role, SIS id and the two contact flags.
PERSON_TEXT_FIELDS: dict[str, int] = {
    "name": MAX_SHORT_TEXT,
    "description": MAX_LONG_TEXT,
    "ethnicity": MAX_SHORT_TEXT,
    "address": MAX_LONG_TEXT,
    "phone": MAX_SHORT_TEXT,
    "business_phone": MAX_SHORT_TEXT,
    "relationship": MAX_SHORT_TEXT,
}
# Everything a person's details may hold, in the order the API lists them.
PERSON_DETAIL_KEYS: tuple[str, ...] = (
    "name",
    "description",
    "birth_date",
    "approximate_age",
    "sex",
    "ethnicity",
    "address",
    "phone",
    "business_phone",
    "relationship",
)
PERSON_FIELDS: tuple[str, ...] = (
    "role",
    *PERSON_TEXT_FIELDS,
    "birth_date",
    "approximate_age",
    "sex",
    "sis_id",
    "may_contact",
    "may_be_involved",
)

VICTIM_TEXT_FIELDS: dict[str, int] = {
    "ethnicity": MAX_SHORT_TEXT,
    "primary_language": MAX_SHORT_TEXT,
    "address": MAX_LONG_TEXT,
    "phone": MAX_SHORT_TEXT,
    "other_disability": MAX_SHORT_TEXT,
    "present_location": MAX_LONG_TEXT,
}
VICTIM_DETAIL_FIELDS: tuple[str, ...] = (
    "sex",
    *VICTIM_TEXT_FIELDS,
    "disabilities",
    "in_foster_care",
    "out_of_home_care",
)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean_text(field: str, value: object, limit: int, errors: dict[str, list[str]]) -> str:
    if not isinstance(value, str):
        errors[field] = [gettext("Must be text.")]
        return ""
    cleaned = value.strip()
    if len(cleaned) > limit:
        errors[field] = [gettext("At most %(limit)s characters.") % {"limit": limit}]
    return cleaned


def _clean_choice(
    field: str, value: object, choices: Mapping[str, str], errors: dict[str, list[str]]
) -> str:
    if not isinstance(value, str) or value not in choices:
        errors[field] = [gettext("One of: %(values)s.") % {"values": ", ".join(choices)}]
        return ""
    return value


def _clean_flag(field: str, value: object, errors: dict[str, list[str]]) -> bool:
    if not isinstance(value, bool):
        errors[field] = [gettext("Must be true or false.")]
        return False
    return value


def _unknown_fields(given: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, list[str]]:
    return {
        str(key): [gettext("Unknown field; one of: %(known)s.") % {"known": ", ".join(known)}]
        for key in given
        if key not in known
    }


# --- people -------------------------------------------------------------------------------


def _person_values(
    case: Case, given: Mapping[str, Any], errors: dict[str, list[str]]
) -> tuple[dict[str, Any], Student | None, bool]:
    """The details to store from GIVEN (already merged with what was stored), the student
    a SIS id names, and whether a SIS id was given at all."""
    details: dict[str, Any] = {}
    for field, limit in PERSON_TEXT_FIELDS.items():
        value = given.get(field)
        if not _blank(value):
            details[field] = _clean_text(field, value, limit, errors)
    birth_date = given.get("birth_date")
    if not _blank(birth_date):
        try:
            parsed = date.fromisoformat(str(birth_date))
        except ValueError:
            errors["birth_date"] = [gettext("A date as YYYY-MM-DD.")]
        else:
            # A parent or a suspect may be born long before the students' earliest date.
            if parsed < EARLIEST_PERSON_BIRTH_DATE:
                errors["birth_date"] = [gettext("May not be before 1 January 1900.")]
            elif parsed >= timezone.localdate():
                errors["birth_date"] = [BIRTH_DATE_FUTURE_MESSAGE]
            details["birth_date"] = parsed.isoformat()
    age = given.get("approximate_age")
    if age is not None and age != "":
        if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= MAX_AGE:
            errors["approximate_age"] = [
                gettext("A whole number of years from 0 to %(limit)s.") % {"limit": MAX_AGE}
            ]
        else:
            details["approximate_age"] = age
    sex = given.get("sex")
    if not _blank(sex):
        details["sex"] = _clean_choice("sex", sex, SEX_CHOICES, errors)
    if not details.get("name") and not details.get("description"):
        errors["name"] = [
            gettext("Give a name or a description (a suspect may have only a description).")
        ]
    student: Student | None = None
    sis_id = given.get("sis_id")
    if not _blank(sis_id):
        code = _clean_text("sis_id", sis_id, 32, errors)
        # The case's school first: a SIS id is unique within a school, not the district.
        candidates = Student.objects.filter(sis_id=code).order_by("pk")
        student = candidates.filter(school=case.school).first() or candidates.first()
        if student is None:
            errors["sis_id"] = [gettext("No student with SIS id %(sis_id)r.") % {"sis_id": code}]
    return details, student, not _blank(sis_id)


def _contact_flags(
    role: str, may_contact: object, may_be_involved: object, errors: dict[str, list[str]]
) -> tuple[bool, bool]:
    involved = (
        False
        if may_be_involved is None
        else _clean_flag("may_be_involved", may_be_involved, errors)
    )
    if involved and role not in PARENT_ROLES:
        errors["may_be_involved"] = [
            gettext("Only a parent or guardian is marked as possibly involved.")
        ]
    if may_contact is None:
        # Never contact a suspect, or a parent who may be involved, unless someone decides so.
        contact = role != PersonRole.SUSPECT and not involved
    else:
        contact = _clean_flag("may_contact", may_contact, errors)
    if contact and involved:
        errors["may_contact"] = [
            gettext(
                "A parent or guardian who may be involved in the exploitation is not contacted."
            )
        ]
    return contact, involved


def case_person_add(
    *, acting_user: User, case_id: int, values: Mapping[str, Any], expected_version: int
) -> CasePerson:
    """Add someone involved in the case: a parent, guardian, sibling, suspect or witness.

    VALUES holds ``role`` and any of PERSON_FIELDS; a name or a description is required.
    """
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_PEOPLE,
            expected_version=expected_version,
            # Adding someone conflicts with nothing but a change to the whole case.
            parts=(),
        )
        errors = _unknown_fields(values, PERSON_FIELDS)
        role = _clean_choice("role", values.get("role"), dict(PersonRole.choices), errors)
        details, student, _ = _person_values(case, values, errors)
        contact, involved = _contact_flags(
            role, values.get("may_contact"), values.get("may_be_involved"), errors
        )
        if errors:
            raise ValidationFailed(errors)
        person = CasePerson.objects.create(
            case=case,
            role=role,
            details=details,
            student=student,
            may_contact=contact,
            may_be_involved=involved,
            added_by=acting_user,
            added_at=timezone.now(),
        )
        bump_case(case, parts=(person_part(person.pk),))
        event_record(
            actor=acting_user,
            action="case.person_add",
            case_id=case.pk,
            payload={"person": person.pk, "role": role, "student": student is not None},
        )
    return person


def case_person_update(
    *,
    acting_user: User,
    case_id: int,
    person_id: int,
    changes: Mapping[str, Any],
    expected_version: int,
) -> CasePerson:
    """Change what is known of a person on the case. A key given as null or "" is cleared;
    keys not given keep their value."""
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.CASE_PEOPLE,
            expected_version=expected_version,
            parts=(person_part(person_id),),
        )
        person = CasePerson.objects.select_for_update().filter(case=case, pk=person_id).first()
        if person is None:
            raise NotFound(
                gettext("no person %(person)s on case %(reference)s")
                % {"person": person_id, "reference": case.reference}
            )
        errors = _unknown_fields(changes, PERSON_FIELDS)
        merged: dict[str, Any] = {**person.details, **changes}
        if "sis_id" not in changes and person.student is not None:
            merged["sis_id"] = person.student.sis_id
        role = _clean_choice(
            "role", changes.get("role", person.role), dict(PersonRole.choices), errors
        )
        details, student, _ = _person_values(case, merged, errors)
        if "may_contact" in changes:
            may_contact = changes["may_contact"]
        elif changes.get("may_be_involved") is True or changes.get("role") == PersonRole.SUSPECT:
            # Newly a suspect or possibly involved: not contacted unless someone says so.
            may_contact = None
        else:
            may_contact = person.may_contact
        contact, involved = _contact_flags(
            role, may_contact, changes.get("may_be_involved", person.may_be_involved), errors
        )
        if errors:
            raise ValidationFailed(errors)
        changed = sorted(key for key in changes if key in PERSON_FIELDS)
        person.role = role
        person.details = details
        person.student = student
        person.may_contact = contact
        person.may_be_involved = involved
        person.updated_by = acting_user
        person.updated_at = timezone.now()
        person.save()
        bump_case(case, parts=(person_part(person.pk),))
        event_record(
            actor=acting_user,
            action="case.person_update",
            case_id=case.pk,
            payload={"person": person.pk, "role": role, "changed": changed},
        )
    return person


# --- the victim's details -----------------------------------------------------------------


def _victim_values(given: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for field, limit in VICTIM_TEXT_FIELDS.items():
        value = given.get(field)
        if not _blank(value):
            details[field] = _clean_text(field, value, limit, errors)
    if not _blank(given.get("sex")):
        details["sex"] = _clean_choice("sex", given["sex"], SEX_CHOICES, errors)
    if not _blank(given.get("out_of_home_care")):
        details["out_of_home_care"] = _clean_choice(
            "out_of_home_care", given["out_of_home_care"], OUT_OF_HOME_CARE, errors
        )
    if given.get("in_foster_care") is not None:
        details["in_foster_care"] = _clean_flag("in_foster_care", given["in_foster_care"], errors)
    disabilities = given.get("disabilities")
    if disabilities is not None:
        if not isinstance(disabilities, list) or any(
            not isinstance(item, str) or item not in DISABILITIES for item in disabilities
        ):
            errors["disabilities"] = [
                gettext("A list of: %(values)s.") % {"values": ", ".join(DISABILITIES)}
            ]
        elif disabilities:
            details["disabilities"] = [item for item in DISABILITIES if item in disabilities]
    return details


def case_victim_details_set(
    *, acting_user: User, case_id: int, changes: Mapping[str, Any], expected_version: int
) -> Case:
    """Record the student's details that the SS 8572 asks for. A key given as null or ""
    is cleared; keys not given keep their value."""
    with transaction.atomic():
        case = locked_open_case(
            acting_user=acting_user,
            case_id=case_id,
            capability=Capability.VICTIM_DETAILS_EDIT,
            expected_version=expected_version,
            parts=(VICTIM_PART,),
        )
        errors = _unknown_fields(changes, VICTIM_DETAIL_FIELDS)
        details = _victim_values({**case.victim_details, **changes}, errors)
        if errors:
            raise ValidationFailed(errors)
        case.victim_details = details
        bump_case(case, "victim_details", parts=(VICTIM_PART,))
        event_record(
            actor=acting_user,
            action="case.victim_details",
            case_id=case.pk,
            payload={"changed": sorted(key for key in changes if key in VICTIM_DETAIL_FIELDS)},
        )
    return case

"""The people on a case and the student's details for the form (cases/people.py), through
the REST API: who may add and read them, what is refused, and that a refusal writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from safestep.audit.models import Event
from safestep.cases.models import CasePerson
from safestep.testing import iso


def case_of(client, case_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v1/cases/{case_id}")
    assert answer.status_code == 200, answer.json()
    return dict(answer.json())


def add(client, case_id: int, **person: Any):
    version = case_of(client, case_id)["version"]
    return client.post(
        f"/api/v1/cases/{case_id}/people", {**person, "version": version}, format="json"
    )


@pytest.fixture
def admin(api_as):
    return api_as("site_admin")


def test_it_takes_a_suspect_with_only_a_description_and_never_contacts_them_by_default(
    admin, open_case
):
    case = open_case()
    added = add(
        admin, case.pk, role="suspect", description="Drives a black sedan, calls himself Dre"
    )
    assert added.status_code == 201, added.json()
    (person,) = added.json()["people"]
    assert person["name"] is None
    assert person["description"] == "Drives a black sedan, calls himself Dre"
    assert person["may_contact"] is False
    assert Event.objects.filter(case_id=case.pk, action="case.person_add").count() == 1


def test_it_refuses_a_person_with_neither_name_nor_description(admin, open_case):
    case = open_case()
    refused = add(admin, case.pk, role="witness", phone="555-0100")
    assert refused.status_code == 400
    assert "name" in refused.json()["errors"]
    assert not CasePerson.objects.exists()


def test_it_names_each_wrong_field_and_writes_nothing(admin, open_case):
    case = open_case()
    refused = add(
        admin,
        case.pk,
        role="cousin",
        name="Dre",
        sex="sometimes",
        approximate_age=300,
        sis_id="NOBODY",
    )
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) >= {"role", "sex", "approximate_age", "sis_id"}
    assert not CasePerson.objects.exists()


def test_it_never_lets_a_possibly_involved_parent_be_the_one_contacted(admin, open_case):
    case = open_case()
    mother = add(admin, case.pk, role="parent", name="Rosa Lopez", may_be_involved=True)
    assert mother.status_code == 201, mother.json()
    (person,) = mother.json()["people"]
    assert person["may_contact"] is False
    contradictory = add(
        admin, case.pk, role="parent", name="Luis Lopez", may_be_involved=True, may_contact=True
    )
    assert contradictory.status_code == 400
    assert "may_contact" in contradictory.json()["errors"]
    body = case_of(admin, case.pk)
    chose = admin.post(
        f"/api/v1/cases/{case.pk}/steps/parent_contact/complete",
        {
            "occurred_at": iso(1),
            "details": {"victim_consulted": True, "contact": person["id"], "method": "phone"},
            "version": body["version"],
        },
        format="json",
    )
    assert chose.status_code == 400
    assert "details.contact" in chose.json()["errors"]


def test_it_lets_a_guardian_who_may_be_contacted_be_chosen(admin, open_case):
    case = open_case()
    # Born before the students' earliest date: a person on a case may be any age.
    aunt = add(
        admin,
        case.pk,
        role="guardian",
        name="Ines Lopez",
        relationship="aunt",
        birth_date="1961-04-30",
    )
    assert aunt.status_code == 201, aunt.json()
    assert aunt.json()["people"][0]["birth_date"] == "1961-04-30"
    (person,) = aunt.json()["people"]
    body = case_of(admin, case.pk)
    done = admin.post(
        f"/api/v1/cases/{case.pk}/steps/parent_contact/complete",
        {
            "occurred_at": iso(1),
            "details": {"victim_consulted": True, "contact": person["id"], "method": "phone"},
            "version": body["version"],
        },
        format="json",
    )
    assert done.status_code == 200, done.json()


def test_it_keeps_what_a_change_does_not_name_and_clears_what_it_blanks(admin, open_case):
    case = open_case()
    added = add(admin, case.pk, role="parent", name="Rosa Lopez", phone="555-0100")
    person = added.json()["people"][0]
    changed = admin.patch(
        f"/api/v1/cases/{case.pk}/people/{person['id']}",
        {"address": "12 Elm St", "phone": None, "version": added.json()["version"]},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    after = changed.json()["people"][0]
    assert (after["name"], after["address"], after["phone"]) == ("Rosa Lopez", "12 Elm St", None)
    stale = admin.patch(
        f"/api/v1/cases/{case.pk}/people/{person['id']}",
        {"address": "elsewhere", "version": added.json()["version"]},
        format="json",
    )
    assert stale.status_code == 409
    assert case_of(admin, case.pk)["people"][0]["address"] == "12 Elm St"


def test_it_links_a_sibling_with_a_sis_id_to_that_student(admin, open_case):
    case = open_case(sis_id="S-1")
    open_case(sis_id="S-2")
    added = add(admin, case.pk, role="sibling", name="Ben Lopez", sis_id="S-2")
    assert added.status_code == 201, added.json()
    assert added.json()["people"][0]["sis_id"] == "S-2"


def test_it_shows_people_to_police_but_none_to_the_placement_office(api_as, admin, open_case):
    case = open_case("confirmed_victim")
    add(admin, case.pk, role="suspect", description="Adult in a black sedan")
    police = api_as("school_police")
    assert len(case_of(police, case.pk)["people"]) == 1
    assert add(police, case.pk, role="witness", name="Crossing guard").status_code == 201
    placement = case_of(api_as("placement_office"), case.pk)
    assert placement["people"] == []
    refused = add(api_as("placement_office"), case.pk, role="witness", name="x")
    assert refused.status_code == 403


def test_it_keeps_the_students_details_for_the_form(admin, api_as, open_case):
    case = open_case("confirmed_victim")
    version = case_of(admin, case.pk)["version"]
    saved = admin.patch(
        f"/api/v1/cases/{case.pk}/student",
        {
            "sex": "female",
            "primary_language": "Spanish",
            "disabilities": ["developmental"],
            "in_foster_care": True,
            "out_of_home_care": "foster_family_home",
            "present_location": "At school, counselor's office",
            "version": version,
        },
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    details = saved.json()["victim_details"]
    assert details["primary_language"] == "Spanish"
    assert details["disabilities"] == ["developmental"]
    for wrong, field in (
        ({"out_of_home_care": "boarding_school"}, "out_of_home_care"),
        ({"disabilities": ["hearing"]}, "disabilities"),
        ({"shoe_size": 7}, "shoe_size"),
    ):
        refused = admin.patch(
            f"/api/v1/cases/{case.pk}/student",
            {**wrong, "version": saved.json()["version"]},
            format="json",
        )
        assert refused.status_code == 400
        assert set(refused.json()["errors"]) == {field}
    assert case_of(admin, case.pk)["victim_details"] == details
    # The placement office reads no narrative, so none of the student's details.
    assert case_of(api_as("placement_office"), case.pk)["victim_details"] is None

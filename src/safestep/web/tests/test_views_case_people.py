"""The case page's people, the student's details for the SS 8572, voiding a case opened in
error, moving it to another pathway, and recording a completed transfer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from safestep.accounts.models import School
from safestep.accounts.testing import signed_in_client
from safestep.cases import services
from safestep.cases.models import Case, CasePerson, CaseStatus, Review
from safestep.cases.people import case_person_add

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def local(**delta: float) -> str:
    return timezone.localtime(timezone.now() - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def as_user(district):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(district[username])
        return clients[username]

    return make


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# --- people ------------------------------------------------------------------------------


def test_it_adds_a_suspect_known_only_by_a_description(as_user, open_case):
    case = open_case()
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/people/",
        {
            "version": case.version,
            "role": "suspect",
            "description": "Man in his 30s, drives a grey sedan, calls himself Rico.",
            "approximate_age": "35",
            "sex": "male",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/cases/{case.pk}/#people"
    person = CasePerson.objects.get(case=case)
    assert person.role == "suspect"
    assert person.details["approximate_age"] == 35
    # A suspect is never contacted unless someone decides so.
    assert person.may_contact is False
    body = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    people = body[body.index('id="people"') : body.index('id="people-heading"') + 4000]
    assert "Man in his 30s, drives a grey sedan" in people
    assert "Suspect" in people and "Do not contact" in people


def test_it_refuses_a_person_with_neither_name_nor_description_next_to_the_name(as_user, open_case):
    case = open_case()
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/people/",
        {"version": case.version, "role": "parent", "phone": "619-555-0100"},
        **HTMX,
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'role="alert"' in body and 'href="#person-new-name"' in body
    assert 'id="person-new-name-error"' in body
    assert re.search(r'id="person-new-name"[^>]*aria-describedby="person-new-name-error"', body)
    # What was typed stays, and the add form stays open to fix it.
    assert 'value="619-555-0100"' in body
    assert re.search(r'<details class="no-print" id="person-add" open', body)
    assert not CasePerson.objects.exists()


def test_it_changes_what_is_known_of_a_person(as_user, open_case, district):
    case = open_case()
    person = services_person(district, case, role="parent", name="Maria Lopez")
    case = fresh(case)
    answer = as_user("counselor").post(
        f"/cases/{case.pk}/people/{person.pk}/",
        {
            "version": case.version,
            "role": "parent",
            "name": "Maria Lopez",
            "phone": "619-555-0199",
            "relationship": "Mother",
            "may_contact": "no",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/cases/{case.pk}/#person-{person.pk}"
    person.refresh_from_db()
    assert person.details["phone"] == "619-555-0199"
    assert person.details["relationship"] == "Mother"
    assert person.may_contact is False


def test_it_refuses_marking_a_sibling_as_possibly_involved(as_user, open_case, district):
    case = open_case()
    person = services_person(district, case, role="sibling", name="Leo Lopez")
    case = fresh(case)
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/people/{person.pk}/",
        {
            "version": case.version,
            "role": "sibling",
            "name": "Leo Lopez",
            "may_be_involved": "yes",
        },
    )
    assert answer.status_code == 400
    body = html(answer)
    prefix = f"person-{person.pk}-may_be_involved"
    assert f'id="{prefix}-error"' in body
    assert re.search(rf'id="{prefix}"[^>]*aria-describedby="{prefix}-error"', body)
    person.refresh_from_db()
    assert person.may_be_involved is False


def test_it_shows_the_placement_office_no_people_at_all(as_user, open_case, district):
    case = open_case("confirmed_victim")
    services_person(district, case, role="parent", name="Maria Lopez")
    body = html(as_user("placement_office").get(f"/cases/{case.pk}/"))
    assert 'id="people"' not in body and "Maria Lopez" not in body
    assert 'id="student-details"' not in body
    # Its own placement work is still there.
    assert "Record C7" in body
    refused = as_user("placement_office").post(
        f"/cases/{case.pk}/people/",
        {"version": fresh(case).version, "role": "parent", "name": "Someone"},
    )
    assert refused.status_code == 403
    assert CasePerson.objects.count() == 1


def services_person(district, case: Case, **values: object) -> CasePerson:
    return case_person_add(
        acting_user=district["site_admin"],
        case_id=case.pk,
        values=values,
        expected_version=fresh(case).version,
    )


# --- the student's details for the report form ------------------------------------------


def test_it_records_the_students_details_for_the_report_form(as_user, open_case):
    case = open_case()
    answer = as_user("counselor").post(
        f"/cases/{case.pk}/student-details/",
        {
            "version": case.version,
            "sex": "female",
            "primary_language": "Spanish",
            "disabilities": ["developmental"],
            "in_foster_care": "yes",
            "out_of_home_care": "foster_family_home",
            "present_location": "At school, counseling office.",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/cases/{case.pk}/#student-details"
    details = fresh(case).victim_details
    assert details["sex"] == "female"
    assert details["disabilities"] == ["developmental"]
    assert details["in_foster_care"] is True
    body = html(as_user("counselor").get(f"/cases/{case.pk}/"))
    assert "Developmentally disabled" in body and "Foster family home" in body


def test_it_refuses_a_sex_the_form_does_not_know_next_to_the_field(as_user, open_case):
    case = open_case()
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/student-details/",
        {"version": case.version, "sex": "dragon", "primary_language": "Tagalog"},
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'href="#victim-sex"' in body and 'id="victim-sex-error"' in body
    assert re.search(r'id="victim-sex"[^>]*aria-describedby="victim-sex-error"', body)
    assert 'value="Tagalog"' in body
    assert fresh(case).victim_details == {}


# --- void ---------------------------------------------------------------------------------


def test_it_voids_a_case_keeping_it_whole_and_out_of_the_default_list(as_user, open_case):
    case = open_case(sis_id="S-90")
    other = open_case(sis_id="S-91")
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/void/",
        {"version": case.version, "reason": "Opened for the wrong student.", "confirm": "1"},
    )
    assert answer.status_code == 302
    assert fresh(case).status == CaseStatus.VOIDED
    assert Review.objects.filter(case=case, kind="case_voided", status="open").exists()
    body = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert "Voided: this case was opened in error" in body
    assert "Opened for the wrong student." in body
    for listing, shown in (("", False), ("?status=all", False), ("?status=voided", True)):
        page = html(as_user("site_admin").get(f"/cases/{listing}"))
        assert (case.reference in page) is shown, listing
        assert (other.reference in page) is not shown, listing
    assert 'href="?status=voided"' in html(as_user("site_admin").get("/cases/"))


def test_it_offers_no_write_form_on_a_voided_case(as_user, open_case, district):
    case = open_case()
    services.case_void(
        acting_user=district["site_admin"],
        case_id=case.pk,
        reason="A duplicate of another case.",
        expected_version=case.version,
    )
    for username in ("site_admin", "counselor", "district_coordinator"):
        body = html(as_user(username).get(f"/cases/{case.pk}/"))
        assert not re.search(r'method="post" action="/cases/', body), username
        assert "Voided" in body


def test_it_refuses_voiding_without_a_reason(as_user, open_case):
    case = open_case()
    answer = as_user("site_admin").post(
        f"/cases/{case.pk}/void/", {"version": case.version, "reason": "  "}
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="void-reason-error"' in body and 'href="#void-reason"' in body
    assert fresh(case).status == CaseStatus.OPEN


def test_it_offers_voiding_to_site_admins_and_the_coordinator_only(as_user, open_case):
    case = open_case()
    assert 'id="void"' in html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert 'id="void"' in html(as_user("district_coordinator").get(f"/cases/{case.pk}/"))
    assert 'id="void"' not in html(as_user("counselor").get(f"/cases/{case.pk}/"))


# --- pathways -----------------------------------------------------------------------------


def test_it_offers_every_other_pathway_and_says_a_lower_one_is_reviewed(as_user, open_case):
    case = open_case("confirmed_victim")
    body = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    escalate = body[body.index('id="escalate"') :]
    assert 'value="suspected_victim"' in escalate and 'value="recruitment_by_student"' in escalate
    assert "Lower pathway: reviewed by the district coordinator" in escalate
    refused = as_user("site_admin").post(
        f"/cases/{case.pk}/escalate/", {"version": case.version, "reason": "Not confirmed."}
    )
    assert refused.status_code == 400
    assert 'href="#escalate-pathway"' in html(refused)
    moved = as_user("site_admin").post(
        f"/cases/{case.pk}/escalate/",
        {
            "version": case.version,
            "pathway": "suspected_victim",
            "reason": "SDPD withdrew it.",
            "confirm": "1",
        },
    )
    assert moved.status_code == 302
    assert fresh(case).pathway == "suspected_victim"
    assert Review.objects.filter(case=case, kind="pathway_lowered").exists()


# --- transfer -----------------------------------------------------------------------------


def transfer_decided(district, case: Case, school: str = "ROO") -> Case:
    return services.step_complete(
        acting_user=district["placement_office"],
        case_id=case.pk,
        step_id="placement_review",
        occurred_at=timezone.now() - timedelta(hours=1),
        details={"decision": "transfer", "reason": "Safer away from him.", "new_school": school},
        expected_version=fresh(case).version,
    )


def test_it_moves_a_transferred_case_out_of_the_old_schools_reach(as_user, open_case, district):
    case = open_case("confirmed_victim")
    services.checkin_plan_set(
        acting_user=district["counselor"],
        case_id=case.pk,
        every_days=7,
        assignee="counselor",
        expected_version=case.version,
    )
    assert 'id="transfer"' not in html(as_user("placement_office").get(f"/cases/{case.pk}/"))
    case = transfer_decided(district, case)
    page = html(as_user("placement_office").get(f"/cases/{case.pk}/"))
    assert "The placement review decided a transfer to ROO." in page
    assert re.search(r'<option value="ROO" selected>', page)
    assert 'id="transfer"' not in html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    answer = as_user("placement_office").post(
        f"/cases/{case.pk}/transfer/",
        {
            "version": case.version,
            "school": "ROO",
            "completed_at": local(minutes=5),
            "confirm": "1",
        },
    )
    assert answer.status_code == 302
    assert fresh(case).school.code == "ROO"
    # Recorded once: the form is not offered again.
    assert 'id="transfer"' not in html(as_user("placement_office").get(f"/cases/{case.pk}/"))
    assert as_user("site_admin").get(f"/cases/{case.pk}/").status_code == 404
    assert as_user("counselor").get(f"/cases/{case.pk}/").status_code == 404
    assert as_user("outsider_admin").get(f"/cases/{case.pk}/").status_code == 200
    # The check-ins are still kept by someone at the old school: the case says so.
    body = html(as_user("outsider_admin").get(f"/cases/{case.pk}/"))
    assert "Reassign the check-ins to someone at Roosevelt Middle School." in body


def test_it_refuses_a_transfer_to_another_school_than_the_one_decided(as_user, open_case, district):
    madison = School.objects.create(code="MAD", name="Madison High School")
    case = transfer_decided(district, open_case("confirmed_victim"))
    answer = as_user("district_coordinator").post(
        f"/cases/{case.pk}/transfer/",
        {"version": case.version, "school": madison.code, "completed_at": local(minutes=5)},
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="transfer-school-error"' in body and "decided a transfer to ROO" in body
    assert re.search(r'id="transfer-school"[^>]*aria-describedby="[^"]*transfer-school-error', body)
    assert fresh(case).school.code == "LIN"

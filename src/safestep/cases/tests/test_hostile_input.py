"""An insider probing across schools: students stay in their school, disclosure logs stay
with the cases a reader can see, and nobody learns a child's name from a SIS id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.utils import timezone

from safestep.accounts.testing import sign_in_client
from safestep.audit.models import Disclosure, Event
from safestep.cases import services
from safestep.cases.models import Student
from safestep.testing import iso


def concern(client, school: str, sis_id: str, first: str, last: str) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/concerns",
        {
            "school": school,
            "student": {"sis_id": sis_id, "first_name": first, "last_name": last},
            "observed_at": iso(2),
            "description": "Seen with an older man after school.",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    return dict(client.get(f"/api/v1/concerns/{answer.json()['id']}").json())


def test_it_keeps_a_sis_id_typed_at_one_school_away_from_another_schools_student(api_as):
    concern(api_as("outsider_admin"), "ROO", "S-9", "Maria", "Gomez")
    probing = api_as("site_admin")
    mine = concern(probing, "LIN", "S-9", "Guess", "Name")
    assert mine["student"]["name"] == "Guess Name"
    assert Student.objects.filter(sis_id="S-9").count() == 2
    for answer in (probing.get("/api/v1/concerns"), probing.get("/api/v1/cases")):
        assert "Gomez" not in answer.content.decode()


def test_it_sends_a_concern_about_another_schools_student_to_that_school_only(api_as):
    roo_admin = api_as("outsider_admin")
    concern(roo_admin, "ROO", "S-9", "Maria", "Gomez")
    probing = api_as("site_admin")
    filed = concern(probing, "ROO", "S-9", "Typo", "Name")
    # The one who filed it sees only what they typed, not the school's record.
    assert filed["student"]["name"] == "Typo Name"
    assert "Gomez" not in str(filed) and "dismissed_reason" not in filed
    roo_admin.post(
        f"/api/v1/concerns/{filed['id']}/dismiss",
        {"reason": "Gomez is known to us."},
        format="json",
    )
    again = probing.get(f"/api/v1/concerns/{filed['id']}").json()
    assert again["status"] == "dismissed"
    assert "Gomez" not in str(again)
    # The school that triages it sees the record and what was typed, to reconcile.
    queue = roo_admin.get(f"/api/v1/concerns/{filed['id']}").json()
    assert queue["student"]["name"] == "Maria Gomez"
    assert queue["student"]["typed_name"] == "Typo Name"
    assert Student.objects.get(school__code="ROO", sis_id="S-9").first_name == "Maria"


def test_it_opens_a_case_only_at_the_students_school(api_as):
    concern(api_as("outsider_admin"), "ROO", "S-9", "Maria", "Gomez")
    refused = api_as("site_admin").post(
        "/api/v1/cases",
        {
            "school": "ROO",
            "student": {"sis_id": "S-9", "first_name": "Maria", "last_name": "Gomez"},
            "pathway": "suspected_victim",
            "suspicion_formed_at": iso(3),
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "school" in refused.json()["errors"]


def test_it_refuses_a_direct_case_whose_name_differs_without_saying_the_name(api_as):
    admin = api_as("site_admin")
    concern(admin, "LIN", "S-5", "Ana", "Lopez")
    refused = admin.post(
        "/api/v1/cases",
        {
            "school": "LIN",
            "student": {"sis_id": "S-5", "first_name": "Someone", "last_name": "Else"},
            "pathway": "suspected_victim",
            "suspicion_formed_at": iso(3),
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "student.sis_id" in refused.json()["errors"]
    assert "Lopez" not in refused.content.decode()


def test_it_lists_only_the_disclosures_of_cases_the_reader_can_see(district, api_as, open_case):
    for school, by in (("LIN", "site_admin"), ("ROO", "outsider_admin")):
        case = open_case(school=school, sis_id="S-9", by=by)
        services.step_complete(
            acting_user=district[by],
            case_id=case.pk,
            step_id="police_involved",
            occurred_at=timezone.now() - timedelta(hours=1),
            details={"agency": "sdpd", "threat": f"Threat seen at {school}."},
            expected_version=case.version,
        )
    seen = api_as("site_admin").get("/api/v1/students/S-9/disclosures").json()
    assert [item["threat"] for item in seen] == ["Threat seen at LIN."]
    both = api_as("district_coordinator").get("/api/v1/students/S-9/disclosures").json()
    assert len(both) == 2
    nobody = api_as("site_admin").get("/api/v1/students/NO-SUCH/disclosures")
    assert (nobody.status_code, nobody.json()) == (200, [])


def test_it_gives_auditors_no_oracle_for_which_students_have_a_record(api_as, open_case):
    open_case(sis_id="S-9")
    auditor = api_as("auditor")
    known = auditor.get("/api/v1/students/S-9/disclosures")
    unknown = auditor.get("/api/v1/students/NOBODY/disclosures")
    assert known.status_code == unknown.status_code == 403
    assert known.json()["detail"] == unknown.json()["detail"]
    # Both lookups are in the trail, the miss as much as the hit.
    assert Event.objects.filter(action="access.denied").count() == 2


def test_it_seals_a_parents_name_in_the_disclosure_log(district, open_case):
    case = open_case()
    services.step_complete(
        acting_user=district["site_admin"],
        case_id=case.pk,
        step_id="parent_contact",
        occurred_at=timezone.now() - timedelta(hours=1),
        details={
            "victim_consulted": True,
            "contacted_person": "Rosalind Quixotica",
            "relationship": "aunt",
        },
        expected_version=case.version,
    )
    assert Disclosure.objects.get(case_id=case.pk).recipient == "Rosalind Quixotica (aunt)"
    with connection.cursor() as cursor:
        cursor.execute("SELECT recipient FROM audit_disclosure")
        stored = [row[0] for row in cursor.fetchall()]
    assert stored and all("Quixotica" not in str(value) for value in stored)


def test_it_gives_the_placement_office_no_timeline(api_as, open_case):
    case = open_case("confirmed_victim")
    placement = api_as("placement_office")
    assert placement.get(f"/api/v1/cases/{case.pk}").status_code == 200
    assert placement.get(f"/api/v1/cases/{case.pk}/timeline").status_code == 403


def test_it_shows_the_triager_a_differently_typed_name_to_reconcile(district, api_as):
    concern(api_as("site_admin"), "LIN", "S-5", "Ana", "Lopez")
    concern(api_as("reporter"), "LIN", "S-5", "Anna", "Lopes")
    page = sign_in_client(Client(), district["site_admin"]).get("/triage/").content.decode()
    assert "Anna Lopes" in page and "differs from the school" in page
    assert Student.objects.get(school__code="LIN", sis_id="S-5").first_name == "Ana"

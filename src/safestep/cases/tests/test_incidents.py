"""Real incidents through the REST API: several students in one concern, a concern added to
an open case, a case voided, a pathway moved either way, a transfer that moves the case.

Each refusal changes nothing; each accepted change is on the case's trail.
"""

from __future__ import annotations

from typing import Any

import pytest

from safestep.audit.models import Event
from safestep.cases.models import Case, CaseLink, CaseStatus, Concern, Review, StepRecord
from safestep.testing import iso


def submit(client, students: list[dict[str, str]], *, observed_hours_ago: float = 3) -> int:
    answer = client.post(
        "/api/v1/concerns",
        {
            "school": "LIN",
            "students": students,
            "observed_at": iso(observed_hours_ago),
            "description": "Two students are driven off campus by the same adult.",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    return int(answer.json()["id"])


ANA = {"sis_id": "S-1", "first_name": "Ana", "last_name": "Lopez"}
BEA = {"sis_id": "S-2", "first_name": "Bea", "last_name": "Ruiz"}


def open_from(client, concern_id: int, sis_id: str | None = None, hours_ago: float = 3.5):
    body: dict[str, Any] = {
        "concern": concern_id,
        "pathway": "suspected_victim",
        "suspicion_formed_at": iso(hours_ago),
    }
    if sis_id is not None:
        body["student_sis_id"] = sis_id
    return client.post("/api/v1/cases", body, format="json")


def case_of(client, case_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v1/cases/{case_id}")
    assert answer.status_code == 200, answer.json()
    return dict(answer.json())


@pytest.fixture
def admin(api_as):
    return api_as("site_admin")


@pytest.fixture
def coordinator(api_as):
    return api_as("district_coordinator")


# --- one incident, several students ---------------------------------------------------------


def test_it_makes_two_linked_cases_from_a_concern_naming_two_students(api_as, admin):
    concern_id = submit(api_as("reporter"), [ANA, BEA])
    first = open_from(admin, concern_id, "S-1")
    assert first.status_code == 201, first.json()
    # The concern still waits: one of its students has no case yet.
    assert admin.get(f"/api/v1/concerns/{concern_id}").json()["status"] == "submitted"
    second = open_from(admin, concern_id, "S-2")
    assert second.status_code == 201, second.json()
    concern = admin.get(f"/api/v1/concerns/{concern_id}").json()
    assert concern["status"] == "triaged"
    assert [row["case"] for row in concern["students"]] == [first.json()["id"], second.json()["id"]]
    links = case_of(admin, second.json()["id"])["links"]
    assert links == [
        {
            "case": first.json()["id"],
            "reference": first.json()["reference"],
            "relation": "same_incident",
        }
    ]
    assert case_of(admin, first.json()["id"])["links"][0]["relation"] == "same_incident"
    # Each case is about its own student.
    assert case_of(admin, second.json()["id"])["student"]["sis_id"] == "S-2"


def test_it_asks_which_student_when_a_concern_names_several(api_as, admin):
    concern_id = submit(api_as("reporter"), [ANA, BEA])
    refused = open_from(admin, concern_id)
    assert refused.status_code == 400
    assert "student_sis_id" in refused.json()["errors"]
    unknown = open_from(admin, concern_id, "S-404")
    assert unknown.status_code == 400
    assert "student_sis_id" in unknown.json()["errors"]
    assert Case.objects.count() == 0


def test_it_refuses_a_second_case_for_the_same_student_of_a_concern(api_as, admin):
    concern_id = submit(api_as("reporter"), [ANA, BEA])
    assert open_from(admin, concern_id, "S-1").status_code == 201
    again = open_from(admin, concern_id, "S-1")
    assert again.status_code == 409
    assert Case.objects.count() == 1


def test_it_refuses_a_student_named_twice_and_writes_nothing(api_as):
    answer = api_as("reporter").post(
        "/api/v1/concerns",
        {
            "school": "LIN",
            "students": [ANA, ANA],
            "observed_at": iso(2),
            "description": "Seen twice.",
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "students" in answer.json()["errors"]
    assert Concern.objects.count() == 0


def test_it_names_the_student_whose_details_are_wrong(api_as):
    answer = api_as("reporter").post(
        "/api/v1/concerns",
        {
            "school": "LIN",
            "students": [ANA, {"sis_id": " ", "first_name": "Bea", "last_name": "Ruiz"}],
            "observed_at": iso(2),
            "description": "Seen.",
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "students.1.sis_id" in answer.json()["errors"]
    assert Concern.objects.count() == 0


def test_it_shows_the_reporter_what_they_typed_for_each_student(api_as):
    reporter = api_as("reporter")
    concern_id = submit(reporter, [ANA, BEA])
    own = reporter.get(f"/api/v1/concerns/{concern_id}").json()
    assert [row["name"] for row in own["students"]] == ["Ana Lopez", "Bea Ruiz"]
    assert "case" not in own


# --- a concern added to an open case --------------------------------------------------------


def test_it_moves_the_clock_to_the_earlier_observation_of_an_attached_concern(api_as, admin):
    reporter = api_as("reporter")
    first = submit(reporter, [ANA], observed_hours_ago=5)
    case = open_from(admin, first, hours_ago=5.5).json()
    due_before = {step["id"]: step for step in case["steps"]}["cws_report"]["due_at"]
    # A second staff member had seen it a day earlier.
    earlier = submit(api_as("counselor"), [ANA], observed_hours_ago=30)
    attached = admin.post(
        f"/api/v1/concerns/{earlier}/attach",
        {"case": case["id"], "version": case["version"]},
        format="json",
    )
    assert attached.status_code == 200, attached.json()
    body = attached.json()
    assert body["concerns"] == [first, earlier]
    due_after = {step["id"]: step for step in body["steps"]}["cws_report"]["due_at"]
    assert due_after < due_before
    assert body["suspicion_formed_at"] < case["suspicion_formed_at"]
    assert admin.get(f"/api/v1/concerns/{earlier}").json()["status"] == "triaged"
    timeline = admin.get(f"/api/v1/cases/{case['id']}/timeline").json()
    assert "case.concern_attach" in [event["action"] for event in timeline]


def test_it_refuses_to_attach_a_concern_about_another_student(api_as, admin):
    case = open_from(admin, submit(api_as("reporter"), [ANA])).json()
    other = submit(api_as("reporter"), [BEA])
    refused = admin.post(
        f"/api/v1/concerns/{other}/attach",
        {"case": case["id"], "version": case["version"]},
        format="json",
    )
    assert refused.status_code == 400
    assert "case" in refused.json()["errors"]
    assert Concern.objects.get(pk=other).status == "submitted"
    assert case_of(admin, case["id"])["version"] == case["version"]


def test_it_answers_an_unknown_case_to_attach_to_as_a_bad_field(api_as, admin, open_case):
    hidden = open_case(school="ROO", by="outsider_admin")
    concern = submit(api_as("reporter"), [ANA])
    refused = admin.post(
        f"/api/v1/concerns/{concern}/attach", {"case": hidden.pk, "version": 1}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"case": [f"No case {hidden.pk}."]}


# --- voiding --------------------------------------------------------------------------------


def test_it_keeps_a_voided_case_out_of_lists_and_opens_a_review(api_as, admin, coordinator):
    case = open_from(admin, submit(api_as("reporter"), [ANA])).json()
    no_reason = admin.post(
        f"/api/v1/cases/{case['id']}/void",
        {"reason": " ", "version": case["version"]},
        format="json",
    )
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["errors"]
    voided = admin.post(
        f"/api/v1/cases/{case['id']}/void",
        {"reason": "Opened for the wrong student.", "version": case["version"]},
        format="json",
    )
    assert voided.status_code == 200, voided.json()
    assert voided.json()["status"] == "voided"
    assert voided.json()["void_reason"] == "Opened for the wrong student."
    listed = [row["id"] for row in admin.get("/api/v1/cases").json()["results"]]
    assert case["id"] not in listed
    filtered = [row["id"] for row in admin.get("/api/v1/cases?status=voided").json()["results"]]
    assert filtered == [case["id"]]
    # Its history is whole and it can still be read.
    assert case_of(admin, case["id"])["status"] == "voided"
    review = Review.objects.get(case_id=case["id"])
    assert review.kind == "case_voided"
    # Nothing more can be written on it.
    note = admin.post(f"/api/v1/cases/{case['id']}/notes", {"text": "x"}, format="json")
    assert note.status_code == 409
    # Overruled: the case is open again.
    decided = coordinator.post(
        f"/api/v1/reviews/{review.pk}/decide",
        {"decision": "overruled", "comment": "This is the right student."},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    assert case_of(admin, case["id"])["status"] == "open"


def test_it_does_not_let_a_counselor_void_a_case(api_as, admin):
    case = open_from(admin, submit(api_as("reporter"), [ANA])).json()
    refused = api_as("counselor").post(
        f"/api/v1/cases/{case['id']}/void",
        {"reason": "wrong", "version": case["version"]},
        format="json",
    )
    assert refused.status_code == 403
    assert Case.objects.get(pk=case["id"]).status == CaseStatus.OPEN


# --- moving between pathways ----------------------------------------------------------------


def escalate(client, case: dict[str, Any], pathway: str):
    return client.post(
        f"/api/v1/cases/{case['id']}/escalate",
        {"pathway": pathway, "reason": "What we learned since.", "version": case["version"]},
        format="json",
    )


def test_it_moves_a_recruiter_found_to_be_a_victim_without_review(admin, open_case, district):
    case = open_case("recruitment_by_student")
    body = case_of(admin, case.pk)
    moved = escalate(admin, body, "suspected_victim")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["pathway"] == "suspected_victim"
    assert "cws_report" in {step["id"] for step in moved.json()["steps"]}
    assert not Review.objects.filter(case=case).exists()


def test_it_opens_a_review_when_a_mistaken_confirmed_victim_moves_back(
    admin, coordinator, open_case
):
    case = open_case("confirmed_victim")
    body = case_of(admin, case.pk)
    moved = escalate(admin, body, "suspected_victim")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["needs_review"] is True
    review = Review.objects.get(case=case)
    assert review.kind == "pathway_lowered"
    event = Event.objects.filter(case_id=case.pk, action="case.escalate").get()
    assert event.payload["lowers"] is True
    # Overruled: back on the confirmed pathway.
    coordinator.post(
        f"/api/v1/reviews/{review.pk}/decide",
        {"decision": "overruled", "comment": "Confirmed by police."},
        format="json",
    )
    assert case_of(admin, case.pk)["pathway"] == "confirmed_victim"


def test_it_refuses_an_unknown_pathway_and_changes_nothing(admin, open_case):
    case = open_case()
    body = case_of(admin, case.pk)
    refused = escalate(admin, body, "nowhere")
    assert refused.status_code == 400
    assert "pathway" in refused.json()["errors"]
    assert case_of(admin, case.pk)["version"] == body["version"]


# --- transfers ------------------------------------------------------------------------------


def decide_transfer(client, case_id: int, new_school: str | None):
    body = case_of(client, case_id)
    details: dict[str, Any] = {"decision": "transfer", "reason": "Safer away from the recruiter."}
    if new_school is not None:
        details["new_school"] = new_school
    return client.post(
        f"/api/v1/cases/{case_id}/steps/placement_review/complete",
        {"occurred_at": iso(1), "details": details, "version": body["version"]},
        format="json",
    )


def test_it_needs_a_school_that_exists_for_a_transfer_decision(admin, open_case):
    case = open_case("confirmed_victim")
    missing = decide_transfer(admin, case.pk, None)
    assert missing.status_code == 400
    assert "details.new_school" in missing.json()["errors"]
    unknown = decide_transfer(admin, case.pk, "NOPE")
    assert unknown.status_code == 400
    assert "details.new_school" in unknown.json()["errors"]
    assert not StepRecord.objects.filter(case=case).exists()


def test_it_moves_the_case_and_who_may_read_it_on_a_completed_transfer(api_as, admin, open_case):
    case = open_case("confirmed_victim")
    assert decide_transfer(admin, case.pk, "ROO").status_code == 200
    placement = api_as("placement_office")
    body = case_of(placement, case.pk)
    wrong = placement.post(
        f"/api/v1/cases/{case.pk}/transfer",
        {"school": "LIN", "completed_at": iso(0.5), "version": body["version"]},
        format="json",
    )
    assert wrong.status_code == 400
    assert "school" in wrong.json()["errors"]
    moved = placement.post(
        f"/api/v1/cases/{case.pk}/transfer",
        {"school": "ROO", "completed_at": iso(0.5), "version": body["version"]},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["school"] == "ROO"
    # The old school's staff no longer find it; the new school's do.
    assert admin.get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert api_as("counselor").get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert case_of(api_as("outsider_admin"), case.pk)["transfers"][0]["from_school"] == "LIN"


def test_it_waits_for_the_placement_decision_before_a_transfer(api_as, open_case):
    case = open_case("confirmed_victim")
    placement = api_as("placement_office")
    body = case_of(placement, case.pk)
    refused = placement.post(
        f"/api/v1/cases/{case.pk}/transfer",
        {"school": "ROO", "completed_at": iso(0.5), "version": body["version"]},
        format="json",
    )
    assert refused.status_code == 409
    assert Case.objects.get(pk=case.pk).school.code == "LIN"


def test_it_does_not_let_a_site_admin_record_a_transfer(admin, open_case):
    case = open_case("confirmed_victim")
    assert decide_transfer(admin, case.pk, "ROO").status_code == 200
    body = case_of(admin, case.pk)
    refused = admin.post(
        f"/api/v1/cases/{case.pk}/transfer",
        {"school": "ROO", "completed_at": iso(0.5), "version": body["version"]},
        format="json",
    )
    assert refused.status_code == 403
    assert not CaseLink.objects.exists()

"""Concerns, triage, links, timeline and reopening through the API."""

from __future__ import annotations

import pytest

from safestep.cases.models import CaseLink, Concern
from safestep.testing import iso

CONCERN = {
    "school": "LIN",
    "student": {"sis_id": "777", "first_name": "Ana", "last_name": "Lopez"},
    "observed_at": None,
    "description": "Saw an older man hand her cash.",
    "indicators": ["older_partner", "unexplained_possessions"],
}


def concern_body(**changes):
    return {**CONCERN, "observed_at": iso()} | changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"school": "XXX"}, "school"),
        ({"student": {"sis_id": "", "first_name": "A", "last_name": "B"}}, "student.sis_id"),
        ({"student": {"first_name": "A", "last_name": "B"}}, "student.sis_id"),
        ({"observed_at": "yesterday"}, "observed_at"),
        ({"description": ""}, "description"),
        ({"indicators": ["mind_reading"]}, "indicators"),
        ({"own_report": {"agency": "cws"}}, "own_report.phoned_at"),
    ],
)
def test_it_refuses_a_bad_concern_naming_the_field(api_as, changes, field):
    answer = api_as("reporter").post("/api/v1/concerns", concern_body(**changes), format="json")
    assert answer.status_code == 400, answer.json()
    assert field in answer.json()["errors"]
    assert not Concern.objects.exists()


def test_it_keeps_the_triage_queue_to_the_admins_own_schools(api_as):
    api_as("reporter").post("/api/v1/concerns", concern_body(), format="json")
    api_as("reporter").post("/api/v1/concerns", concern_body(school="ROO"), format="json")
    lin = api_as("site_admin").get("/api/v1/concerns?status=submitted").json()
    roo = api_as("outsider_admin").get("/api/v1/concerns?status=submitted").json()
    everyone = api_as("district_coordinator").get("/api/v1/concerns?status=submitted").json()
    assert [item["school"] for item in lin["results"]] == ["LIN"]
    assert [item["school"] for item in roo["results"]] == ["ROO"]
    assert everyone["count"] == 2
    assert api_as("counselor").get("/api/v1/concerns").json()["count"] == 0


def test_it_lets_only_a_triager_of_that_school_open_or_dismiss_a_concern(api_as):
    concern_id = (
        api_as("reporter").post("/api/v1/concerns", concern_body(), format="json").json()["id"]
    )
    outsider = api_as("outsider_admin").post(
        "/api/v1/cases",
        {"concern": concern_id, "pathway": "suspected_victim", "suspicion_formed_at": iso()},
        format="json",
    )
    assert outsider.status_code == 404
    assert (
        api_as("counselor")
        .post(f"/api/v1/concerns/{concern_id}/dismiss", {"reason": "x"}, format="json")
        .status_code
        == 403
    )
    dismissed = api_as("site_admin").post(
        f"/api/v1/concerns/{concern_id}/dismiss", {"reason": "A visiting sibling."}, format="json"
    )
    assert dismissed.json() == {"id": concern_id, "status": "dismissed"}
    again = api_as("site_admin").post(
        "/api/v1/cases",
        {"concern": concern_id, "pathway": "suspected_victim", "suspicion_formed_at": iso()},
        format="json",
    )
    assert again.status_code == 409


def test_it_hides_links_to_cases_the_reader_may_not_see(api_as, open_case):
    mine = open_case(sis_id="L-1")
    theirs = open_case(school="ROO", sis_id="R-1", by="outsider_admin")
    coordinator = api_as("district_coordinator")
    linked = coordinator.post(
        f"/api/v1/cases/{mine.pk}/links",
        {"case": theirs.pk, "relation": "same_incident"},
        format="json",
    )
    assert linked.status_code == 201
    assert api_as("site_admin").get(f"/api/v1/cases/{mine.pk}").json()["links"] == []
    assert len(coordinator.get(f"/api/v1/cases/{mine.pk}").json()["links"]) == 1
    # A site admin cannot link to a case outside their scope: it "does not exist".
    refused = api_as("site_admin").post(
        f"/api/v1/cases/{mine.pk}/links", {"case": theirs.pk, "relation": "sibling"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"case": [f"No case {theirs.pk}."]}
    duplicate = coordinator.post(
        f"/api/v1/cases/{theirs.pk}/links", {"case": mine.pk, "relation": "sibling"}, format="json"
    )
    assert duplicate.status_code == 409
    assert CaseLink.objects.count() == 1


def test_it_reopens_a_step_and_a_case_through_the_api(api_as, open_case):
    case = open_case("recruitment_by_student")
    admin = api_as("site_admin")
    version = case.version
    for step_id, details in [
        (
            "police_involved",
            {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
        ),
        ("campus_impact", {"findings": "None.", "other_students_involved": False}),
        (
            "school_consequences",
            {
                "consequence": "none",
                "expulsion_recommended": False,
                "referred_for_criminal_investigation": False,
            },
        ),
    ]:
        version = admin.post(
            f"/api/v1/cases/{case.pk}/steps/{step_id}/complete",
            {"occurred_at": iso(), "details": details, "version": version},
            format="json",
        ).json()["version"]
    reopened = admin.post(
        f"/api/v1/cases/{case.pk}/steps/campus_impact/reopen",
        {"reason": "Two more students named.", "version": version},
        format="json",
    )
    assert reopened.status_code == 200
    body = reopened.json()
    assert next(s for s in body["steps"] if s["id"] == "campus_impact")["state"] == "pending"
    version = admin.post(
        f"/api/v1/cases/{case.pk}/steps/campus_impact/complete",
        {
            "occurred_at": iso(0.5),
            "details": {"findings": "Two students; linked.", "other_students_involved": True},
            "version": body["version"],
        },
        format="json",
    ).json()["version"]
    closed = admin.post(
        f"/api/v1/cases/{case.pk}/close", {"outcome": "Done.", "version": version}, format="json"
    )
    assert closed.status_code == 200
    reopened_case = admin.post(
        f"/api/v1/cases/{case.pk}/reopen",
        {"reason": "New disclosure.", "version": closed.json()["version"]},
        format="json",
    )
    assert reopened_case.status_code == 200 and reopened_case.json()["status"] == "open"
    assert (
        api_as("counselor")
        .post(f"/api/v1/cases/{case.pk}/reopen", {"reason": "x", "version": 1}, format="json")
        .status_code
        == 403
    )  # the role is checked before the case's state


def test_it_answers_404_for_an_unknown_step(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/steps/placement_review/complete",
        {"occurred_at": iso(), "details": {}, "version": case.version},
        format="json",
    )
    assert answer.status_code == 404
    assert "no step 'placement_review'" in answer.json()["detail"]

"""Each endpoint's answers: 400 naming the field, 401, 403, 404 out of scope, 409 stale."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from safestep.cases.models import Case, CheckIn, Note
from safestep.testing import iso

NOW = timezone.now


WRITES = [
    ("post", "/facts", {"facts": {"reliable_evidence": True}}),
    (
        "post",
        "/steps/police_involved/complete",
        {
            "occurred_at": None,
            "details": {
                "agency": "sdpd",
                "threat": "An adult outside school is exploiting the student.",
            },
        },
    ),
    (
        "post",
        "/steps/parent_contact/not-applicable",
        {"reason": "Parent involved.", "details": {"victim_consulted": True}},
    ),
    ("post", "/escalate", {"pathway": "confirmed_victim", "reason": "Confirmed."}),
    ("put", "/check-in-plan", {"every_days": 7, "assignee": "counselor"}),
    ("post", "/check-ins", {"occurred_at": None, "method": "phone", "notes": "ok"}),
    ("post", "/notes", {"text": "A note."}),
    ("post", "/close", {"outcome": "Done."}),
]


def body_for(template: dict, version: int) -> dict:
    body = {key: (iso() if value is None else value) for key, value in template.items()}
    return body | {"version": version}


def test_it_answers_401_without_credentials(district, open_case):
    case = open_case()
    answer = APIClient().get(f"/api/v1/cases/{case.pk}")
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 401


def test_it_answers_401_for_a_revoked_or_wrong_token(district):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/cases").status_code == 401


@pytest.mark.parametrize(("method", "suffix", "template"), WRITES)
def test_it_hides_another_schools_case_from_every_write(
    api_as, open_case, method, suffix, template
):
    case = open_case()
    outsider = api_as("outsider_admin")
    before = Case.objects.get(pk=case.pk).version
    answer = getattr(outsider, method)(
        f"/api/v1/cases/{case.pk}{suffix}", body_for(template, case.version), format="json"
    )
    assert answer.status_code == 404, answer.json()
    assert answer.json()["detail"] == f"no case {case.pk}"
    assert Case.objects.get(pk=case.pk).version == before
    assert not Note.objects.exists() and not CheckIn.objects.exists()


def test_it_answers_404_for_reads_out_of_scope_exactly_as_for_a_missing_case(api_as, open_case):
    case = open_case()
    outsider = api_as("outsider_counselor")
    hidden = outsider.get(f"/api/v1/cases/{case.pk}")
    missing = outsider.get("/api/v1/cases/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]
    assert outsider.get(f"/api/v1/cases/{case.pk}/timeline").status_code == 404
    assert outsider.get("/api/v1/cases").json()["count"] == 0


# Notes and check-ins only add to a case, so a version is optional for them; when one is
# sent it is checked (see the If-Match test below).
VERSIONED_WRITES = [write for write in WRITES if write[1] not in ("/check-ins", "/notes")]


@pytest.mark.parametrize(("method", "suffix", "template"), VERSIONED_WRITES)
def test_it_refuses_a_stale_version_with_409_and_changes_nothing(
    api_as, open_case, method, suffix, template
):
    case = open_case()
    admin = api_as("site_admin")
    answer = getattr(admin, method)(
        f"/api/v1/cases/{case.pk}{suffix}", body_for(template, case.version + 5), format="json"
    )
    assert answer.status_code == 409, answer.json()
    assert answer.json()["current_version"] == case.version
    assert Case.objects.get(pk=case.pk).version == case.version


def test_it_honours_if_match_for_notes(api_as, open_case):
    case = open_case()
    admin = api_as("site_admin")
    stale = admin.post(
        f"/api/v1/cases/{case.pk}/notes", {"text": "x"}, format="json", HTTP_IF_MATCH='"99"'
    )
    assert stale.status_code == 409 and not Note.objects.exists()
    fresh = admin.post(
        f"/api/v1/cases/{case.pk}/notes",
        {"text": "x"},
        format="json",
        HTTP_IF_MATCH=f'"{case.version}"',
    )
    assert fresh.status_code == 201


def test_it_requires_a_version_on_case_writes(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/escalate",
        {"pathway": "confirmed_victim", "reason": "x"},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["errors"] == {
        "version": ["Send the case's current version (or If-Match)."]
    }


@pytest.mark.parametrize(
    ("username", "suffix", "template"),
    [
        ("counselor", "/escalate", {"pathway": "confirmed_victim", "reason": "x"}),
        ("counselor", "/facts", {"facts": {"reliable_evidence": True}}),
        ("counselor", "/close", {"outcome": "x"}),
        (
            "counselor",
            "/steps/police_involved/complete",
            {
                "occurred_at": None,
                "details": {
                    "agency": "sdpd",
                    "threat": "An adult outside school is exploiting the student.",
                },
            },
        ),
        (
            "school_police",
            "/steps/campus_impact/complete",
            {"occurred_at": None, "details": {"findings": "x", "other_students_involved": False}},
        ),
        (
            "district_coordinator",
            "/steps/le_trafficking_entry/complete",
            {"occurred_at": None, "details": {}},
        ),
    ],
)
def test_it_answers_403_when_the_role_may_not_act(api_as, open_case, username, suffix, template):
    case = open_case()
    answer = api_as(username).post(
        f"/api/v1/cases/{case.pk}{suffix}", body_for(template, case.version), format="json"
    )
    assert answer.status_code == 403, answer.json()
    assert Case.objects.get(pk=case.pk).version == case.version


@pytest.mark.parametrize(
    ("suffix", "body", "field"),
    [
        ("/facts", {"facts": {"nonsense": True}}, "facts.nonsense"),
        ("/facts", {"facts": {"abuse_or_neglect_suspected": False}}, "reason"),
        (
            "/steps/police_involved/complete",
            {
                "occurred_at": "soon",
                "details": {
                    "agency": "sdpd",
                    "threat": "An adult outside school is exploiting the student.",
                },
            },
            "occurred_at",
        ),
        (
            "/steps/police_involved/complete",
            {
                "details": {
                    "agency": "sdpd",
                    "threat": "An adult outside school is exploiting the student.",
                }
            },
            "occurred_at",
        ),
        (
            "/steps/police_involved/complete",
            {
                "occurred_at": "FUTURE",
                "details": {
                    "agency": "sdpd",
                    "threat": "An adult outside school is exploiting the student.",
                },
            },
            "occurred_at",
        ),
        (
            "/steps/police_involved/complete",
            {"occurred_at": None, "details": {"agency": "fbi"}},
            "details.agency",
        ),
        ("/steps/police_involved/complete", {"occurred_at": None, "details": {}}, "details.agency"),
        (
            "/steps/police_involved/complete",
            {
                "occurred_at": None,
                "details": {
                    "agency": "sdpd",
                    "badge": "1",
                    "threat": "An adult outside school is exploiting the student.",
                },
            },
            "details.badge",
        ),
        (
            "/steps/parent_contact/not-applicable",
            {"reason": "Parent involved."},
            "details.victim_consulted",
        ),
        ("/escalate", {"pathway": "no_such_pathway", "reason": "x"}, "pathway"),
        ("/check-in-plan", {"every_days": 0, "assignee": "counselor"}, "every_days"),
        ("/check-in-plan", {"every_days": 7, "assignee": "outsider_counselor"}, "assignee"),
        ("/check-ins", {"occurred_at": None, "method": "telepathy"}, "method"),
        ("/notes", {"text": ""}, "text"),
        ("/close", {"outcome": ""}, "outcome"),
    ],
)
def test_it_answers_400_naming_the_bad_field(api_as, open_case, suffix, body, field):
    case = open_case()
    body = {key: (iso() if value is None else value) for key, value in body.items()}
    if body.get("occurred_at") == "FUTURE":
        body["occurred_at"] = (timezone.now() + timedelta(hours=2)).isoformat()
    method = "put" if suffix == "/check-in-plan" else "post"
    answer = getattr(api_as("site_admin"), method)(
        f"/api/v1/cases/{case.pk}{suffix}", body | {"version": case.version}, format="json"
    )
    assert answer.status_code == 400, answer.json()
    assert answer["Content-Type"] == "application/problem+json"
    assert field in answer.json()["errors"], answer.json()
    assert Case.objects.get(pk=case.pk).version == case.version


def test_it_paginates_and_filters_the_case_list(api_as, open_case):
    for number in range(3):
        open_case("suspected_victim", sis_id=f"S-{number}")
    open_case("recruitment_by_student", sis_id="R-9")
    open_case("confirmed_victim", school="ROO", sis_id="R-10", by="outsider_admin")
    admin = api_as("site_admin")
    listed = admin.get("/api/v1/cases?pathway=suspected_victim").json()
    assert listed["count"] == 3 and {"next", "previous", "results"} <= set(listed)
    assert admin.get("/api/v1/cases?school=ROO").json()["count"] == 0
    coordinator = api_as("district_coordinator")
    assert coordinator.get("/api/v1/cases").json()["count"] == 5
    assert coordinator.get("/api/v1/cases?school=ROO").json()["count"] == 1
    assert coordinator.get("/api/v1/cases?overdue=true").json()["count"] == 0
    bad = coordinator.get("/api/v1/cases?status=maybe")
    assert bad.status_code == 400 and "status" in bad.json()["errors"]


def test_it_lists_overdue_cases_once_the_36_hour_clock_has_run(api_as, open_case):
    late = open_case(sis_id="S-late", suspicion_hours_ago=40)
    open_case(sis_id="S-fresh", suspicion_hours_ago=1)
    admin = api_as("site_admin")
    admin.post(
        f"/api/v1/cases/{late.pk}/facts",
        {"facts": {"abuse_or_neglect_suspected": True}, "version": late.version},
        format="json",
    )
    overdue = admin.get("/api/v1/cases?overdue=true").json()
    assert [item["id"] for item in overdue["results"]] == [late.pk]
    assert "cws_report" in overdue["results"][0]["overdue"]


def test_it_gives_each_role_the_answer_its_capabilities_allow(api_as, open_case):
    case = open_case("confirmed_victim")
    assert api_as("reporter").get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert api_as("auditor").get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert api_as("placement_office").get(f"/api/v1/cases/{case.pk}").status_code == 200
    victim = open_case("suspected_victim", sis_id="S-2")
    # The placement office sees only cases with a placement review.
    assert api_as("placement_office").get(f"/api/v1/cases/{victim.pk}").status_code == 404
    assert api_as("reporter").get("/api/v1/cases").status_code == 403

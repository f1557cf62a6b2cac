"""The mandated report cannot slip or be switched off (PC 11166), through the REST API.

The clock runs from the reporter's knowledge, the phone call is recorded alone, lateness is
visible for good, every action that could stop the report opens a review the coordinator
decides, and the reporter's own duty is theirs to record.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from safestep.accounts.models import Role, User
from safestep.audit.models import Disclosure, Event
from safestep.cases.models import Review, StepRecord

_now = {"at": timezone.now()}


@pytest.fixture(autouse=True)
def _one_now_per_test() -> None:
    """Every time in a test counts back from one moment, so "50 hours ago" is one instant."""
    _now["at"] = timezone.now()


def iso(hours_ago: float) -> str:
    return (_now["at"] - timedelta(hours=hours_ago)).isoformat()


def steps(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in body["steps"]}


def submit(client, *, observed_hours_ago: float = 3, **extra: Any) -> int:
    answer = client.post(
        "/api/v1/concerns",
        {
            "school": "LIN",
            "student": {"sis_id": "S-7", "first_name": "Ana", "last_name": "Lopez"},
            "observed_at": iso(observed_hours_ago),
            "description": "An older man collects her after school.",
            "indicators": [],
            **extra,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    return int(answer.json()["id"])


def open_from(client, concern_id: int, *, hours_ago: float, pathway: str = "suspected_victim"):
    return client.post(
        "/api/v1/cases",
        {
            "concern": concern_id,
            "pathway": pathway,
            "suspicion_formed_at": iso(hours_ago),
            "summary": "",
        },
        format="json",
    )


def case_of(client, case_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v1/cases/{case_id}")
    assert answer.status_code == 200, answer.json()
    return dict(answer.json())


def post(client, path: str, body: dict[str, Any], case: dict[str, Any] | None = None):
    if case is not None:
        body = {**body, "version": case["version"]}
    return client.post(path, body, format="json")


@pytest.fixture
def admin(api_as):
    return api_as("site_admin")


@pytest.fixture
def coordinator(api_as):
    return api_as("district_coordinator")


# --- the clock runs from knowledge --------------------------------------------------------


def test_it_makes_a_case_overdue_at_once_when_the_concern_was_seen_50_hours_ago(api_as, admin):
    concern_id = submit(api_as("reporter"), observed_hours_ago=50)
    opened = open_from(admin, concern_id, hours_ago=50)
    assert opened.status_code == 201, opened.json()
    report = steps(opened.json())["cws_report"]
    assert report["overdue"] is True
    due = datetime.fromisoformat(report["due_at"])
    assert abs((timezone.now() - due) - timedelta(hours=14)) < timedelta(minutes=1)


def test_it_refuses_to_start_the_clock_after_the_concern_was_observed(api_as, admin):
    concern_id = submit(api_as("reporter"), observed_hours_ago=50)
    refused = open_from(admin, concern_id, hours_ago=1)
    assert refused.status_code == 400
    assert "suspicion_formed_at" in refused.json()["errors"]
    assert Review.objects.count() == 0


def test_it_shows_a_waiting_concern_its_report_deadline(api_as, admin):
    reporter = api_as("reporter")
    concern_id = submit(reporter, observed_hours_ago=10)
    own = reporter.get(f"/api/v1/concerns/{concern_id}").json()
    due = datetime.fromisoformat(own["report_due_at"])
    assert abs((due - timezone.now()) - timedelta(hours=26)) < timedelta(minutes=1)
    queue = admin.get("/api/v1/concerns?status=submitted").json()["results"]
    assert queue[0]["report_due_at"] == own["report_due_at"]


def test_it_emails_the_schools_site_admins_when_a_concern_arrives(
    api_as, district, django_capture_on_commit_callbacks
):
    district["site_admin"].email = "principal@lin.example"
    district["site_admin"].save()
    district["outsider_admin"].email = "principal@roo.example"
    district["outsider_admin"].save()
    with django_capture_on_commit_callbacks(execute=True):
        submit(api_as("reporter"))
    recipients = [address for message in mail.outbox for address in message.to]
    assert recipients == ["principal@lin.example"]
    assert "Lopez" not in mail.outbox[0].body


def test_it_moves_the_clock_only_with_a_reason_and_a_review(api_as, admin, coordinator):
    concern_id = submit(api_as("reporter"), observed_hours_ago=20)
    case = open_from(admin, concern_id, hours_ago=20).json()
    later = post(
        admin,
        f"/api/v1/cases/{case['id']}/clock",
        {"suspicion_formed_at": iso(2), "reason": "typo"},
        case,
    )
    assert later.status_code == 400
    assert "suspicion_formed_at" in later.json()["errors"]
    moved = post(
        admin,
        f"/api/v1/cases/{case['id']}/clock",
        {"suspicion_formed_at": iso(30), "reason": "The teacher heard of it a day earlier."},
        case,
    )
    assert moved.status_code == 200, moved.json()
    review = Review.objects.get(case_id=case["id"])
    assert review.kind == "clock_moved"
    overruled = coordinator.post(
        f"/api/v1/reviews/{review.pk}/decide",
        {"decision": "overruled", "comment": "No evidence of earlier knowledge."},
        format="json",
    )
    assert overruled.status_code == 200, overruled.json()
    restored = case_of(admin, case["id"])
    assert restored["suspicion_formed_at"] == case["suspicion_formed_at"]


# --- the phone call, then the written report ------------------------------------------------


@pytest.fixture
def victim_case(api_as, admin):
    """A suspected victim's case at LIN, seen 3 hours ago, abuse suspected."""
    concern_id = submit(api_as("reporter"), observed_hours_ago=3)
    case = open_from(admin, concern_id, hours_ago=3).json()
    answered = post(
        admin,
        f"/api/v1/cases/{case['id']}/facts",
        {"facts": {"abuse_or_neglect_suspected": True}},
        case,
    )
    assert answered.status_code == 200, answered.json()
    return answered.json()


def test_it_records_the_phone_call_alone_and_keeps_the_written_deadline(admin, victim_case):
    case_id = victim_case["id"]
    called = post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/progress",
        {"details": {"agency": "cws", "phoned_at": iso(2), "reference": "CWS-1"}},
        victim_case,
    )
    assert called.status_code == 200, called.json()
    report = steps(called.json())["cws_report"]
    assert report["state"] == "in_progress"
    assert report["due_at"] == steps(victim_case)["cws_report"]["due_at"]
    assert "cws_report" in called.json()["unresolved"]

    # The written report needs only what the call did not already give.
    written = post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/complete",
        {"occurred_at": iso(1), "details": {"written_submitted_at": iso(1)}},
        called.json(),
    )
    assert written.status_code == 200, written.json()
    report = steps(written.json())["cws_report"]
    assert report["state"] == "done"
    assert report["late"] is False
    assert report["details"]["phoned_at"] and report["details"]["reference"] == "CWS-1"
    kept = StepRecord.objects.filter(case_id=case_id, step_id="cws_report").order_by("id")
    assert [(r.resolution, r.superseded) for r in kept] == [("in_progress", True), ("done", False)]


@pytest.mark.parametrize(
    ("details", "field"),
    [
        (
            {"agency": "cws", "phoned_at": iso(2), "written_submitted_at": iso(2.5)},
            "details.written_submitted_at",
        ),
        (
            {"agency": "cws", "phoned_at": iso(5), "written_submitted_at": iso(1)},
            "details.phoned_at",
        ),
        (
            {"agency": "cws", "phoned_at": iso(-1), "written_submitted_at": iso(1)},
            "details.phoned_at",
        ),
    ],
    ids=["written-before-the-call", "call-before-the-suspicion", "call-in-the-future"],
)
def test_it_refuses_report_times_that_contradict_each_other(admin, victim_case, details, field):
    refused = post(
        admin,
        f"/api/v1/cases/{victim_case['id']}/steps/cws_report/complete",
        {"occurred_at": iso(1), "details": details},
        victim_case,
    )
    assert refused.status_code == 400
    assert field in refused.json()["errors"], refused.json()
    assert not StepRecord.objects.filter(case_id=victim_case["id"], step_id="cws_report").exists()


def test_it_needs_a_reason_for_a_late_report_and_shows_it_late_for_good(api_as, admin):
    concern_id = submit(api_as("reporter"), observed_hours_ago=60)
    case = open_from(admin, concern_id, hours_ago=60).json()
    details = {"agency": "cws", "phoned_at": iso(59), "written_submitted_at": iso(1)}
    path = f"/api/v1/cases/{case['id']}/steps/cws_report/complete"
    refused = post(admin, path, {"occurred_at": iso(1), "details": details}, case)
    assert refused.status_code == 400
    assert "reason" in refused.json()["errors"]
    done = post(
        admin,
        path,
        {"occurred_at": iso(1), "details": details, "reason": "The principal was away."},
        case,
    )
    assert done.status_code == 200, done.json()
    report = steps(done.json())["cws_report"]
    assert (report["state"], report["late"], report["overdue"]) == ("done", True, False)
    assert done.json()["late"] == ["cws_report"]


# --- reviews with teeth -------------------------------------------------------------------


def test_it_opens_a_review_on_a_waiver_and_blocks_closing_until_decided(
    admin, coordinator, victim_case
):
    case_id = victim_case["id"]
    waived = post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/not-applicable",
        {"reason": "CWS already knows."},
        victim_case,
    )
    assert waived.status_code == 200, waived.json()
    body = waived.json()
    assert [(r["kind"], r["status"]) for r in body["reviews"]] == [("report_waived", "open")]
    assert body["needs_review"] is True

    refused = post(admin, f"/api/v1/cases/{case_id}/close", {"outcome": "done"}, body)
    assert refused.status_code == 409
    assert refused.json()["open_reviews"] == [body["reviews"][0]["id"]]

    listed = coordinator.get("/api/v1/reviews?status=open").json()
    assert [(item["case"], item["kind"], item["reason"]) for item in listed] == [
        (case_id, "report_waived", "CWS already knows.")
    ]
    assert admin.get("/api/v1/reviews").status_code == 403


def test_it_makes_the_report_due_again_when_a_waiver_is_overruled(admin, coordinator, victim_case):
    case_id = victim_case["id"]
    waived = post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/not-applicable",
        {"reason": "CWS already knows."},
        victim_case,
    ).json()
    review_id = waived["reviews"][0]["id"]
    assert (
        admin.post(
            f"/api/v1/reviews/{review_id}/decide", {"decision": "upheld"}, format="json"
        ).status_code
        == 403
    )
    needs_comment = coordinator.post(
        f"/api/v1/reviews/{review_id}/decide", {"decision": "overruled"}, format="json"
    )
    assert needs_comment.status_code == 400
    assert "comment" in needs_comment.json()["errors"]
    decided = coordinator.post(
        f"/api/v1/reviews/{review_id}/decide",
        {"decision": "overruled", "comment": "CWS must get the written report."},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    assert (decided.json()["status"], decided.json()["decision"]) == ("decided", "overruled")
    after = case_of(admin, case_id)
    report = steps(after)["cws_report"]
    assert report["state"] == "pending"
    assert report["due_at"] is not None
    assert after["needs_review"] is False
    again = coordinator.post(
        f"/api/v1/reviews/{review_id}/decide", {"decision": "upheld"}, format="json"
    )
    assert again.status_code == 409


def test_it_reviews_abuse_answered_not_suspected_and_restores_it_when_overruled(
    api_as, admin, coordinator
):
    concern_id = submit(api_as("reporter"))
    case = open_from(admin, concern_id, hours_ago=3).json()
    path = f"/api/v1/cases/{case['id']}/facts"
    no_reason = post(admin, path, {"facts": {"abuse_or_neglect_suspected": False}}, case)
    assert no_reason.status_code == 400
    answered = post(
        admin,
        path,
        {"facts": {"abuse_or_neglect_suspected": False}, "reason": "Student is 18."},
        case,
    ).json()
    assert steps(answered)["cws_report"]["state"] == "not_required"
    review = Review.objects.get(case_id=case["id"])
    assert review.kind == "abuse_not_suspected"
    coordinator.post(
        f"/api/v1/reviews/{review.pk}/decide",
        {"decision": "overruled", "comment": "Birth date says 16."},
        format="json",
    )
    after = case_of(admin, case["id"])
    assert after["facts"]["abuse_or_neglect_suspected"] is True
    assert steps(after)["cws_report"]["state"] == "pending"


def test_it_reviews_reopening_a_completed_report(admin, victim_case):
    case_id = victim_case["id"]
    done = post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/complete",
        {
            "occurred_at": iso(1),
            "details": {"agency": "cws", "phoned_at": iso(2), "written_submitted_at": iso(1)},
        },
        victim_case,
    ).json()
    reopened = post(
        admin, f"/api/v1/cases/{case_id}/steps/cws_report/reopen", {"reason": "Wrong agency."}, done
    )
    assert reopened.status_code == 200, reopened.json()
    assert [r["kind"] for r in reopened.json()["reviews"]] == ["report_reopened"]


def test_it_reviews_a_dismissed_concern_tells_the_reporter_and_can_send_it_back(
    api_as, district, admin, coordinator, django_capture_on_commit_callbacks
):
    district["reporter"].email = "teacher@lin.example"
    district["reporter"].save()
    concern_id = submit(api_as("reporter"))
    with django_capture_on_commit_callbacks(execute=True):
        dismissed = admin.post(
            f"/api/v1/concerns/{concern_id}/dismiss", {"reason": "Rumour only."}, format="json"
        )
    assert dismissed.status_code == 200
    told = [message for message in mail.outbox if "teacher@lin.example" in message.to]
    assert len(told) == 1
    assert "Rumour" not in told[0].body and "Lopez" not in told[0].body
    assert f"/concerns/{concern_id}/" in told[0].body

    review = Review.objects.get(concern_id=concern_id)
    assert review.kind == "concern_dismissed"
    coordinator.post(
        f"/api/v1/reviews/{review.pk}/decide",
        {"decision": "overruled", "comment": "Triage it properly."},
        format="json",
    )
    queue = admin.get("/api/v1/concerns?status=submitted").json()["results"]
    assert [item["id"] for item in queue] == [concern_id]


def test_it_never_lets_the_one_who_opened_a_review_decide_it(api_as, coordinator):
    concern_id = submit(api_as("reporter"))
    coordinator.post(
        f"/api/v1/concerns/{concern_id}/dismiss", {"reason": "Duplicate."}, format="json"
    )
    review = Review.objects.get(concern_id=concern_id)
    refused = coordinator.post(
        f"/api/v1/reviews/{review.pk}/decide", {"decision": "upheld"}, format="json"
    )
    assert refused.status_code == 403
    assert Review.objects.get(pk=review.pk).status == "open"


# --- steps a pathway always requires ----------------------------------------------------------


def test_it_refuses_to_waive_a_confirmed_victims_report(api_as, admin):
    concern_id = submit(api_as("reporter"))
    case = open_from(admin, concern_id, hours_ago=3, pathway="confirmed_victim").json()
    refused = post(
        admin,
        f"/api/v1/cases/{case['id']}/steps/cws_report/not-applicable",
        {"reason": "Police handle it."},
        case,
    )
    assert refused.status_code == 409
    assert steps(case_of(admin, case["id"]))["cws_report"]["may_not_apply"] is False


def test_it_asks_again_for_the_report_waived_before_escalation(admin, coordinator, victim_case):
    case_id = victim_case["id"]
    waived = post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/not-applicable",
        {"reason": "CWS already knows."},
        victim_case,
    ).json()
    escalated = post(
        admin,
        f"/api/v1/cases/{case_id}/escalate",
        {"pathway": "confirmed_victim", "reason": "SDPD confirmed it."},
        waived,
    )
    assert escalated.status_code == 200, escalated.json()
    report = steps(escalated.json())["cws_report"]
    assert report["state"] == "pending"
    refused = post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/not-applicable",
        {"reason": "Still known."},
        escalated.json(),
    )
    assert refused.status_code == 409


# --- the reporter's own duty ---------------------------------------------------------------


def test_it_lets_the_reporter_record_and_update_their_own_report(api_as, admin):
    reporter = api_as("reporter")
    concern_id = submit(reporter)
    path = f"/api/v1/concerns/{concern_id}/own-report"
    called = reporter.post(path, {"agency": "cws", "phoned_at": iso(2)}, format="json")
    assert called.status_code == 200, called.json()
    assert called.json()["own_report"]["agency"] == "cws"
    written = reporter.post(
        path,
        {"agency": "cws", "phoned_at": iso(2), "written_submitted_at": iso(1), "reference": "R-9"},
        format="json",
    )
    assert written.status_code == 200, written.json()
    assert written.json()["own_report"]["reference"] == "R-9"
    backwards = reporter.post(
        path,
        {"agency": "cws", "phoned_at": iso(2), "written_submitted_at": iso(2.5)},
        format="json",
    )
    assert backwards.status_code == 400
    assert "own_report.written_submitted_at" in backwards.json()["errors"]
    # Nobody else records it for them, and nobody else learns it exists.
    assert (
        admin.post(path, {"agency": "cws", "phoned_at": iso(2)}, format="json").status_code == 404
    )
    assert (
        api_as("counselor")
        .post(path, {"agency": "cws", "phoned_at": iso(2)}, format="json")
        .status_code
        == 404
    )
    logged = Disclosure.objects.filter(concern_id=concern_id).order_by("id")
    assert [(d.recipient, d.recipient_type, d.legal_basis) for d in logged] == [
        ("Child Welfare Services", "child_welfare", "canra_report"),
        ("Child Welfare Services", "child_welfare", "canra_report"),
    ]


def test_it_hides_a_withheld_reporter_from_every_school_staff_view(api_as, district, admin):
    teacher = User.objects.create_user(
        username="hwong",
        password="a long test password",
        role=Role.REPORTER,
        first_name="Helen",
        last_name="Wong",
    )
    teacher.schools.set([district.lin])
    district.users["hwong"] = teacher
    reporter = api_as("hwong")
    concern_id = submit(
        reporter,
        withhold_identity=True,
        own_report={"agency": "cws", "phoned_at": iso(2)},
    )
    case = open_from(admin, concern_id, hours_ago=3).json()
    counselor = api_as("counselor")
    staff_views = [
        admin.get("/api/v1/concerns"),
        admin.get(f"/api/v1/concerns/{concern_id}"),
        admin.get(f"/api/v1/cases/{case['id']}"),
        admin.get(f"/api/v1/cases/{case['id']}/timeline"),
        admin.get("/api/v1/students/S-7/disclosures"),
        counselor.get(f"/api/v1/cases/{case['id']}"),
        counselor.get(f"/api/v1/cases/{case['id']}/timeline"),
    ]
    for answer in staff_views:
        assert answer.status_code == 200, answer.content
        text = json.dumps(answer.json())
        assert "hwong" not in text and "Wong" not in text, text
    seen = admin.get(f"/api/v1/concerns/{concern_id}").json()
    assert seen["submitted_by"] == "a staff member"
    for role in ("district_coordinator", "school_police"):
        view = api_as(role).get(f"/api/v1/concerns/{concern_id}")
        if view.status_code == 200:
            assert view.json()["submitted_by"] == "hwong"
    log = api_as("district_coordinator").get("/api/v1/students/S-7/disclosures").json()
    assert [item["by"] for item in log] == ["hwong"]


# --- police judgements --------------------------------------------------------------------


def test_it_leaves_reliable_evidence_to_school_police(api_as, admin, victim_case):
    path = f"/api/v1/cases/{victim_case['id']}/facts"
    refused = post(admin, path, {"facts": {"reliable_evidence": True}}, victim_case)
    assert refused.status_code == 403
    answered = post(
        api_as("school_police"), path, {"facts": {"reliable_evidence": True}}, victim_case
    )
    assert answered.status_code == 200, answered.json()
    assert answered.json()["facts"]["reliable_evidence"] is True


def test_it_lets_only_school_police_reopen_a_police_only_step(api_as, admin, victim_case):
    police = api_as("school_police")
    case_id = victim_case["id"]
    involved = post(
        police,
        f"/api/v1/cases/{case_id}/steps/police_involved/complete",
        {"occurred_at": iso(2), "details": {"agency": "school_police"}},
        victim_case,
    ).json()
    entered = post(
        police,
        f"/api/v1/cases/{case_id}/facts",
        {"facts": {"reliable_evidence": True}},
        involved,
    ).json()
    done = post(
        police,
        f"/api/v1/cases/{case_id}/steps/le_trafficking_entry/complete",
        {"occurred_at": iso(1), "details": {"le_reference": "HT-5"}},
        entered,
    ).json()
    path = f"/api/v1/cases/{case_id}/steps/le_trafficking_entry/reopen"
    assert post(admin, path, {"reason": "mistake"}, done).status_code == 403
    assert (
        post(api_as("district_coordinator"), path, {"reason": "mistake"}, done).status_code == 403
    )
    assert post(police, path, {"reason": "Wrong reference."}, done).status_code == 200


# --- disclosures ----------------------------------------------------------------------------


def test_it_needs_the_threat_for_a_health_or_safety_disclosure_and_logs_it(admin, victim_case):
    path = f"/api/v1/cases/{victim_case['id']}/steps/police_involved/complete"
    refused = post(admin, path, {"occurred_at": iso(1), "details": {"agency": "sdpd"}}, victim_case)
    assert refused.status_code == 400
    assert "details.threat" in refused.json()["errors"]
    done = post(
        admin,
        path,
        {
            "occurred_at": iso(1),
            "details": {"agency": "sdpd", "threat": "An adult is trafficking the student."},
        },
        victim_case,
    )
    assert done.status_code == 200, done.json()
    log = admin.get("/api/v1/students/S-7/disclosures").json()
    assert [
        (item["recipient_type"], item["recipient_name"], item["basis"], item["threat"])
        for item in log
    ] == [
        (
            "law_enforcement",
            "San Diego Police Department",
            "ferpa_99_36",
            "An adult is trafficking the student.",
        )
    ]
    assert Event.objects.filter(action="disclosure.record", case_id=victim_case["id"]).count() == 1


def test_it_logs_the_phone_call_and_the_written_report_as_two_disclosures(admin, victim_case):
    case_id = victim_case["id"]
    called = post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/progress",
        {"details": {"agency": "sheriff", "phoned_at": iso(2)}},
        victim_case,
    ).json()
    post(
        admin,
        f"/api/v1/cases/{case_id}/steps/cws_report/complete",
        {"occurred_at": iso(1), "details": {"written_submitted_at": iso(1)}},
        called,
    )
    log = Disclosure.objects.filter(case_id=case_id).order_by("disclosed_at")
    assert [(d.recipient, d.recipient_type) for d in log] == [
        ("Sheriff's Department", "law_enforcement"),
        ("Sheriff's Department", "law_enforcement"),
    ]

"""Whole cases taken through the REST API as the right people, concern to closure."""

from __future__ import annotations

from django.utils import timezone

from safestep.cases.models import StepRecord
from safestep.testing import iso


def steps_by_id(body: dict) -> dict[str, dict]:
    return {step["id"]: step for step in body["steps"]}


def test_it_takes_a_suspected_victim_from_concern_to_closure(api_as):
    reporter, admin = api_as("reporter"), api_as("site_admin")
    counselor, police = api_as("counselor"), api_as("school_police")
    placement = api_as("placement_office")

    # A teacher reports what they saw, including their own call to CWS.
    answer = reporter.post(
        "/api/v1/concerns",
        {
            "school": "LIN",
            "student": {"sis_id": "900001", "first_name": "Ana", "last_name": "Lopez"},
            "observed_at": iso(5),
            "description": "Older man waits for her after school; new phone and nails.",
            "indicators": ["older_partner"],
            "own_report": {"agency": "cws", "phoned_at": iso(4), "reference": "CWS-77"},
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    concern_id = answer.json()["id"]
    assert answer.json()["status"] == "submitted"
    # The triager starts the clock when the teacher saw it, never later.
    answer_observed_at = reporter.get(f"/api/v1/concerns/{concern_id}").json()["observed_at"]

    # The principal finds it in the triage queue and opens a case from it.
    queue = admin.get("/api/v1/concerns?status=submitted").json()["results"]
    assert [item["id"] for item in queue] == [concern_id]
    opened = admin.post(
        "/api/v1/cases",
        {
            "concern": concern_id,
            "pathway": "suspected_victim",
            "suspicion_formed_at": answer_observed_at,
            "summary": "See concern.",
        },
        format="json",
    )
    assert opened.status_code == 201, opened.json()
    case = opened.json()
    case_id = case["id"]
    assert case["reference"].startswith(f"CSEC-{timezone.now().year}-")
    assert [step["id"] for step in case["steps"]] == [
        "police_involved",
        "cws_report",
        "campus_impact",
        "le_trafficking_entry",
        "parent_contact",
        "service_referral",
        "regular_contact",
    ]
    assert steps_by_id(case)["cws_report"]["state"] == "pending"  # fact not answered yet
    assert steps_by_id(case)["le_trafficking_entry"]["state"] == "waiting"
    # The reporter now sees only the status of their concern.
    mine = reporter.get("/api/v1/concerns").json()["results"]
    assert [(item["id"], item["status"]) for item in mine] == [(concern_id, "triaged")]
    assert "description" not in mine[0] and "case" not in mine[0]
    assert "dismissed_reason" not in mine[0] and "submitted_by" not in mine[0]
    assert reporter.get(f"/api/v1/cases/{case_id}").status_code == 404

    version = case["version"]
    facts = admin.post(
        f"/api/v1/cases/{case_id}/facts",
        {"facts": {"abuse_or_neglect_suspected": True}, "version": version},
        format="json",
    )
    assert facts.status_code == 200, facts.json()
    # School Police judge the evidence for the trafficking website.
    facts = police.post(
        f"/api/v1/cases/{case_id}/facts",
        {"facts": {"reliable_evidence": False}, "version": facts.json()["version"]},
        format="json",
    )
    assert facts.status_code == 200, facts.json()
    case = facts.json()
    assert case["facts"] == {"abuse_or_neglect_suspected": True, "reliable_evidence": False}
    assert steps_by_id(case)["le_trafficking_entry"]["state"] == "not_required"

    done = police.post(
        f"/api/v1/cases/{case_id}/steps/police_involved/complete",
        {
            "occurred_at": iso(4),
            "details": {"agency": "school_police", "officer": "Ofc. Diaz"},
            "version": case["version"],
        },
        format="json",
    )
    assert done.status_code == 200, done.json()
    case = done.json()

    # Closing early is refused, and the answer lists what is still open.
    early = admin.post(
        f"/api/v1/cases/{case_id}/close",
        {"outcome": "x", "version": case["version"]},
        format="json",
    )
    assert early.status_code == 409
    assert early["Content-Type"] == "application/problem+json"
    assert early.json()["unresolved"] == [
        "cws_report",
        "campus_impact",
        "parent_contact",
        "service_referral",
        "regular_contact",
    ]

    # A report to School Police alone is refused (PC 11165.9) and nothing changes.
    refused = counselor.post(
        f"/api/v1/cases/{case_id}/steps/cws_report/complete",
        {
            "occurred_at": iso(3),
            "details": {
                "agency": "school_police",
                "phoned_at": iso(4),
                "written_submitted_at": iso(3),
            },
            "version": case["version"],
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "PC 11165.9" in refused.json()["errors"]["details.agency"][0]
    assert not StepRecord.objects.filter(case_id=case_id, step_id="cws_report").exists()

    case = counselor.post(
        f"/api/v1/cases/{case_id}/steps/cws_report/complete",
        {
            "occurred_at": iso(3),
            "details": {
                "agency": "cws",
                "phoned_at": iso(4),
                "written_submitted_at": iso(3),
                "reference": "CWS-77",
            },
            "version": case["version"],
        },
        format="json",
    ).json()
    case = admin.post(
        f"/api/v1/cases/{case_id}/steps/campus_impact/complete",
        {
            "occurred_at": iso(2),
            "details": {"findings": "No other students found.", "other_students_involved": False},
            "version": case["version"],
        },
        format="json",
    ).json()

    no_reason = counselor.post(
        f"/api/v1/cases/{case_id}/steps/parent_contact/not-applicable",
        {"reason": " ", "details": {"victim_consulted": True}, "version": case["version"]},
        format="json",
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    case = counselor.post(
        f"/api/v1/cases/{case_id}/steps/parent_contact/not-applicable",
        {
            "reason": "The student says her stepfather arranges the meetings.",
            "details": {"victim_consulted": True},
            "version": case["version"],
        },
        format="json",
    ).json()
    assert steps_by_id(case)["parent_contact"]["state"] == "not_applicable"

    case = counselor.post(
        f"/api/v1/cases/{case_id}/steps/service_referral/complete",
        {
            "occurred_at": iso(1),
            "details": {
                "offered_to": "student",
                "services": ["School counseling", "Victim advocacy"],
                "response": "accepted",
            },
            "version": case["version"],
        },
        format="json",
    ).json()

    plan = counselor.put(
        f"/api/v1/cases/{case_id}/check-in-plan",
        {"every_days": 7, "assignee": "counselor", "version": case["version"]},
        format="json",
    )
    assert plan.status_code == 200, plan.json()
    case = plan.json()
    assert steps_by_id(case)["regular_contact"]["state"] == "done"
    assert case["check_in_plan"]["every_days"] == 7
    assert case["next_check_in_due"] is not None
    check_in = counselor.post(
        f"/api/v1/cases/{case_id}/check-ins",
        {"occurred_at": iso(0.5), "method": "in_person", "notes": "Attending class; calmer."},
        format="json",
    )
    assert check_in.status_code == 201

    # Confirmed: escalate to pathway C, and everything already done comes along.
    escalated = admin.post(
        f"/api/v1/cases/{case_id}/escalate",
        {
            "pathway": "confirmed_victim",
            "reason": "SDPD confirmed exploitation.",
            "version": case["version"],
        },
        format="json",
    )
    assert escalated.status_code == 200, escalated.json()
    case = escalated.json()
    states = {step["id"]: step["state"] for step in case["steps"]}
    assert states == {
        "police_involved": "done",
        "cws_report": "done",
        "campus_impact": "done",
        "police_investigation": "pending",
        "le_trafficking_entry": "pending",
        "parent_contact": "not_applicable",
        "placement_review": "pending",
        "service_referral": "done",
    }

    case = police.post(
        f"/api/v1/cases/{case_id}/steps/police_investigation/complete",
        {
            "occurred_at": iso(0.4),
            "details": {"agency": "sdpd", "unit": "Vice", "case_number": "SD-2026-123"},
            "version": case["version"],
        },
        format="json",
    ).json()
    case = police.post(
        f"/api/v1/cases/{case_id}/steps/le_trafficking_entry/complete",
        {
            "occurred_at": iso(0.3),
            "details": {"le_reference": "HT-991"},
            "version": case["version"],
        },
        format="json",
    ).json()
    placed = placement.post(
        f"/api/v1/cases/{case_id}/steps/placement_review/complete",
        {
            "occurred_at": iso(0.2),
            "details": {"decision": "stays", "reason": "Safety plan in place at this school."},
            "version": case["version"],
        },
        format="json",
    )
    assert placed.status_code == 200, placed.json()
    case = placed.json()

    closed = admin.post(
        f"/api/v1/cases/{case_id}/close",
        {"outcome": "Student safe, services accepted.", "version": case["version"]},
        format="json",
    )
    assert closed.status_code == 200, closed.json()
    assert closed.json()["status"] == "closed"
    after = counselor.post(f"/api/v1/cases/{case_id}/notes", {"text": "late note"}, format="json")
    assert after.status_code == 409

    timeline = admin.get(f"/api/v1/cases/{case_id}/timeline").json()
    actions = [event["action"] for event in timeline if event["action"] != "case.read"]
    assert actions[0] == "case.open" and actions[-1] == "case.close"
    assert "case.escalate" in actions and actions.count("step.complete") == 7


def test_it_links_a_recruitment_case_to_the_victims_case(api_as, open_case):
    admin = api_as("site_admin")
    victim = open_case("suspected_victim", sis_id="V-1")
    recruiter = open_case("recruitment_by_student", sis_id="R-1")

    linked = admin.post(
        f"/api/v1/cases/{recruiter.pk}/links",
        {"case": victim.pk, "relation": "recruited"},
        format="json",
    )
    assert linked.status_code == 201, linked.json()
    recruiter_view = admin.get(f"/api/v1/cases/{recruiter.pk}").json()
    victim_view = admin.get(f"/api/v1/cases/{victim.pk}").json()
    assert recruiter_view["links"] == [
        {"case": victim.pk, "reference": victim.reference, "relation": "recruited"}
    ]
    assert victim_view["links"] == [
        {"case": recruiter.pk, "reference": recruiter.reference, "relation": "recruited_by"}
    ]

    # Work the recruitment pathway to closure.
    version = recruiter_view["version"]
    for step_id, details in [
        (
            "police_involved",
            {
                "agency": "sdpd",
                "officer": "Det. Ruiz",
                "threat": "An adult outside school is exploiting the student.",
            },
        ),
        (
            "campus_impact",
            {"findings": "Recruited one student (linked).", "other_students_involved": True},
        ),
        (
            "school_consequences",
            {
                "consequence": "Suspension pending expulsion hearing.",
                "expulsion_recommended": True,
                "referred_for_criminal_investigation": True,
            },
        ),
    ]:
        answer = admin.post(
            f"/api/v1/cases/{recruiter.pk}/steps/{step_id}/complete",
            {"occurred_at": iso(1), "details": details, "version": version},
            format="json",
        )
        assert answer.status_code == 200, answer.json()
        version = answer.json()["version"]
    closed = admin.post(
        f"/api/v1/cases/{recruiter.pk}/close",
        {"outcome": "Expelled.", "version": version},
        format="json",
    )
    assert closed.status_code == 200, closed.json()

"""Who reads the trail, what they see, and the disclosure log."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from safestep.audit.models import Disclosure, Event
from safestep.cases import services


def test_it_gives_the_trail_to_auditors_and_coordinators_only(api_as, open_case):
    open_case()
    for username in ("auditor", "district_coordinator"):
        answer = api_as(username).get("/api/v1/audit")
        assert answer.status_code == 200, answer.json()
        assert answer.json()["count"] >= 1
    for username in ("site_admin", "counselor", "school_police", "reporter", "placement_office"):
        answer = api_as(username).get("/api/v1/audit")
        assert answer.status_code == 403
        assert answer["Content-Type"] == "application/problem+json"


def test_it_filters_by_case_actor_action_and_time(api_as, district, open_case):
    first, second = open_case(sis_id="A"), open_case(sis_id="B")
    api_as("counselor").get(f"/api/v1/cases/{second.pk}")
    auditor = api_as("auditor")
    by_case = auditor.get(f"/api/v1/audit?case={second.pk}").json()["results"]
    assert {row["case"] for row in by_case} == {second.pk}
    reads = auditor.get("/api/v1/audit?action=case.read&actor=counselor").json()["results"]
    assert [(row["case"], row["actor"]) for row in reads] == [(second.pk, "counselor")]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert auditor.get("/api/v1/audit", {"since": later}).json()["count"] == 0
    bad = auditor.get("/api/v1/audit?since=yesterday")
    assert bad.status_code == 400 and "since" in bad.json()["errors"]
    assert first.pk != second.pk


def test_it_shows_reasons_to_coordinators_but_not_to_auditors(api_as, district, open_case):
    case = open_case()
    services.step_mark_not_applicable(
        acting_user=district["counselor"],
        case_id=case.pk,
        step_id="parent_contact",
        reason="Stepfather arranges the meetings.",
        details={"victim_consulted": True},
        expected_version=case.version,
    )
    query = f"/api/v1/audit?case={case.pk}&action=step.not_applicable"
    coordinator = api_as("district_coordinator").get(query).json()["results"][0]
    auditor = api_as("auditor").get(query)
    assert coordinator["sensitive"] == {"reason": "Stepfather arranges the meetings."}
    assert "sensitive" not in auditor.json()["results"][0]
    assert "Stepfather" not in auditor.content.decode()
    # The reason is not stored readably in the trail itself.
    event = Event.objects.get(case_id=case.pk, action="step.not_applicable")
    assert "Stepfather" not in event.payload_json and "Stepfather" not in event.sealed


def test_it_keeps_the_timeline_to_the_cases_own_scope(api_as, open_case):
    case = open_case()
    assert api_as("outsider_admin").get(f"/api/v1/cases/{case.pk}/timeline").status_code == 404
    timeline = api_as("site_admin").get(f"/api/v1/cases/{case.pk}/timeline").json()
    assert {row["case"] for row in timeline} == {case.pk}


def test_it_records_reads_writes_and_refusals(api_as, open_case):
    case = open_case()
    api_as("counselor").get(f"/api/v1/cases/{case.pk}")
    api_as("outsider_admin").get(f"/api/v1/cases/{case.pk}")
    api_as("counselor").post(
        f"/api/v1/cases/{case.pk}/escalate",
        {"pathway": "confirmed_victim", "reason": "x", "version": case.version},
        format="json",
    )
    actions = list(Event.objects.filter(case_id=case.pk).values_list("action", "actor_username"))
    assert ("case.open", "site_admin") in actions
    assert ("case.read", "counselor") in actions
    assert ("access.not_found", "outsider_admin") in actions
    assert ("access.denied", "counselor") in actions


def test_it_records_sign_in_success_and_failure(client, district):
    client.post("/signin/", {"username": "reporter", "password": "wrong"})
    client.post("/signin/", {"username": "reporter", "password": "a long test password"})
    actions = list(
        Event.objects.filter(action__startswith="signin").values_list("action", flat=True)
    )
    assert actions[:2] == ["signin.failure", "signin.success"]
    failure = Event.objects.get(action="signin.failure")
    assert failure.payload == {"username": "reporter"} and "wrong" not in failure.payload_json


def test_it_logs_disclosures_outside_the_school_per_student(api_as, district, open_case):
    case = open_case("confirmed_victim", sis_id="D-1")
    when = timezone.now() - timedelta(hours=1)
    services.step_complete(
        acting_user=district["site_admin"],
        case_id=case.pk,
        step_id="police_involved",
        occurred_at=when,
        details={"agency": "school_police"},
        expected_version=case.version,
    )
    case.refresh_from_db()
    services.step_complete(
        acting_user=district["counselor"],
        case_id=case.pk,
        step_id="cws_report",
        occurred_at=when,
        details={
            "agency": "cws",
            "phoned_at": when.isoformat(),
            "written_submitted_at": when.isoformat(),
        },
        expected_version=case.version,
    )
    # School Police are part of the district: only the CWS report left the school.
    assert list(
        Disclosure.objects.values_list("step_id", "recipient", "recipient_type", "legal_basis")
    ) == [("cws_report", "Child Welfare Services", "child_welfare", "canra_report")]
    listed = api_as("district_coordinator").get("/api/v1/students/D-1/disclosures").json()
    assert [(row["step"], row["recipient_name"], row["basis"]) for row in listed] == [
        ("cws_report", "Child Welfare Services", "canra_report")
    ]
    assert api_as("site_admin").get("/api/v1/students/D-1/disclosures").status_code == 200
    # Another school's admin sees nothing of this student; an auditor may not look students up.
    outsider = api_as("outsider_admin").get("/api/v1/students/D-1/disclosures")
    assert (outsider.status_code, outsider.json()) == (200, [])
    assert api_as("auditor").get("/api/v1/students/D-1/disclosures").status_code == 403


def test_it_shows_the_auditor_page_only_to_those_who_read_the_trail(client, district, open_case):
    from safestep.accounts.testing import sign_in_client

    open_case()
    page = sign_in_client(client, district["auditor"]).get("/audit/")
    assert page.status_code == 200 and b"case.open" in page.content
    assert sign_in_client(client, district["counselor"]).get("/audit/").status_code == 403

"""A district's own protocol runs with no code change: a second definition, with step ids
of its own, keeps every safeguard the law attaches to the child abuse report.

The definition (``protocols/ca-generic.yaml``) lives with the tests and is never installed.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from safestep.audit.models import Event
from safestep.cases.models import Case
from safestep.definitions.selectors import protocol_active
from safestep.definitions.services import protocol_activate, protocol_load_file
from safestep.testing import iso

CA_GENERIC = Path(__file__).parent / "protocols" / "ca-generic.yaml"
REPORT_STEP = "report_to_cps"  # its child_abuse_report step


def steps_by_id(body: dict) -> dict[str, dict]:
    return {step["id"]: step for step in body["steps"]}


def pdf_text(content: bytes) -> str:
    """Everything a reader of the PDF sees: the page text and the filled form fields."""
    reader = PdfReader(io.BytesIO(content))
    parts = [page.extract_text() or "" for page in reader.pages]
    parts += [str(field.get("/V", "")) for field in (reader.get_fields() or {}).values()]
    return " ".join(" ".join(parts).split())


@pytest.fixture
def ca_generic(district):
    """The second protocol, loaded beside the shipped one."""
    return protocol_load_file(path=CA_GENERIC).version


def _concern(reporter, observed_at: str, indicators: list[str]) -> dict:
    answer = reporter.post(
        "/api/v1/concerns",
        {
            "school": "LIN",
            "student": {"sis_id": "700001", "first_name": "Rosa", "last_name": "Diaz"},
            "observed_at": observed_at,
            "description": "Bruises on both arms; she says she is afraid to go home.",
            "indicators": indicators,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()


def test_it_runs_a_case_from_concern_to_closure_on_another_districts_protocol(
    district, api_as, ca_generic
):
    reporter, admin = api_as("reporter"), api_as("site_admin")
    counselor, police = api_as("counselor"), api_as("school_police")
    coordinator = api_as("district_coordinator")

    # The district activates its own protocol; new concerns and cases follow it.
    activated = protocol_activate(
        acting_user=district["district_coordinator"], protocol_id="ca-generic", version=None
    )
    assert activated.pk == ca_generic.pk == protocol_active().pk
    assert Event.objects.filter(action="protocol.activate").count() == 1

    # A concern is screened with the active protocol's indicators, and its clock runs.
    observed_at = iso(5)
    concern = _concern(reporter, observed_at, ["afraid_to_go_home"])
    due = datetime.fromisoformat(observed_at) + timedelta(hours=36)
    assert datetime.fromisoformat(concern["report_due_at"]) == due

    # The case opens on the active protocol, on one of its own pathways.
    opened = admin.post(
        "/api/v1/cases",
        {
            "concern": concern["id"],
            "pathway": "abuse_suspected",
            "suspicion_formed_at": observed_at,
        },
        format="json",
    )
    assert opened.status_code == 201, opened.json()
    case = opened.json()
    case_id = case["id"]
    assert case["protocol"] == {"id": "ca-generic", "version": "2026-01"}
    assert [step["id"] for step in case["steps"]] == [
        "notify_police",
        REPORT_STEP,
        "support_plan",
    ]
    # The statutory clock: the report is due 36 hours after the teacher saw it.
    assert datetime.fromisoformat(steps_by_id(case)[REPORT_STEP]["due_at"]) == due

    case = police.post(
        f"/api/v1/cases/{case_id}/steps/notify_police/complete",
        {
            "occurred_at": iso(4),
            "details": {"agency": "school_police", "officer": "Ofc. Lam"},
            "version": case["version"],
        },
        format="json",
    ).json()
    assert steps_by_id(case)["notify_police"]["state"] == "done"

    # Waiving the report opens a review by the district coordinator.
    waived = counselor.post(
        f"/api/v1/cases/{case_id}/steps/{REPORT_STEP}/not-applicable",
        {"reason": "The family says it was a sports injury.", "version": case["version"]},
        format="json",
    )
    assert waived.status_code == 200, waived.json()
    case = waived.json()
    assert steps_by_id(case)[REPORT_STEP]["state"] == "not_applicable"
    assert case["needs_review"] is True
    reviews = coordinator.get("/api/v1/reviews?status=open").json()
    assert [(item["case"], item["kind"]) for item in reviews] == [(case_id, "report_waived")]

    # An open review keeps the case open.
    early = admin.post(
        f"/api/v1/cases/{case_id}/close",
        {"outcome": "Resolved.", "version": case["version"]},
        format="json",
    )
    assert early.status_code == 409

    # The coordinator overrules: the report is due again.
    decided = coordinator.post(
        f"/api/v1/reviews/{reviews[0]['id']}/decide",
        {"decision": "overruled", "comment": "Bruises on both arms need a report."},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    case = admin.get(f"/api/v1/cases/{case_id}").json()
    assert steps_by_id(case)[REPORT_STEP]["state"] == "pending"
    assert case["needs_review"] is False

    # A report to School Police alone is refused (PC 11165.9), naming the agency field.
    refused = counselor.post(
        f"/api/v1/cases/{case_id}/steps/{REPORT_STEP}/complete",
        {
            "occurred_at": iso(2),
            "details": {
                "agency": "school_police",
                "phoned_at": iso(3),
                "written_submitted_at": iso(2),
            },
            "version": case["version"],
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "PC 11165.9" in refused.json()["errors"]["details.agency"][0]

    reported = counselor.post(
        f"/api/v1/cases/{case_id}/steps/{REPORT_STEP}/complete",
        {
            "occurred_at": iso(2),
            "details": {
                "agency": "cps",
                "phoned_at": iso(3),
                "written_submitted_at": iso(2),
                "reference": "CPS-4411",
            },
            "version": case["version"],
        },
        format="json",
    )
    assert reported.status_code == 200, reported.json()
    case = reported.json()
    assert steps_by_id(case)[REPORT_STEP]["state"] == "done"

    # The SS 8572, filled from the step with the child abuse report role.
    pdf = counselor.get(f"/api/v1/cases/{case_id}/scar.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(pdf.streaming_content) if pdf.streaming else pdf.content)
    assert "Eastfield County Child Protective Services" in text
    assert "CPS-4411" in text

    case = counselor.post(
        f"/api/v1/cases/{case_id}/steps/support_plan/complete",
        {
            "occurred_at": iso(1),
            "details": {"plan": "Weekly check-ins with the counselor."},
            "version": case["version"],
        },
        format="json",
    ).json()
    closed = admin.post(
        f"/api/v1/cases/{case_id}/close",
        {"outcome": "Reported to CPS; support plan in place.", "version": case["version"]},
        format="json",
    )
    assert closed.status_code == 200, closed.json()
    assert closed.json()["status"] == "closed"


def test_it_opens_a_case_on_the_protocol_named_and_keeps_its_version(
    district, api_as, ca_generic, open_case
):
    admin = api_as("site_admin")
    # Nothing is activated: new cases follow the shipped protocol, as before.
    shipped = protocol_active()
    assert shipped.protocol_id != "ca-generic"
    before = open_case()
    assert before.protocol_id == shipped.pk

    named = admin.post(
        "/api/v1/cases",
        {
            "school": "LIN",
            "student": {"sis_id": "700002", "first_name": "Omar", "last_name": "Haddad"},
            "pathway": "abuse_disclosed",
            "suspicion_formed_at": iso(3),
            "protocol": "ca-generic",
        },
        format="json",
    )
    assert named.status_code == 201, named.json()
    assert named.json()["protocol"] == {"id": "ca-generic", "version": "2026-01"}

    # Activating another protocol changes no case already open.
    protocol_activate(acting_user=None, protocol_id="ca-generic", version="2026-01")
    before.refresh_from_db()
    assert before.protocol_id == shipped.pk
    assert Case.objects.get(pk=named.json()["id"]).protocol_id == ca_generic.pk
    # ... and a case may still be opened on the shipped one by name.
    shipped_case = admin.post(
        "/api/v1/cases",
        {
            "school": "LIN",
            "student": {"sis_id": "700003", "first_name": "Lia", "last_name": "Chen"},
            "pathway": "suspected_victim",
            "suspicion_formed_at": iso(3),
            "protocol": shipped.protocol_id,
        },
        format="json",
    )
    assert shipped_case.status_code == 201, shipped_case.json()
    # Without a protocol, the shipped pathway is unknown to the active one.
    unnamed = admin.post(
        "/api/v1/cases",
        {
            "school": "LIN",
            "student": {"sis_id": "700004", "first_name": "Lia", "last_name": "Chen"},
            "pathway": "suspected_victim",
            "suspicion_formed_at": iso(3),
        },
        format="json",
    )
    assert unnamed.status_code == 400
    assert "abuse_suspected" in unnamed.json()["errors"]["pathway"][0]


def test_it_refuses_an_unknown_protocol_naming_it(api_as, ca_generic):
    answer = api_as("site_admin").post(
        "/api/v1/cases",
        {
            "school": "LIN",
            "student": {"sis_id": "700005", "first_name": "Ana", "last_name": "Lopez"},
            "pathway": "abuse_suspected",
            "suspicion_formed_at": iso(3),
            "protocol": "no-such-protocol",
        },
        format="json",
    )
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert list(answer.json()["errors"]) == ["protocol"]
    assert not Case.objects.exists()


def test_it_screens_concerns_with_the_active_protocols_indicators(district, api_as, ca_generic):
    reporter = api_as("reporter")
    # The shipped protocol does not know this district's indicators ...
    refused = reporter.post(
        "/api/v1/concerns",
        {
            "school": "LIN",
            "student": {"sis_id": "700006", "first_name": "Rosa", "last_name": "Diaz"},
            "observed_at": iso(2),
            "description": "Afraid to go home.",
            "indicators": ["afraid_to_go_home"],
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "indicators" in refused.json()["errors"]
    # ... until the district activates its protocol.
    protocol_activate(acting_user=None, protocol_id="ca-generic", version=None)
    _concern(reporter, iso(2), ["afraid_to_go_home"])

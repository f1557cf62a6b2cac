"""The pre-filled SS 8572: read back from the PDF as a CWS worker would read it."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Case
from safestep.reports.scar import scar_form

DESCRIPTION = "An older man collects her at the gate most days and she has a new phone."
SUMMARY = "Seen with an unknown adult after school on three days."


NOW = timezone.now()


def ago(**delta: float) -> datetime:
    """A moment before the module's fixed "now", so times given together keep their order."""
    return NOW - timedelta(**delta)


def local(moment: datetime) -> str:
    """A time as the form prints it: local, to the minute."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


HEADER = "CONFIDENTIAL: NOT PART OF THE PUPIL RECORD"
FOOTER = "Confidential: not part of the pupil record. Suspected child abuse reports"


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def pdf_text(content: bytes) -> str:
    """The form's text without the running header and footer, on single spaces (text
    that runs onto the next page reads on)."""
    lines = [
        line
        for page in pdf_pages(content)
        for line in page.splitlines()
        if not line.startswith((HEADER, FOOTER))
    ]
    return " ".join(" ".join(lines).split())


def complete(
    district,
    case: Case,
    step_id: str,
    details: dict,
    *,
    by: str,
    hours_ago: float,
    reason: str = "",
) -> None:
    case.refresh_from_db()
    services.step_complete(
        acting_user=district[by],
        case_id=case.pk,
        step_id=step_id,
        occurred_at=ago(hours=hours_ago),
        details=details,
        expected_version=case.version,
        reason=reason,
    )


@pytest.fixture
def reported_case(district) -> Case:
    """A confirmed victim's case from a teacher's concern, with the report steps done and
    police-only records that must never reach the form."""
    reporter = district["reporter"]
    reporter.first_name, reporter.last_name = "Dana", "Whitfield"
    reporter.save()
    concern = services.concern_submit(
        acting_user=reporter,
        school_code="LIN",
        student=services.StudentInput(
            sis_id="SIS-448812",
            first_name="Ánh",
            last_name="Nguyễn",
            birth_date=date(2010, 4, 2),
            grade="10",
        ),
        observed_at=ago(hours=30),
        description=DESCRIPTION,
        indicators=["older_partner", "unexplained_possessions"],
        own_report={"agency": "cws", "phoned_at": ago(hours=29).isoformat()},
    )
    case = services.case_open(
        acting_user=district["site_admin"],
        pathway="confirmed_victim",
        suspicion_formed_at=ago(hours=30),
        summary=SUMMARY,
        concern_id=concern.pk,
    )
    complete(
        district,
        case,
        "police_involved",
        {
            "agency": "sdpd",
            "officer": "Officer R. Diaz",
            "police_report_number": "PR-2026-0077",
            # Telling SDPD discloses the student's record under the health-or-safety exception.
            "threat": "An adult appears to be exploiting the student.",
        },
        by="site_admin",
        hours_ago=28,
    )
    complete(
        district,
        case,
        "cws_report",
        {
            "agency": "cws",
            "phoned_at": ago(hours=29).isoformat(),
            "written_submitted_at": ago(hours=5).isoformat(),
            "reference": "CWS-REF-4411",
        },
        by="counselor",
        hours_ago=29,
    )
    complete(
        district,
        case,
        "parent_contact",
        {
            "victim_consulted": True,
            "contacted_person": "Mai Nguyễn",
            "relationship": "aunt",
            "method": "phone",
        },
        by="counselor",
        hours_ago=4,
    )
    complete(
        district,
        case,
        "police_investigation",
        {"agency": "sdpd", "unit": "HIDDEN-UNIT-ALPHA", "case_number": "POLICE-ONLY-9931"},
        by="school_police",
        hours_ago=3,
    )
    complete(
        district,
        case,
        "le_trafficking_entry",
        {"le_reference": "LE-SECRET-5520"},
        by="school_police",
        hours_ago=2,
    )
    case.refresh_from_db()
    return case


def test_it_fills_every_section_from_the_case_the_concern_and_the_steps(api_as, reported_case):
    answer = api_as("site_admin").get(f"/api/v1/cases/{reported_case.pk}/scar.pdf")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    text = pdf_text(answer.content)
    for heading in (
        "A. REPORTING PARTY",
        "B. REPORT NOTIFICATION",
        "C. VICTIM (ONE REPORT PER VICTIM)",
        "D. INVOLVED PARTIES",
        "E. INCIDENT INFORMATION",
    ):
        assert heading in text
    for value in (
        "Dana Whitfield",  # A: the teacher who formed the suspicion
        "School employee (PC 11165.7)",
        "Lincoln High School",
        "Child Welfare Services (county)",  # B
        "CWS-REF-4411",
        "San Diego Police Department, contact: Officer R. Diaz, report no. PR-2026-0077",
        "Nguyễn, Ánh",  # C: the name as the SIS spells it, accents and all
        "2010-04-02",
        "Sexual abuse: commercial sexual exploitation (PC 11165.1)",
        "Mai Nguyễn (aunt), informed by phone",  # D
        DESCRIPTION,  # E
        SUMMARY,
        "Talks about an older boyfriend",  # an indicator, in the protocol's words
    ):
        assert value in text, value
    assert "PC 11167(a)" in text  # an incomplete form must still be sent
    pages = pdf_pages(answer.content)
    for page in pages:  # marked on every page, top and bottom
        assert HEADER in page
        assert FOOTER in page


def test_it_never_prints_police_only_details(api_as, reported_case):
    for username in ("site_admin", "district_coordinator"):
        text = pdf_text(api_as(username).get(f"/api/v1/cases/{reported_case.pk}/scar.pdf").content)
        for secret in ("HIDDEN-UNIT-ALPHA", "POLICE-ONLY-9931", "LE-SECRET-5520"):
            assert secret not in text


def test_it_leaves_what_safestep_does_not_know_blank(district, open_case):
    case = open_case("suspected_victim")
    form = scar_form(Case.objects.get(pk=case.pk), user=district["site_admin"], now=timezone.now())
    fields = {f"{s.letter}:{f.label}": f.value for s in form.sections for f in s.fields}
    assert fields["C:Name (last, first)"] == "Lopez, Ana"
    assert fields["C:School"] == "Lincoln High School"
    # No concern, no report made yet: the rest is for the reporter to fill in by hand.
    for blank in (
        "A:Name of mandated reporter",
        "A:Signature",
        "B:Report made to (agency)",
        "B:Agency reference number",
        "C:Sex",
        "C:Address",
        "D:Suspect (name, birth date, sex, ethnicity)",
        "E:Place of incident",
    ):
        assert fields[blank] == "", blank
    assert fields["B:Written report due (36 hours after the suspicion)"] != ""


def test_it_prefills_the_reporters_own_call_until_the_step_is_done(district, api_as, reported_case):
    concern_only = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        student=services.StudentInput(sis_id="S-77", first_name="Lea", last_name="Park"),
        observed_at=ago(hours=3),
        description="Bruises and a new tattoo she will not explain.",
        indicators=[],
        own_report={"agency": "sdpd", "phoned_at": ago(hours=2).isoformat(), "reference": "R-9"},
    )
    case = services.case_open(
        acting_user=district["site_admin"],
        pathway="suspected_victim",
        suspicion_formed_at=ago(hours=3),
        summary="",
        concern_id=concern_only.pk,
    )
    text = pdf_text(api_as("site_admin").get(f"/api/v1/cases/{case.pk}/scar.pdf").content)
    assert "San Diego Police Department" in text
    assert "R-9" in text


def test_it_records_each_generation_in_the_audit_trail(api_as, reported_case):
    client = api_as("district_coordinator")
    client.get(f"/api/v1/cases/{reported_case.pk}/scar.pdf")
    client.get(f"/api/v1/cases/{reported_case.pk}/scar.pdf")
    events = Event.objects.filter(action="scar.generate", case_id=reported_case.pk)
    assert events.count() == 2
    assert {event.actor_username for event in events} == {"district_coordinator"}
    assert all(event.payload["reference"] == reported_case.reference for event in events)


def test_it_names_the_file_by_case_reference_never_by_the_student(api_as, reported_case):
    answer = api_as("site_admin").get(f"/api/v1/cases/{reported_case.pk}/scar.pdf")
    disposition = answer["Content-Disposition"]
    assert reported_case.reference in disposition
    assert "Nguy" not in disposition
    assert answer["Cache-Control"] == "no-store"


@pytest.mark.parametrize("username", ["outsider_admin", "reporter", "auditor"])
def test_it_answers_404_for_a_case_outside_the_users_scope(api_as, reported_case, username):
    answer = api_as(username).get(f"/api/v1/cases/{reported_case.pk}/scar.pdf")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"
    assert not Event.objects.filter(action="scar.generate").exists()


@pytest.mark.parametrize("username", ["school_police", "placement_office"])
def test_it_answers_403_to_a_role_that_sees_the_case_but_does_not_generate_it(
    api_as, reported_case, username
):
    answer = api_as(username).get(f"/api/v1/cases/{reported_case.pk}/scar.pdf")
    assert answer.status_code == 403
    assert answer["Content-Type"] == "application/problem+json"


def test_it_lets_a_counselor_generate_the_case_form(api_as, reported_case):
    # A counselor may make the report, so may print its form.
    answer = api_as("counselor").get(f"/api/v1/cases/{reported_case.pk}/scar.pdf")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    text = pdf_text(answer.content)
    assert "Nguyễn, Ánh" in text
    assert "CWS-REF-4411" in text
    event = Event.objects.get(action="scar.generate", case_id=reported_case.pk)
    assert event.actor_username == "counselor"


def test_it_answers_404_for_a_case_that_does_not_exist(api_as, district):
    assert api_as("district_coordinator").get("/api/v1/cases/999999/scar.pdf").status_code == 404


def test_it_refuses_a_recruitment_case_which_reports_no_victim(api_as, open_case):
    case = open_case("recruitment_by_student")
    answer = api_as("site_admin").get(f"/api/v1/cases/{case.pk}/scar.pdf")
    assert answer.status_code == 409
    assert "SS 8572" in answer.json()["detail"]


def test_it_answers_a_client_that_asks_for_a_pdf(api_as, reported_case, district):
    client = api_as("site_admin")
    ok = client.get(f"/api/v1/cases/{reported_case.pk}/scar.pdf", HTTP_ACCEPT="application/pdf")
    assert ok.status_code == 200
    assert ok.content.startswith(b"%PDF")
    refused = api_as("school_police").get(
        f"/api/v1/cases/{reported_case.pk}/scar.pdf", HTTP_ACCEPT="application/pdf"
    )
    assert refused.status_code == 403
    assert refused.json()["status"] == 403

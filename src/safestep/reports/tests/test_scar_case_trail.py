"""The case's SS 8572 as the report progresses: the phone call alone, a late or overdue
written report, and a reporter who withheld their identity from school staff."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from safestep.accounts.models import Role, User
from safestep.cases import services
from safestep.cases.models import Case
from safestep.reports.tests.test_scar import local, pdf_text
from safestep.testing import ago

WITHHELD = "Withheld at the reporter's request (PC 11166(i)(2))"
LATE_REASON = "The counselor who took the call was out sick the next day."


def form_text(api_as: Any, username: str, case: Case) -> str:
    answer = api_as(username).get(f"/api/v1/cases/{case.pk}/scar.pdf")
    assert answer.status_code == 200, answer.content
    return pdf_text(answer.content)


def pdf_everything(content: bytes) -> str:
    """All the text a reader of the file could find: the pages and the document's metadata."""
    reader = PdfReader(io.BytesIO(content))
    metadata = " ".join(str(value) for value in (reader.metadata or {}).values())
    return " ".join(page.extract_text() for page in reader.pages) + " " + metadata


def phone_in(district: Any, case: Case, *, by: str, agency: str, phoned_at: datetime) -> None:
    case.refresh_from_db()
    services.step_progress(
        acting_user=district[by],
        case_id=case.pk,
        step_id="cws_report",
        details={"agency": agency, "phoned_at": phoned_at.isoformat()},
        expected_version=case.version,
    )


def send_written(district: Any, case: Case, *, by: str, sent: datetime, reason: str = "") -> None:
    case.refresh_from_db()
    services.step_complete(
        acting_user=district[by],
        case_id=case.pk,
        step_id="cws_report",
        occurred_at=sent,
        details={"written_submitted_at": sent.isoformat(), "reference": "CWS-77"},
        expected_version=case.version,
        reason=reason,
    )


@pytest.fixture
def counselor(district: Any) -> User:
    counselor = district["counselor"]
    counselor.first_name, counselor.last_name = "Sam", "Ortiz"
    counselor.save()
    return counselor


# --- the phone call before the written report --------------------------------------------


def test_it_puts_the_phone_call_on_the_form_before_the_written_report(
    api_as, district, open_case, counselor
):
    case = open_case("confirmed_victim", suspicion_hours_ago=4)
    phoned_at = ago(hours=3)
    phone_in(district, case, by="counselor", agency="sdpd", phoned_at=phoned_at)
    text = form_text(api_as, "site_admin", case)
    assert "Report made to (agency) San Diego Police Department" in text
    assert f"Date and time of telephone report {local(phoned_at)}" in text
    assert "Written report (this form) sent Written report due" in text  # not sent yet: blank
    # No concern on this case: the person who phoned it in is the reporting party.
    assert "Name of mandated reporter Sam Ortiz" in text
    assert "overdue" not in text and "Written report late" not in text


# --- lateness ------------------------------------------------------------------------------


def test_it_shows_a_late_written_report_and_why(api_as, district, open_case, counselor):
    case = open_case("confirmed_victim", suspicion_hours_ago=50)
    phone_in(district, case, by="counselor", agency="cws", phoned_at=ago(hours=49))
    sent = ago(hours=2)
    send_written(district, case, by="counselor", sent=sent, reason=LATE_REASON)
    case.refresh_from_db()
    due = case.suspicion_formed_at + timedelta(hours=36)
    for username in ("site_admin", "counselor", "district_coordinator"):
        text = form_text(api_as, username, case)
        assert f"Written report late yes — sent {local(sent)}, due {local(due)}" in text
        assert f"Reason the report was late {LATE_REASON}" in text


def test_it_says_nothing_of_lateness_for_a_report_sent_on_time(api_as, district, open_case):
    case = open_case("confirmed_victim", suspicion_hours_ago=20)
    phone_in(district, case, by="counselor", agency="cws", phoned_at=ago(hours=19))
    sent = ago(hours=1)
    send_written(district, case, by="counselor", sent=sent)
    text = form_text(api_as, "site_admin", case)
    assert f"Written report (this form) sent {local(sent)}" in text
    assert "Written report late" not in text
    assert "overdue" not in text


def test_it_shows_a_written_report_overdue_after_the_call(api_as, district, open_case):
    case = open_case("confirmed_victim", suspicion_hours_ago=40)
    phone_in(district, case, by="counselor", agency="cws", phoned_at=ago(hours=39))
    case.refresh_from_db()
    due = case.suspicion_formed_at + timedelta(hours=36)
    text = form_text(api_as, "site_admin", case)
    assert f"Written report overdue since {local(due)}" in text


def test_it_shows_a_report_overdue_that_nobody_has_made(api_as, open_case):
    case = open_case("confirmed_victim", suspicion_hours_ago=40)
    case.refresh_from_db()
    due = case.suspicion_formed_at + timedelta(hours=36)
    assert f"Written report overdue since {local(due)}" in form_text(api_as, "site_admin", case)


# --- a reporter who withheld their identity ------------------------------------------------


@pytest.fixture
def withheld_case(district: Any) -> Case:
    """A teacher's concern, reported with their identity withheld from school staff."""
    teacher = User.objects.create_user(
        username="dwhitfield",
        password="a long test password",
        role=Role.REPORTER,
        first_name="Dana",
        last_name="Whitfield",
    )
    teacher.schools.set([district.lin])
    concern = services.concern_submit(
        acting_user=teacher,
        school_code="LIN",
        student=services.StudentInput(
            sis_id="SIS-7001", first_name="Rosa", last_name="Alvarez", birth_date=date(2010, 1, 5)
        ),
        observed_at=ago(hours=6),
        description="Her boyfriend is much older and she has hotel key cards in her bag.",
        indicators=["older_partner"],
        own_report={"agency": "cws", "phoned_at": ago(hours=5).isoformat()},
        withhold_identity=True,
    )
    return services.case_open(
        acting_user=district["site_admin"],
        pathway="suspected_victim",
        suspicion_formed_at=concern.observed_at,
        summary="",
        concern_id=concern.pk,
    )


def assert_reporter_absent(content: bytes) -> None:
    text = pdf_everything(content)
    for identifying in ("dwhitfield", "Whitfield", "Dana"):
        assert identifying not in text, identifying


@pytest.mark.parametrize("username", ["site_admin", "counselor"])
def test_it_withholds_the_reporters_name_from_school_staff(api_as, withheld_case, username):
    answer = api_as(username).get(f"/api/v1/cases/{withheld_case.pk}/scar.pdf")
    assert answer.status_code == 200
    assert_reporter_absent(answer.content)
    text = pdf_text(answer.content)
    assert f"Name of mandated reporter Note {WITHHELD}" in text
    # What the reporter did is still reported; only who they are is withheld.
    assert "Report made to (agency) Child Welfare Services (county)" in text


def test_it_names_whoever_recorded_the_report_instead_of_a_withheld_reporter(
    api_as, district, withheld_case, counselor
):
    phone_in(district, withheld_case, by="counselor", agency="cws", phoned_at=ago(hours=4))
    content = api_as("site_admin").get(f"/api/v1/cases/{withheld_case.pk}/scar.pdf").content
    assert_reporter_absent(content)
    text = pdf_text(content)
    assert "Name of mandated reporter Sam Ortiz Title Counselor" in text
    assert WITHHELD not in text


def test_it_never_names_a_withheld_reporter_who_also_made_the_report(api_as, district):
    # The counselor reported the concern, withheld their name, then phoned CWS themselves:
    # naming the person who recorded the call would name the reporter.
    counselor = district["counselor"]
    counselor.first_name, counselor.last_name = "Sam", "Ortiz"
    counselor.save()
    concern = services.concern_submit(
        acting_user=counselor,
        school_code="LIN",
        student=services.StudentInput(sis_id="SIS-7002", first_name="Eva", last_name="Cruz"),
        observed_at=ago(hours=6),
        description="She is picked up by different adult men every afternoon.",
        indicators=[],
        withhold_identity=True,
    )
    case = services.case_open(
        acting_user=district["site_admin"],
        pathway="suspected_victim",
        suspicion_formed_at=concern.observed_at,
        summary="",
        concern_id=concern.pk,
    )
    phone_in(district, case, by="counselor", agency="cws", phoned_at=ago(hours=5))
    content = api_as("site_admin").get(f"/api/v1/cases/{case.pk}/scar.pdf").content
    text = pdf_everything(content)
    for identifying in ("counselor", "Ortiz", "Sam "):  # the username, the name
        assert identifying not in text, identifying
    # Nor the title, which would narrow it down to the school's counselors.
    assert f"Name of mandated reporter Note {WITHHELD} Title Mandated" in pdf_text(content)


def test_it_shows_a_withheld_reporter_to_the_district_coordinator(api_as, withheld_case):
    text = form_text(api_as, "district_coordinator", withheld_case)
    assert "Name of mandated reporter Dana Whitfield" in text
    assert WITHHELD not in text

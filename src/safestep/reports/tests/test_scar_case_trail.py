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
from safestep.reports.services import scar_generate
from safestep.reports.tests.test_scar import local, pdf_text
from safestep.testing import ago

WITHHELD = "Withheld at the reporter's request (PC 11166(i)(2))"
LATE_REASON = "The counselor who took the call was out sick the next day."


def form_pdf(district: Any, username: str, case: Case) -> bytes:
    return scar_generate(acting_user=district[username], case_id=case.pk).content


def form_text(district: Any, username: str, case: Case) -> str:
    return pdf_text(form_pdf(district, username, case))


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
    district, open_case, counselor
):
    case = open_case("confirmed_victim", suspicion_hours_ago=4)
    phoned_at = ago(hours=3)
    phone_in(district, case, by="counselor", agency="sdpd", phoned_at=phoned_at)
    text = form_text(district, "site_admin", case)
    assert "☒ Law enforcement ☐ County probation ☐ County welfare / CPS" in text
    assert "Agency name San Diego Police Department" in text
    assert f"Date / time of phone call {local(phoned_at)}" in text
    # Not sent yet: blank.
    assert "Written report (this form) sent Added by SafeStep" in text
    # The person who phoned it in is the reporting party, whoever prints the form.
    assert "Name of mandated reporter Sam Ortiz Title / position Counselor" in text
    assert "overdue" not in text and "Written report late" not in text


def test_it_names_whoever_prints_the_form_before_the_report_is_made(district, open_case):
    case = open_case("confirmed_victim", suspicion_hours_ago=4)
    coordinator = district["district_coordinator"]
    coordinator.first_name, coordinator.last_name = "Lee", "Park"
    coordinator.save()
    text = form_text(district, "district_coordinator", case)
    assert "Name of mandated reporter Lee Park Title / position District coordinator" in text


# --- lateness ------------------------------------------------------------------------------


def test_it_shows_a_late_written_report_and_why(district, open_case, counselor):
    case = open_case("confirmed_victim", suspicion_hours_ago=50)
    phone_in(district, case, by="counselor", agency="cws", phoned_at=ago(hours=49))
    sent = ago(hours=2)
    send_written(district, case, by="counselor", sent=sent, reason=LATE_REASON)
    case.refresh_from_db()
    due = case.suspicion_formed_at + timedelta(hours=36)
    for username in ("site_admin", "counselor", "district_coordinator"):
        text = form_text(district, username, case)
        assert f"Written report late: yes — sent {local(sent)}, due {local(due)}" in text
        assert f"Reason the report was late: {LATE_REASON}" in text


def test_it_says_nothing_of_lateness_for_a_report_sent_on_time(district, open_case):
    case = open_case("confirmed_victim", suspicion_hours_ago=20)
    phone_in(district, case, by="counselor", agency="cws", phoned_at=ago(hours=19))
    sent = ago(hours=1)
    send_written(district, case, by="counselor", sent=sent)
    text = form_text(district, "site_admin", case)
    assert f"Written report (this form) sent {local(sent)}" in text
    assert "Agency report number CWS-77" in text
    assert "Written report late" not in text
    assert "overdue" not in text


def test_it_shows_a_written_report_overdue_after_the_call(district, open_case):
    case = open_case("confirmed_victim", suspicion_hours_ago=40)
    phone_in(district, case, by="counselor", agency="cws", phoned_at=ago(hours=39))
    case.refresh_from_db()
    due = case.suspicion_formed_at + timedelta(hours=36)
    text = form_text(district, "site_admin", case)
    assert f"Written report overdue since: {local(due)}" in text


def test_it_shows_a_report_overdue_that_nobody_has_made(district, open_case):
    case = open_case("confirmed_victim", suspicion_hours_ago=40)
    case.refresh_from_db()
    due = case.suspicion_formed_at + timedelta(hours=36)
    text = form_text(district, "site_admin", case)
    assert f"Written report overdue since: {local(due)}" in text


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
def test_it_withholds_the_reporters_name_from_school_staff(district, withheld_case, username):
    content = form_pdf(district, username, withheld_case)
    assert_reporter_absent(content)
    text = pdf_text(content)
    assert "Concern reported to the school by a staff member on" in text
    # What the reporter did is still reported; only who they are is withheld.
    assert (
        "The reporter's own report (PC 11166(i)): Child Welfare Services (county), phoned "
    ) in text


def test_it_names_whoever_recorded_the_report_not_a_withheld_reporter(
    district, withheld_case, counselor
):
    phone_in(district, withheld_case, by="counselor", agency="cws", phoned_at=ago(hours=4))
    content = form_pdf(district, "site_admin", withheld_case)
    assert_reporter_absent(content)
    text = pdf_text(content)
    assert "Name of mandated reporter Sam Ortiz Title / position Counselor" in text
    assert WITHHELD not in text


def test_it_never_names_a_withheld_reporter_who_also_made_the_report(district):
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
    content = form_pdf(district, "site_admin", case)
    text = pdf_everything(content)
    for identifying in ("counselor", "Ortiz", "Sam "):  # the username, the name
        assert identifying not in text, identifying
    # Nor the title, which would narrow it down to the school's counselors.
    assert (
        f"Name of mandated reporter {WITHHELD} Title / position Mandated reporter category "
        "Reporter's business / agency name Lincoln High School"
    ) in pdf_text(content)
    # The counselor sees their own name on the form they print.
    assert "Name of mandated reporter Sam Ortiz" in form_text(district, "counselor", case)


def test_it_shows_a_withheld_reporter_to_the_district_coordinator(district, withheld_case):
    text = form_text(district, "district_coordinator", withheld_case)
    assert "Concern reported to the school by Dana Whitfield on" in text
    assert WITHHELD not in text

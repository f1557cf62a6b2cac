"""The reporter's own SS 8572, pre-filled from the concern they reported (PC 11166(i)).

Their duty to report is personal: whatever the school does with the concern, they can print
their form, and nobody else can print it for them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from safestep.accounts.models import Role, User
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Concern
from safestep.cases.people import case_victim_details_set
from safestep.reports.scar import render_scar_pdf, scar_concern_form, scar_concern_forms
from safestep.reports.services import scar_generate_for_concern
from safestep.reports.tests.test_scar import local, pdf_pages, pdf_text
from safestep.testing import ago

DESCRIPTION = "She said an older man buys her things and drives her to parties at night."


@pytest.fixture
def teacher(district: Any) -> User:
    teacher = district["reporter"]
    teacher.first_name, teacher.last_name = "Dana", "Whitfield"
    teacher.save()
    return teacher


def report(teacher: User, *, own_report: dict[str, Any] | None, observed_hours_ago: float = 3):
    return services.concern_submit(
        acting_user=teacher,
        school_code="LIN",
        student=services.StudentInput(
            sis_id="SIS-5501",
            first_name="Marisol",
            last_name="Peña",
            birth_date=date(2011, 9, 14),
            grade="9",
        ),
        observed_at=ago(hours=observed_hours_ago),
        description=DESCRIPTION,
        indicators=["older_partner"],
        own_report=own_report,
    )


def form_url(concern: Concern) -> str:
    return f"/api/v1/concerns/{concern.pk}/scar.pdf"


def own_form_text(district: Any, concern: Concern) -> str:
    document = scar_generate_for_concern(acting_user=district["reporter"], concern_id=concern.pk)
    return pdf_text(document.content)


def test_it_gives_the_reporter_their_own_prefilled_form(district, teacher):
    phoned_at = ago(hours=2)
    concern = report(
        teacher,
        own_report={"agency": "cws", "phoned_at": phoned_at.isoformat(), "reference": "H-1"},
    )
    text = own_form_text(district, concern)
    # A: it is their own form.
    assert "Name of mandated reporter Dana Whitfield" in text
    assert "Reporter's business / agency name Lincoln High School" in text
    # B: their own report.
    assert "☐ Law enforcement ☐ County probation ☒ County welfare / CPS" in text
    assert "Agency name Child Welfare Services (county)" in text
    assert f"Date / time of phone call {local(phoned_at)}" in text
    assert "Agency report number H-1" in text
    concern.refresh_from_db()
    assert concern.report_due_at is not None
    # When their written report is due.
    assert f"Written report due (36 hours after the suspicion): {local(concern.report_due_at)}" in (
        text
    )
    # C: the student as the school's record has them; D is left for them.
    assert "Name (last, first, middle) Peña, Marisol Birthdate or approx. age 2011-09-14" in text
    assert "School Lincoln High School Class Grade 9" in text
    assert DESCRIPTION in text  # E
    assert "Talks about an older boyfriend" in text  # the indicator, in the protocol's words
    assert "Written report late" not in text  # not due yet
    assert "N/A" not in text


def test_it_prints_the_form_with_blanks_before_the_reporter_has_phoned(district, teacher):
    # An incomplete report must still be sent: the form is there before any call.
    concern = report(teacher, own_report=None)
    text = own_form_text(district, concern)
    assert "Dana Whitfield" in text
    assert "☒" not in text  # no box marked
    assert "Agency name Address (street, city, zip) Official contacted" in text  # blank


def test_it_makes_one_report_per_student_the_concern_names(district, teacher):
    concern = services.concern_submit(
        acting_user=teacher,
        school_code="LIN",
        students=[
            services.StudentInput(sis_id="SIS-5501", first_name="Marisol", last_name="Peña"),
            services.StudentInput(sis_id="SIS-5502", first_name="Lucía", last_name="Reyes"),
        ],
        observed_at=ago(hours=3),
        description="Both girls were picked up by the same man in a grey car.",
        indicators=[],
    )
    concern = Concern.objects.get(pk=concern.pk)
    first, second = scar_concern_forms(concern, now=timezone.now())
    assert first.text("C.name") == "Peña, Marisol"
    assert second.text("C.name") == "Reyes, Lucía"
    assert first.subject == f"concern {concern.pk}, student 1 of 2"
    # The default is the first student named, as before.
    assert scar_concern_form(concern, now=timezone.now()).text("C.name") == "Peña, Marisol"
    lucia = concern.mentions[1].student
    assert scar_concern_form(concern, now=timezone.now(), student=lucia).text("C.name") == (
        "Reyes, Lucía"
    )
    pages = [" ".join(page.split()) for page in pdf_pages(render_scar_pdf([first, second]))]
    assert sum("SUSPECTED CHILD ABUSE REPORT" in page for page in pages) == 2
    assert any("Peña, Marisol" in page for page in pages)
    assert any("Reyes, Lucía" in page for page in pages)


def test_it_writes_the_reporters_form_to_the_audit_trail(api_as, teacher):
    concern = report(teacher, own_report=None)
    api_as("reporter").get(form_url(concern))
    event = Event.objects.get(action="scar.generate")
    assert event.actor_username == "reporter"
    assert event.case_id is None  # no case yet
    assert event.payload["concern"] == concern.pk
    assert event.payload["via"] == "api"
    assert len(event.payload["sha256"]) == 64


def test_it_shows_the_reporter_that_their_written_report_is_overdue(district, teacher):
    concern = report(
        teacher,
        own_report={"agency": "sdpd", "phoned_at": ago(hours=39).isoformat()},
        observed_hours_ago=40,
    )
    concern.refresh_from_db()
    assert concern.report_due_at is not None
    text = own_form_text(district, concern)
    assert f"Written report overdue since: {local(concern.report_due_at)}" in text


def test_it_shows_a_late_written_report_on_the_reporters_form(district, teacher):
    sent = ago(hours=1)
    concern = report(
        teacher,
        own_report={
            "agency": "cws",
            "phoned_at": ago(hours=49).isoformat(),
            "written_submitted_at": sent.isoformat(),
        },
        observed_hours_ago=50,
    )
    concern.refresh_from_db()
    assert concern.report_due_at is not None
    text = own_form_text(district, concern)
    assert f"Written report late: yes — sent {local(sent)}, due {local(concern.report_due_at)}" in (
        text
    )


def test_it_keeps_the_case_from_the_reporter_once_the_concern_has_one(district, teacher):
    concern = report(teacher, own_report={"agency": "cws", "phoned_at": ago(hours=2).isoformat()})
    case = services.case_open(
        acting_user=district["site_admin"],
        pathway="suspected_victim",
        suspicion_formed_at=concern.observed_at,
        summary="CASE-SUMMARY-NOT-FOR-THE-REPORTER",
        concern_id=concern.pk,
    )
    case.refresh_from_db()
    case_victim_details_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        changes={"sex": "female", "address": "VICTIM-ADDRESS-FROM-THE-CASE"},
        expected_version=case.version,
    )
    document = scar_generate_for_concern(acting_user=district["reporter"], concern_id=concern.pk)
    text = pdf_text(document.content)
    for of_the_case in (
        "CASE-SUMMARY-NOT-FOR-THE-REPORTER",
        "VICTIM-ADDRESS-FROM-THE-CASE",
        case.reference,
    ):
        assert of_the_case not in text
    assert case.reference not in document.filename
    # The case's trail still shows that the form was handed out.
    event = Event.objects.get(action="scar.generate")
    assert event.case_id == case.pk
    assert event.payload["concern"] == concern.pk


def test_it_answers_the_reporters_form_as_a_pdf_named_by_the_concern(api_as, teacher):
    concern = report(teacher, own_report=None)
    answer = api_as("reporter").get(form_url(concern))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Cache-Control"] == "no-store"
    assert answer["Content-Disposition"] == (
        f'attachment; filename="SS8572-concern-{concern.pk}.pdf"'
    )
    assert "Peña, Marisol" in pdf_text(answer.content)


@pytest.mark.parametrize("username", ["another_reporter", "site_admin", "district_coordinator"])
def test_it_answers_404_to_anyone_but_the_reporter(api_as, district, teacher, username):
    other = User.objects.create_user(
        username="another_reporter", password="a long test password", role=Role.REPORTER
    )
    other.schools.set([district.lin])
    district.users["another_reporter"] = other
    concern = report(teacher, own_report={"agency": "cws", "phoned_at": ago(hours=2).isoformat()})
    answer = api_as(username).get(form_url(concern))
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"
    assert not Event.objects.filter(action="scar.generate").exists()


def test_it_answers_404_for_a_concern_that_does_not_exist(api_as, teacher):
    assert api_as("reporter").get("/api/v1/concerns/999999/scar.pdf").status_code == 404

"""One incident, several students: reporting them together, a case for each at triage, and a
second report of the same harm added to the student's open case."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from safestep.accounts.testing import signed_in_client
from safestep.cases import services
from safestep.cases.models import Case, Concern, ConcernStatus, LinkRelation

pytestmark = pytest.mark.django_db


def local(**delta: float) -> str:
    return timezone.localtime(timezone.now() - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def as_user(district):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(district[username])
        return clients[username]

    return make


def student(sis_id: str, first: str, last: str = "Lopez") -> services.StudentInput:
    return services.StudentInput(sis_id=sis_id, first_name=first, last_name=last)


@pytest.fixture
def two_students(district) -> Concern:
    """Ana and her friend Bea, seen together with the same older man."""
    return services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[student("S-60", "Ana"), student("S-61", "Bea", "Ruiz")],
        observed_at=timezone.now() - timedelta(hours=4),
        description="Both girls got into an older man's car after school.",
        indicators=["older_partner"],
    )


# --- the concern form ---------------------------------------------------------------------


def test_it_offers_more_student_fieldsets_with_only_the_first_required(as_user):
    body = html(as_user("reporter").get("/concerns/new/"))
    assert 'id="sis_id"' in body and 'id="sis_id_2"' in body and 'id="sis_id_3"' in body
    assert "Second student&#x27;s SIS id" in body and "Third student&#x27;s last name" in body
    assert "Only the first student is required." in body
    # JavaScript folds the empty ones away behind a button that works only with it.
    assert re.search(r'id="student-2"[^>]*data-empty', body)
    assert re.search(r"<button[^>]*data-add-student[^>]*hidden", body)


def test_it_reports_several_students_in_one_concern(as_user):
    answer = as_user("reporter").post(
        "/concerns/new/",
        {
            "school": "LIN",
            "sis_id": "900010",
            "first_name": "Ana",
            "last_name": "Lopez",
            "sis_id_2": "",
            "first_name_2": "",
            "last_name_2": "",
            "sis_id_3": "900011",
            "first_name_3": "Bea",
            "last_name_3": "Ruiz",
            "observed_at": local(hours=1),
            "description": "Both got into an older man's car.",
        },
    )
    assert answer.status_code == 302
    concern = Concern.objects.get()
    assert [row.student.sis_id for row in concern.mentions] == ["900010", "900011"]


def test_it_shows_a_problem_with_another_student_at_that_students_fieldset(as_user):
    answer = as_user("reporter").post(
        "/concerns/new/",
        {
            "school": "LIN",
            "sis_id": "900012",
            "first_name": "Ana",
            "last_name": "Lopez",
            "sis_id_3": "900013",
            "first_name_3": "Bea",
            "last_name_3": "",
            "observed_at": local(hours=1),
            "description": "Both got into an older man's car.",
        },
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'href="#last_name_3"' in body and "Third student&#x27;s last name" in body
    assert 'id="last_name_3-error"' in body
    assert re.search(r'id="last_name_3"[^>]*aria-describedby="last_name_3-error"', body)
    # The fieldset with a problem is not folded away.
    assert not re.search(r'id="student-3"[^>]*data-empty', body)
    assert 'value="Bea"' in body
    assert not Concern.objects.exists()


# --- triage -------------------------------------------------------------------------------


def test_it_offers_each_named_student_a_case_of_their_own(as_user, two_students):
    body = html(as_user("site_admin").get("/triage/"))
    article = body[body.index(f'id="concern-{two_students.pk}"') :]
    assert article.count("Open a case for this student") == 2
    assert 'name="student_sis_id" value="S-60"' in article
    assert 'name="student_sis_id" value="S-61"' in article
    assert "Ana Lopez · SIS id S-60" in article and "Bea Ruiz · SIS id S-61" in article


def test_it_opens_a_case_for_the_second_student_and_keeps_the_concern_for_the_first(
    as_user, two_students
):
    answer = as_user("site_admin").post(
        f"/triage/{two_students.pk}/open/",
        {
            "student_sis_id": "S-61",
            "pathway": "suspected_victim",
            "suspicion_formed_at": local(hours=4),
            "summary": "",
        },
    )
    assert answer.status_code == 302
    case = Case.objects.get()
    assert case.student.sis_id == "S-61"
    two_students.refresh_from_db()
    assert two_students.status == ConcernStatus.SUBMITTED
    body = html(as_user("site_admin").get("/triage/"))
    assert f"This student's part is in case {case.reference}." in body
    assert body.count("Open a case for this student") == 1
    # The second case joins the first as the same incident.
    as_user("site_admin").post(
        f"/triage/{two_students.pk}/open/",
        {
            "student_sis_id": "S-60",
            "pathway": "suspected_victim",
            "suspicion_formed_at": local(hours=4),
        },
    )
    two_students.refresh_from_db()
    assert two_students.status == ConcernStatus.TRIAGED
    other = Case.objects.exclude(pk=case.pk).get()
    link = other.links_out.get()
    assert (link.to_case_id, link.relation) == (case.pk, LinkRelation.SAME_INCIDENT)


def test_it_shows_a_refused_opening_at_the_student_it_was_for(as_user, two_students):
    answer = as_user("site_admin").post(
        f"/triage/{two_students.pk}/open/",
        {"student_sis_id": "S-61", "suspicion_formed_at": local(hours=4)},
    )
    assert answer.status_code == 400
    body = html(answer)
    key = f"{two_students.pk}-1"
    assert f'href="#pathway-{key}"' in body and f'id="pathway-{key}-error"' in body
    assert f'id="pathway-{two_students.pk}-0-error"' not in body
    assert not Case.objects.exists()


def test_it_tells_each_typed_name_that_differs_from_the_record(as_user, district, open_case):
    open_case(sis_id="S-62")  # the school knows S-62 as Ana Lopez
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[student("S-63", "Cara"), student("S-62", "Anna", "Lopes")],
        observed_at=timezone.now() - timedelta(hours=2),
        description="Seen together with an older man.",
        indicators=[],
    )
    body = html(as_user("site_admin").get("/triage/"))
    assert f'id="concern-{concern.pk}-1-name"' in body
    assert "The reporter typed the name as “Anna Lopes”" in body
    assert f'id="concern-{concern.pk}-0-name"' not in body


def test_it_adds_a_second_report_to_the_students_open_case(as_user, district, open_case):
    case = open_case(sis_id="S-64", suspicion_hours_ago=2)
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[student("S-64", "Ana")],
        observed_at=timezone.now() - timedelta(hours=6),
        description="The same man waited for her again last week.",
        indicators=[],
    )
    body = html(as_user("site_admin").get("/triage/"))
    assert "Add to an open case instead" in body
    assert f'<option value="{case.pk}">{case.reference}' in body
    # The case of another student is not offered.
    other = open_case(sis_id="S-65")
    assert other.reference not in html(as_user("site_admin").get("/triage/"))
    answer = as_user("site_admin").post(
        f"/triage/{concern.pk}/attach/", {"student_sis_id": "S-64", "case": str(case.pk)}
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/cases/{case.pk}/"
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.TRIAGED
    # The clock now runs from the earlier observation.
    assert Case.objects.get(pk=case.pk).suspicion_formed_at == concern.observed_at


def test_it_refuses_adding_a_concern_to_another_students_case(as_user, district, open_case):
    open_case(sis_id="S-66")
    other = open_case(sis_id="S-67")
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[student("S-66", "Ana")],
        observed_at=timezone.now() - timedelta(hours=1),
        description="Again with the older man.",
        indicators=[],
    )
    answer = as_user("site_admin").post(
        f"/triage/{concern.pk}/attach/", {"student_sis_id": "S-66", "case": str(other.pk)}
    )
    assert answer.status_code == 400
    body = html(answer)
    key = f"{concern.pk}-0"
    assert f'id="case-{key}-error"' in body and f'href="#case-{key}"' in body
    assert "about a student this concern does not name" in body
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.SUBMITTED


# --- one concern --------------------------------------------------------------------------


def test_it_lists_each_student_of_a_concern_with_their_case(as_user, district, two_students):
    case = services.case_open(
        acting_user=district["site_admin"],
        pathway="suspected_victim",
        suspicion_formed_at=two_students.observed_at,
        summary="",
        concern_id=two_students.pk,
        student_sis_id="S-60",
    )
    body = html(as_user("site_admin").get(f"/concerns/{two_students.pk}/"))
    assert "The 2 students" in body
    assert f'<a href="/cases/{case.pk}/">Go to case {case.reference}</a>' in body
    assert "Bea Ruiz · SIS id S-61 · no case yet" in body
    # The reporter follows the concern, never the school's record of the students.
    mine = html(as_user("reporter").get(f"/concerns/{two_students.pk}/"))
    assert case.reference not in mine and "Bea Ruiz" not in mine

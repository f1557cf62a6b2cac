"""Reaching another school's case by the side doors: its id, a link, the timeline, the
PDF, a note or check-in written to it. Each must behave as if the case did not exist.

Also: police-only step details are withheld from everyone but School Police, wherever
the case is shown, while the step's state and dates still show.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pypdf
import pytest
from django.test import Client
from django.utils import timezone

from safestep.accounts.testing import sign_in_client
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import CheckIn, Note

SECRET_REFERENCE = "LE-7781-QUOKKA"


@pytest.fixture
def lin_and_roo(district, open_case):
    """A case at LIN (site_admin's school) and one at ROO, linked by the coordinator."""
    lin = open_case("suspected_victim", school="LIN", sis_id="S-LIN")
    roo = open_case("suspected_victim", school="ROO", sis_id="S-ROO", by="outsider_admin")
    services.case_link(
        acting_user=district["district_coordinator"],
        case_id=lin.pk,
        other_case_id=roo.pk,
        relation="recruited_by",
    )
    return lin, roo


def problem_without_numbers(response) -> dict:
    body = response.json()
    return {key: re.sub(r"\d+", "N", str(value)) for key, value in body.items()}


def test_it_answers_another_schools_case_by_id_exactly_like_a_missing_one(
    district, lin_and_roo, api_as
):
    _lin, roo = lin_and_roo
    api = api_as("site_admin")
    theirs = api.get(f"/api/v1/cases/{roo.pk}")
    missing = api.get("/api/v1/cases/987654")
    assert theirs.status_code == missing.status_code == 404
    assert problem_without_numbers(theirs) == problem_without_numbers(missing)
    page = sign_in_client(Client(), district["site_admin"])
    assert page.get(f"/cases/{roo.pk}/").status_code == 404
    assert page.get("/cases/987654/").status_code == 404
    # Reading it did not even leave a trace on that case.
    assert not Event.objects.filter(
        case_id=roo.pk, action="case.read", actor=district["site_admin"]
    ).exists()


def test_it_leaves_other_schools_out_of_lists_and_counts(district, lin_and_roo, api_as):
    lin, _roo = lin_and_roo
    api = api_as("site_admin")
    listed = api.get("/api/v1/cases").json()
    assert listed["count"] == 1
    assert [item["id"] for item in listed["results"]] == [lin.pk]
    assert api.get("/api/v1/cases?school=ROO").json()["count"] == 0
    assert api_as("district_coordinator").get("/api/v1/cases").json()["count"] == 2


def test_it_hides_a_link_to_another_schools_case(district, lin_and_roo, api_as):
    lin, roo = lin_and_roo
    api = api_as("site_admin")
    assert api.get(f"/api/v1/cases/{lin.pk}").json()["links"] == []
    coordinator_view = api_as("district_coordinator").get(f"/api/v1/cases/{lin.pk}").json()
    assert [link["case"] for link in coordinator_view["links"]] == [roo.pk]
    page = sign_in_client(Client(), district["site_admin"]).get(f"/cases/{lin.pk}/")
    assert f'href="/cases/{roo.pk}/' not in page.content.decode()


def test_it_refuses_a_link_to_another_schools_case_as_if_it_did_not_exist(
    district, lin_and_roo, api_as, open_case
):
    lin, roo = lin_and_roo
    other_roo = open_case("suspected_victim", school="ROO", sis_id="S-ROO-2", by="outsider_admin")
    api = api_as("site_admin")
    theirs = api.post(
        f"/api/v1/cases/{lin.pk}/links",
        {"case": other_roo.pk, "relation": "sibling"},
        format="json",
    )
    missing = api.post(
        f"/api/v1/cases/{lin.pk}/links", {"case": 987654, "relation": "sibling"}, format="json"
    )
    assert theirs.status_code == missing.status_code == 400
    assert problem_without_numbers(theirs) == problem_without_numbers(missing)
    # Linking from their case is a 404 on the case itself.
    from_theirs = api.post(
        f"/api/v1/cases/{roo.pk}/links", {"case": lin.pk, "relation": "sibling"}, format="json"
    )
    assert from_theirs.status_code == 404


def test_it_keeps_another_schools_students_out_of_search(district, lin_and_roo):
    services.case_open(
        acting_user=district["outsider_admin"],
        pathway="suspected_victim",
        suspicion_formed_at=timezone.now() - timedelta(hours=2),
        summary="",
        school_code="ROO",
        student=services.StudentInput(sis_id="S-QUILL", first_name="Zed", last_name="Quill"),
    )
    query = "/concerns/students/?school=ROO&q=Quill"
    theirs = sign_in_client(Client(), district["site_admin"]).get(query)
    assert theirs.status_code == 200
    assert "S-QUILL" not in theirs.content.decode()
    coordinator = sign_in_client(Client(), district["district_coordinator"]).get(query)
    assert "S-QUILL" in coordinator.content.decode()


def test_it_refuses_the_timeline_of_another_schools_case(district, lin_and_roo, api_as):
    _lin, roo = lin_and_roo
    assert api_as("site_admin").get(f"/api/v1/cases/{roo.pk}/timeline").status_code == 404
    assert api_as("counselor").get(f"/api/v1/cases/{roo.pk}/timeline").status_code == 404


def test_it_keeps_another_schools_case_out_of_my_cases_timeline(district, lin_and_roo, api_as):
    lin, roo = lin_and_roo
    timeline = api_as("site_admin").get(f"/api/v1/cases/{lin.pk}/timeline")
    assert timeline.status_code == 200
    assert roo.reference not in timeline.content.decode()
    assert not any(
        event.get("payload", {}).get("other_case") == roo.pk for event in timeline.json()
    ), "the timeline names a case outside the reader's scope"


def test_it_refuses_the_pdf_of_another_schools_case(district, lin_and_roo, api_as):
    lin, roo = lin_and_roo
    api = api_as("site_admin")
    theirs = api.get(f"/api/v1/cases/{roo.pk}/scar.pdf")
    missing = api.get("/api/v1/cases/987654/scar.pdf")
    assert theirs.status_code == missing.status_code == 404
    assert problem_without_numbers(theirs) == problem_without_numbers(missing)
    assert api.get(f"/api/v1/cases/{lin.pk}/scar.pdf").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("notes", {"text": "Written into the wrong case."}),
        (
            "check-ins",
            {"occurred_at": "2020-01-01T09:00:00-08:00", "method": "phone", "notes": "x"},
        ),
    ],
)
def test_it_refuses_a_note_or_check_in_written_to_another_schools_case(
    district, lin_and_roo, api_as, path, body
):
    _lin, roo = lin_and_roo
    for writer in ("counselor", "site_admin"):
        answer = api_as(writer).post(f"/api/v1/cases/{roo.pk}/{path}", body, format="json")
        assert answer.status_code == 404, writer
    assert not Note.objects.filter(case=roo).exists()
    assert not CheckIn.objects.filter(case=roo).exists()
    assert not Event.objects.filter(
        case_id=roo.pk, action__in=["note.add", "checkin.record"]
    ).exists()
    # The same through the pages.
    page = sign_in_client(Client(), district["counselor"])
    assert page.post(f"/cases/{roo.pk}/notes/", {"text": "x"}).status_code == 404
    assert not Note.objects.filter(case=roo).exists()


def test_it_refuses_another_schools_attachment_through_one_of_my_cases(
    district, lin_and_roo, api_as
):
    from safestep.attachments.services import attachment_add

    lin, roo = lin_and_roo
    theirs = attachment_add(
        acting_user=district["outsider_counselor"],
        case_id=roo.pk,
        file_name="evidence.png",
        content=b"\x89PNG\r\n\x1a\n" + bytes(32),
    )
    answer = api_as("site_admin").get(f"/api/v1/cases/{lin.pk}/attachments/{theirs.pk}")
    assert answer.status_code == 404


# --- police-only details ---------------------------------------------------------------


@pytest.fixture
def police_case(district, open_case):
    case = open_case("confirmed_victim", school="LIN", sis_id="S-POL")
    police = district["school_police"]
    for step_id, details in (
        ("police_involved", {"agency": "school_police"}),
        ("le_trafficking_entry", {"le_reference": SECRET_REFERENCE}),
    ):
        case.refresh_from_db()
        services.step_complete(
            acting_user=police,
            case_id=case.pk,
            step_id=step_id,
            occurred_at=timezone.now() - timedelta(hours=1),
            details=details,
            expected_version=case.version,
        )
    return case


def step_of(body: dict, step_id: str) -> dict:
    return next(step for step in body["steps"] if step["id"] == step_id)


@pytest.mark.parametrize(
    "role", ["site_admin", "counselor", "placement_office", "district_coordinator"]
)
def test_it_withholds_police_only_details_but_shows_state_and_dates(
    district, police_case, api_as, role
):
    body = api_as(role).get(f"/api/v1/cases/{police_case.pk}").json()
    step = step_of(body, "le_trafficking_entry")
    assert step["state"] == "done"
    assert step["resolved_at"] is not None
    assert step["details"] is None and step["details_withheld"] is True
    assert SECRET_REFERENCE not in str(body)
    page = sign_in_client(Client(), district[role]).get(f"/cases/{police_case.pk}/")
    assert page.status_code == 200
    assert SECRET_REFERENCE not in page.content.decode()
    timeline = api_as(role).get(f"/api/v1/cases/{police_case.pk}/timeline")
    assert SECRET_REFERENCE not in timeline.content.decode()


def test_it_shows_police_only_details_to_school_police(district, police_case, api_as):
    body = api_as("school_police").get(f"/api/v1/cases/{police_case.pk}").json()
    assert step_of(body, "le_trafficking_entry")["details"] == {"le_reference": SECRET_REFERENCE}
    page = sign_in_client(Client(), district["school_police"]).get(f"/cases/{police_case.pk}/")
    assert SECRET_REFERENCE in page.content.decode()


def test_it_keeps_police_only_details_out_of_the_pdf(district, police_case, api_as):
    answer = api_as("site_admin").get(f"/api/v1/cases/{police_case.pk}/scar.pdf")
    assert answer.status_code == 200
    content = b"".join(answer.streaming_content) if answer.streaming else answer.content
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert police_case.reference in text
    assert SECRET_REFERENCE not in text

"""A NUL in a query or a form is refused with 400, naming the parameter, everywhere."""

from __future__ import annotations

import pytest
from django.test import Client

from safestep.accounts.testing import signed_in_client

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("address", "parameter"),
    [
        ("/api/v1/cases?school=%00", "school"),
        ("/api/v1/cases?pathway=a%00b&school=LIN", "pathway"),
        ("/api/v1/concerns?status=%00", "status"),
    ],
)
def test_it_refuses_a_nul_in_an_api_query_naming_the_parameter(api_as, address, parameter):
    answer = api_as("district_coordinator").get(address)
    assert answer.status_code == 400
    assert answer["Content-Type"] == PROBLEM
    body = answer.json()
    assert body["errors"] == {parameter: ["Null characters are not allowed."]}
    assert body["detail"].startswith(f"{parameter}: ")


@pytest.mark.parametrize(
    ("address", "parameter"), [("/search/?q=a%00b", "q"), ("/cases/?status=open&x%00=1", "x")]
)
def test_it_refuses_a_nul_in_a_page_query_with_a_page(district, address, parameter):
    client = signed_in_client(district["site_admin"])
    answer = client.get(address)
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "The request could not be read" in page and f"“{parameter}”" in page
    # The same addresses without the NUL are read as usual.
    assert client.get(address.replace("%00", "")).status_code == 200


def test_it_names_the_problem_in_the_readers_language(api_as):
    answer = api_as("counselor").get("/api/v1/cases?school=%00", HTTP_ACCEPT_LANGUAGE="es")
    assert answer.status_code == 400
    assert answer.json()["title"] == "Datos no válidos"
    assert answer.json()["errors"]["school"] == ["Los caracteres nulos no están permitidos."]


def test_it_refuses_a_nul_in_a_sign_in_without_signing_in_or_failing(district):
    # The user name went to the database as typed: PostgreSQL refused it, and the page 500.
    client = Client()
    form = "application/x-www-form-urlencoded"
    answer = client.post("/signin/", "username=site_admin%00&password=x", content_type=form)
    assert answer.status_code == 400
    assert "“username”" in answer.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_refuses_a_nul_in_a_page_form_of_either_encoding(district, open_case):
    case = open_case()
    client = signed_in_client(district["site_admin"])
    notes = f"/cases/{case.pk}/notes/"
    form = "application/x-www-form-urlencoded"
    answer = client.post(notes, f"text=a%00b&version={case.version}", content_type=form)
    assert answer.status_code == 400 and "“text”" in answer.content.decode()
    answer = client.post(notes, {"text": "a\x00b", "version": case.version})  # multipart
    assert answer.status_code == 400 and "“text”" in answer.content.decode()
    assert case.notes.count() == 0


@pytest.mark.parametrize("address", ["/students/LIN/%00/", "/admin-area/users/a%00b/"])
def test_it_finds_nothing_at_an_address_with_a_nul(district, address):
    answer = signed_in_client(district["district_coordinator"]).get(address)
    assert answer.status_code == 404
    assert "There is nothing here that you can see." in answer.content.decode()


def test_it_finds_nothing_at_an_api_address_with_a_nul(api_as):
    answer = api_as("district_coordinator").get("/api/v1/students/a%00b/disclosures")
    assert answer.status_code == 404 and answer["Content-Type"] == PROBLEM


def test_it_keeps_djangos_own_bad_request_page_general():
    # Django answers 400 with the same template, without context, for what it cannot read.
    answer = Client(HTTP_HOST="elsewhere.example").get("/signin/")
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Go back, reload the page and try again." in page
    assert "holds a character" not in page

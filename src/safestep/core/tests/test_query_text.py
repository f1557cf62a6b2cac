"""A NUL in an address's query is refused with 400, naming the parameter, everywhere."""

from __future__ import annotations

import pytest

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
    assert "The address could not be read" in page and f"“{parameter}”" in page
    # The same addresses without the NUL are read as usual.
    assert client.get(address.replace("%00", "")).status_code == 200


def test_it_names_the_problem_in_the_readers_language(api_as):
    answer = api_as("counselor").get("/api/v1/cases?school=%00", HTTP_ACCEPT_LANGUAGE="es")
    assert answer.status_code == 400
    assert answer.json()["title"] == "Datos no válidos"
    assert answer.json()["errors"]["school"] == ["Los caracteres nulos no están permitidos."]

from __future__ import annotations

from rest_framework.test import APIClient


def test_it_lists_the_three_pathways_with_their_steps_in_order(api_as):
    body = api_as("counselor").get("/api/v1/protocols").json()
    assert [(p["id"], p["version"]) for p in body] == [("sdusd-csec", "2012-03")]
    pathways = {pathway["id"]: pathway for pathway in body[0]["pathways"]}
    assert list(pathways) == ["recruitment_by_student", "suspected_victim", "confirmed_victim"]
    assert [s["id"] for s in pathways["recruitment_by_student"]["steps"]] == [
        "police_involved",
        "campus_impact",
        "school_consequences",
    ]
    assert [s["number"] for s in pathways["confirmed_victim"]["steps"]] == list(range(1, 9))
    cws = pathways["suspected_victim"]["steps"][1]
    assert cws["id"] == "cws_report"
    assert cws["condition"] == {"fact": "abuse_or_neglect_suspected", "is": True}
    assert cws["actor_roles"] == ["site_admin", "counselor", "district_coordinator"]


def test_it_needs_a_signed_in_user(district):
    answer = APIClient().get("/api/v1/protocols")
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"


def test_it_serves_a_valid_openapi_schema(district):
    from openapi_spec_validator import validate

    answer = APIClient().get("/api/schema/?format=json")
    assert answer.status_code == 200
    validate(answer.json())

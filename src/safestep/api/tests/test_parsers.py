"""The API's JSON parser against hostile bodies (core's ``test_hostile_input`` has the rest)."""

from __future__ import annotations

import json

import pytest

from safestep.api.parsers import MAX_DEPTH
from safestep.core.problems import PROBLEM_CONTENT_TYPE as PROBLEM

pytestmark = pytest.mark.django_db


def test_it_refuses_deeply_nested_json_with_400(api_as, open_case):
    case = open_case()
    admin = api_as("site_admin")
    for depth in (MAX_DEPTH + 1, 100_000):
        answer = admin.post(
            f"/api/v1/cases/{case.pk}/notes",
            "[" * depth + "]" * depth,
            content_type="application/json",
        )
        assert answer.status_code == 400, answer.content[:300]
        assert answer["Content-Type"] == PROBLEM
        assert "nested" in answer.json()["detail"]
    # Brackets inside strings are text, not nesting.
    answer = admin.post(
        f"/api/v1/cases/{case.pk}/notes",
        json.dumps({"text": "[" * 1000}),
        content_type="application/json",
    )
    assert answer.status_code == 201


def test_it_refuses_half_of_a_surrogate_pair_anywhere_in_the_body(api_as, open_case):
    # JSON escapes half of a UTF-16 pair; repeated in an error (an unknown key) or stored, it
    # failed to be written as UTF-8 and answered 500.
    case = open_case()
    admin = api_as("site_admin")
    for body in (
        {"facts": {"\ud800": True}, "version": case.version},
        {"facts": {"abuse_or_neglect_suspected": True}, "version": case.version, "x": ["\udfff"]},
    ):
        answer = admin.post(
            f"/api/v1/cases/{case.pk}/facts", json.dumps(body), content_type="application/json"
        )
        assert answer.status_code == 400, answer.content[:300]
        assert answer["Content-Type"] == PROBLEM
        assert "surrogate" in answer.json()["detail"]
    case.refresh_from_db()
    assert not case.facts.exists()
    # A whole pair, as JSON may escape any character outside the first plane, is text.
    answer = admin.post(
        f"/api/v1/cases/{case.pk}/notes",
        json.dumps({"text": "Stays safe \U0001f60a", "version": case.version}),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content[:300]
    assert [note.text for note in case.notes.all()] == ["Stays safe \U0001f60a"]

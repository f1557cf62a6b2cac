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

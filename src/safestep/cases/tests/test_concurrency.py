"""Twenty people complete the same step at once: one wins, the rest get 409."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone
from rest_framework.test import APIClient

from safestep.accounts.testing import api_token_for
from safestep.audit.models import Event
from safestep.cases.models import StepRecord

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_twenty_concurrent_completions_win(district, open_case):
    case = open_case()
    token = api_token_for(district["site_admin"])
    occurred = (timezone.now() - timedelta(minutes=5)).isoformat()
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def complete() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        try:
            answer = client.post(
                f"/api/v1/cases/{case.pk}/steps/police_involved/complete",
                {
                    "occurred_at": occurred,
                    "details": {
                        "agency": "sdpd",
                        "threat": "An adult outside school is exploiting the student.",
                    },
                    "version": case.version,
                },
                format="json",
            )
            with lock:
                statuses.append(answer.status_code)
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=complete) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert sorted(statuses) == [200] + [409] * (THREADS - 1), statuses
    assert StepRecord.objects.filter(case=case, step_id="police_involved").count() == 1
    assert Event.objects.filter(case_id=case.pk, action="step.complete").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_lets_people_working_different_parts_of_a_case_at_once_all_succeed(district, open_case):
    """From the same version, four people at once: a step, another step, a check-in and a
    police judgement. None of them changes what another changes, so none is refused; a
    write to a part that did change since that version still is."""
    case = open_case()
    version = case.version
    occurred = (timezone.now() - timedelta(minutes=5)).isoformat()
    writes = [
        (
            "site_admin",
            f"/api/v1/cases/{case.pk}/steps/police_involved/complete",
            {
                "occurred_at": occurred,
                "details": {
                    "agency": "sdpd",
                    "threat": "An adult outside school is exploiting the student.",
                },
            },
        ),
        (
            "district_coordinator",
            f"/api/v1/cases/{case.pk}/steps/campus_impact/complete",
            {
                "occurred_at": occurred,
                "details": {"findings": "None found.", "other_students_involved": False},
            },
        ),
        (
            "counselor",
            f"/api/v1/cases/{case.pk}/check-ins",
            {"occurred_at": occurred, "method": "in_person", "notes": "Doing better."},
        ),
        ("school_police", f"/api/v1/cases/{case.pk}/facts", {"facts": {"reliable_evidence": True}}),
    ]
    barrier = threading.Barrier(len(writes))
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def write(username: str, path: str, body: dict[str, object]) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(district[username])}")
        barrier.wait()
        try:
            answer = client.post(path, {**body, "version": version}, format="json")
            with lock:
                statuses[path] = answer.status_code
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=write, args=item) for item in writes]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert sorted(statuses.values()) == [200, 200, 200, 201], statuses
    assert StepRecord.objects.filter(case=case, reopened_at__isnull=True).count() == 2
    # The same step, from the version everyone read: it changed since, so this is refused.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(district['site_admin'])}")
    stale = client.post(
        f"/api/v1/cases/{case.pk}/steps/police_involved/reopen",
        {"reason": "Recorded on the wrong case.", "version": version},
        format="json",
    )
    assert stale.status_code == 409
    assert "step:police_involved" in stale.json()["detail"]
    assert StepRecord.objects.filter(case=case, step_id="police_involved").count() == 1

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

"""Every page answers a service's refusal alike, with the API's status codes.

ValidationFailed → 400 with the messages next to the fields, PermissionDenied → 403,
NotFound → 404, Conflict (a stale version too) → 409 (docs/architecture.md). The service is
made to refuse, so each page is asked about every kind of refusal, whichever it can meet.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from safestep.accounts.testing import signed_in_client
from safestep.cases import services
from safestep.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    SafeStepError,
    StaleVersion,
    ValidationFailed,
)
from safestep.web.pages import refusal

pytestmark = pytest.mark.django_db

# (the refusal, the status every page answers it with)
REFUSED = [
    pytest.param(ValidationFailed({"reason": ["Say why."]}), 400, id="validation-failed"),
    pytest.param(PermissionDenied("Your role may not do that."), 403, id="permission-denied"),
    pytest.param(NotFound("no such thing"), 404, id="not-found"),
    pytest.param(Conflict("It was already done."), 409, id="conflict"),
    pytest.param(StaleVersion("Someone else changed it."), 409, id="stale-version"),
]


def _refusing(error: SafeStepError):
    def refuse(**_: object) -> None:
        raise error

    return refuse


@pytest.fixture
def concern(district):
    return services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        students=[services.StudentInput(sis_id="S-70", first_name="Ana", last_name="Lopez")],
        observed_at=timezone.now() - timedelta(hours=2),
        description="An older man waits for her after school.",
        indicators=["older_partner"],
    )


@pytest.mark.parametrize(("error", "status"), REFUSED)
def test_it_answers_each_refusal_with_the_same_status_on_the_triage_and_the_case_page(
    district, open_case, concern, monkeypatch, error, status
):
    case = open_case()
    admin = signed_in_client(district["site_admin"])
    monkeypatch.setattr(services, "concern_dismiss", _refusing(error))
    monkeypatch.setattr(services, "note_add", _refusing(error))

    triage = admin.post(f"/triage/{concern.pk}/dismiss/", {"reason": "Her uncle."})
    case_page = admin.post(f"/cases/{case.pk}/notes/", {"text": "Spoke with her."})

    assert (triage.status_code, case_page.status_code) == (status, status)


@pytest.mark.parametrize(("error", "status"), REFUSED)
def test_it_answers_each_refusal_with_the_same_status_on_the_review_queue(
    district, monkeypatch, error, status
):
    coordinator = signed_in_client(district["district_coordinator"])
    monkeypatch.setattr(services, "review_decide", _refusing(error))

    answer = coordinator.post("/reviews/1/decide/", {"decision": "upheld", "comment": ""})

    assert answer.status_code == status


@pytest.mark.parametrize(
    "error",
    [
        PermissionDenied("Your role may not do that."),
        Conflict("It was already done."),
    ],
)
def test_it_shows_a_refusal_of_the_whole_form_with_its_message(
    district, open_case, concern, monkeypatch, error
):
    case = open_case()
    admin = signed_in_client(district["site_admin"])
    monkeypatch.setattr(services, "concern_dismiss", _refusing(error))
    monkeypatch.setattr(services, "note_add", _refusing(error))

    triage = admin.post(f"/triage/{concern.pk}/dismiss/", {"reason": "Her uncle."})
    case_page = admin.post(f"/cases/{case.pk}/notes/", {"text": "Spoke with her."})

    assert error.detail in triage.content.decode()
    assert error.detail in case_page.content.decode()


def test_it_keeps_each_message_of_a_validation_failure_by_its_field():
    refused = refusal(ValidationFailed({"reason": ["Say why."], "pathway": ["Choose one."]}))
    assert refused.status == 400
    assert refused.errors == {"reason": ["Say why."], "pathway": ["Choose one."]}


def test_it_puts_a_refusal_of_the_whole_form_where_the_page_says():
    refused = refusal(Conflict("It was already done."), general="concern")
    assert refused.status == 409
    assert refused.errors == {"concern": ["It was already done."]}

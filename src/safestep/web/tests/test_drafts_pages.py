"""Each page with forms shows a draft (typed before the session ended) back in its form,
the way it shows a refused form's values, once its owner has signed in again."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from safestep.accounts.models import Draft
from safestep.accounts.sessions import LAST_SEEN_KEY
from safestep.accounts.testing import sign_in_client
from safestep.cases import services
from safestep.cases.models import Case, Review
from safestep.testing import ago, complete
from safestep.web.drafts import CASE_FORMS

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
PHRASE = "Heron-Lamp-5521 seen at the bus stop"


def sent_after_the_timeout(client: Client, action: str, page: str, data: dict[str, str]) -> None:
    """Let CLIENT's session go idle, then send DATA to ACTION from PAGE, as a browser does."""
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 2 * 3600
    session.save()
    answer = client.post(
        action,
        data,
        headers={"Origin": SITE, "Sec-Fetch-Site": "same-origin", "Referer": SITE + page},
    )
    assert answer.status_code == 302 and "draft=kept" in answer["Location"], answer
    assert Draft.objects.filter(page=page.split("?")[0]).exists()


def back_after_signing_in(client: Client, user, page: str) -> str:
    sign_in_client(client, user)
    html = client.get(page).content.decode()
    assert not Draft.objects.exists(), "shown once, then deleted"
    return html


def test_it_maps_each_case_form_to_a_route_of_the_pages():
    for route in CASE_FORMS:
        assert reverse(f"web:{route}", kwargs=_arguments(route)).startswith("/cases/1/")


def _arguments(route: str) -> dict[str, object]:
    arguments: dict[str, object] = {"case_id": 1}
    if route.startswith("step-"):
        arguments["step_id"] = "campus_impact"
    if route == "case-person":
        arguments["person_id"] = 2
    return arguments


def test_it_restores_a_step_form_on_the_case_page(district, open_case):
    case = open_case()
    admin = district["site_admin"]
    client = sign_in_client(Client(), admin)
    page = f"/cases/{case.pk}/"
    sent_after_the_timeout(
        client,
        f"/cases/{case.pk}/steps/campus_impact/complete/",
        page,
        {"findings": PHRASE, "other_students_involved": "no", "version": str(case.version)},
    )
    html = back_after_signing_in(client, admin, page)
    assert re.search(r"<textarea[^>]*name=\"findings\"[^>]*>" + re.escape(PHRASE), html)
    assert "What you typed is back in the form" in html


def test_it_restores_a_check_in_on_the_case_page(district, open_case):
    case = open_case()
    counselor = district["counselor"]
    services.checkin_plan_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        every_days=7,
        assignee="counselor",
        expected_version=Case.objects.get(pk=case.pk).version,
    )
    client = sign_in_client(Client(), counselor)
    page = f"/cases/{case.pk}/"
    sent_after_the_timeout(
        client, f"/cases/{case.pk}/check-ins/", page, {"method": "phone", "notes": PHRASE}
    )
    html = back_after_signing_in(client, counselor, page)
    assert re.search(r"id=\"checkin-notes\"[^>]*>" + re.escape(PHRASE), html)


@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "changed since"])
def test_it_shows_the_current_answers_when_the_case_changed_since(district, open_case, changed):
    """As with a stale version: the questions show what is stored now, and the page says
    the case changed; unchanged, the draft's answers and reason come back."""
    case = open_case()
    admin = district["site_admin"]
    client = sign_in_client(Client(), admin)
    page = f"/cases/{case.pk}/"
    sent_after_the_timeout(
        client,
        f"/cases/{case.pk}/facts/",
        page,
        {"abuse_or_neglect_suspected": "no", "reason": PHRASE, "version": str(case.version)},
    )
    if changed:
        complete(district, case, "police_involved", {"agency": "school_police"})
    html = back_after_signing_in(client, admin, page)
    assert (PHRASE in html) is not changed
    assert ("Someone else changed this case since you opened it" in html) is changed


def test_it_restores_the_concern_form(district):
    reporter = district["reporter"]
    client = sign_in_client(Client(), reporter)
    sent_after_the_timeout(
        client,
        "/concerns/new/",
        "/concerns/new/",
        {"school": "LIN", "sis_id": "S-9", "first_name": "Ana", "description": PHRASE},
    )
    html = back_after_signing_in(client, reporter, "/concerns/new/")
    assert re.search(r"name=\"description\"[^>]*>" + re.escape(PHRASE), html)
    assert 'value="S-9"' in html


def test_it_restores_a_reporters_own_report(district):
    reporter = district["reporter"]
    concern = services.concern_submit(
        acting_user=reporter,
        school_code="LIN",
        student=services.StudentInput(sis_id="S-5", first_name="Jo", last_name="Kim"),
        observed_at=ago(hours=1),
        description="Seen with an older man.",
        indicators=[],
    )
    client = sign_in_client(Client(), reporter)
    page = f"/concerns/{concern.pk}/"
    sent_after_the_timeout(
        client,
        f"/concerns/{concern.pk}/own-report/",
        page,
        {"agency": "cws", "reference": "Heron-Lamp-5521"},
    )
    html = back_after_signing_in(client, reporter, page)
    assert "Heron-Lamp-5521" in html


def test_it_restores_a_triage_dismissal(district):
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        student=services.StudentInput(sis_id="S-6", first_name="Al", last_name="Ng"),
        observed_at=ago(hours=1),
        description="Heard a rumour.",
        indicators=[],
    )
    admin = district["site_admin"]
    client = sign_in_client(Client(), admin)
    sent_after_the_timeout(client, f"/triage/{concern.pk}/dismiss/", "/triage/", {"reason": PHRASE})
    html = back_after_signing_in(client, admin, "/triage/")
    assert re.search(r"<details class=\"dismiss\" open>", html)
    assert re.search(rf"id=\"reason-{concern.pk}\"[^>]*>" + re.escape(PHRASE), html)


def test_it_restores_a_review_decision(district):
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        student=services.StudentInput(sis_id="S-7", first_name="Al", last_name="Ng"),
        observed_at=ago(hours=1),
        description="Heard a rumour.",
        indicators=[],
    )
    services.concern_dismiss(acting_user=district["site_admin"], concern_id=concern.pk, reason="R.")
    review = Review.objects.get(concern=concern)
    coordinator = district["district_coordinator"]
    client = sign_in_client(Client(), coordinator)
    sent_after_the_timeout(
        client,
        f"/reviews/{review.pk}/decide/",
        "/reviews/",
        {"decision": "overruled", "comment": PHRASE},
    )
    html = back_after_signing_in(client, coordinator, "/reviews/")
    assert re.search(rf"id=\"comment-{review.pk}\"[^>]*>" + re.escape(PHRASE), html)

"""The audit page (/audit/) as people read it: local times, sentences, readable details, and
filters by case reference, user and days."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django.utils.dateformat import format as date_format

from safestep.accounts.testing import signed_in_client
from safestep.audit.models import Event
from safestep.cases import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(district):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(district[username])
        return clients[username]

    return make


def html(response) -> str:
    return response.content.decode()


def rows(body: str) -> list[str]:
    table = body[body.index("<tbody>") : body.index("</tbody>")]
    return re.findall(r"<tr>.*?</tr>", table, re.S)


@pytest.fixture
def waived(district, open_case):
    """A case whose parent contact was marked as not applying, with a sealed reason."""
    case = open_case()
    services.step_mark_not_applicable(
        acting_user=district["counselor"],
        case_id=case.pk,
        step_id="parent_contact",
        reason="Stepfather arranges the meetings.",
        details={"victim_consulted": True},
        expected_version=case.version,
    )
    return case


def test_it_shows_local_times_to_the_minute(as_user, waived):
    body = html(as_user("auditor").get("/audit/"))
    event = Event.objects.get(action="case.open")
    shown = date_format(timezone.localtime(event.at), "D j M Y, H:i")
    assert shown in body
    assert settings.TIME_ZONE in body
    # Never UTC with microseconds, as the API gives it.
    assert event.at.isoformat() not in re.sub(r'datetime="[^"]*"', "", body)
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", re.sub(r'datetime="[^"]*"', "", body))


def test_it_tells_each_event_in_words_with_readable_details(as_user, waived):
    body = html(as_user("auditor").get("/audit/"))
    assert "Opened the case on pathway “suspected_victim”." in body
    assert "Recorded that parent_contact does not apply." in body
    # Details are key: value lines, never a Python or JSON dict.
    table = body[body.index("<tbody>") : body.index("</tbody>")]
    assert "{" not in table and "[" not in table
    assert re.search(r"<dt>reference</dt><dd>CSEC-\d{4}-0001</dd>", body)


def test_it_shows_sealed_parts_only_to_roles_that_may_read_them(as_user, waived):
    query = "/audit/?action=step.not_applicable"
    coordinator = html(as_user("district_coordinator").get(query))
    auditor = html(as_user("auditor").get(query))
    assert "Sealed (case staff only):" in coordinator
    assert "<dt>reason</dt><dd>Stepfather arranges the meetings.</dd>" in coordinator
    assert "Stepfather" not in auditor and "Sealed" not in auditor


def test_it_filters_by_case_reference(as_user, open_case):
    first = open_case(sis_id="S-1")
    second = open_case(sis_id="S-2")
    answer = as_user("auditor").get("/audit/", {"case": second.reference.lower()})
    assert answer.status_code == 200
    found = rows(html(answer))
    assert found and all(second.reference in row for row in found)
    assert not any(first.reference in row for row in found)
    # The case's number (as in a page's address) works too.
    by_number = rows(html(as_user("auditor").get("/audit/", {"case": str(second.pk)})))
    assert len(by_number) == len(found)


def test_it_says_a_bad_case_reference_next_to_the_field(as_user, open_case):
    open_case()
    for typed, said in (
        ("CSEC-2026-9999", "No case CSEC-2026-9999 in the trail."),
        ("the Lopez case", "Give a case reference such as CSEC-2026-0001."),
    ):
        answer = as_user("auditor").get("/audit/", {"case": typed})
        assert answer.status_code == 400
        body = html(answer)
        assert f'<p class="error" id="f-case-error">{said}</p>' in body
        assert 'aria-invalid="true"' in body and 'href="#f-case"' in body
        assert "A valid integer is required" not in body


def test_it_filters_by_user_and_by_days(as_user, district, open_case):
    case = open_case()
    as_user("counselor").get(f"/cases/{case.pk}/")
    reads = rows(
        html(as_user("auditor").get("/audit/", {"actor": "counselor", "action": "case.read"}))
    )
    assert len(reads) == 1 and "Viewed the case." in reads[0] and "counselor" in reads[0]
    today = timezone.localdate()
    within = rows(html(as_user("auditor").get("/audit/", {"from": today, "to": today})))
    assert within
    tomorrow = today + timedelta(days=1)
    later = html(as_user("auditor").get("/audit/", {"from": tomorrow}))
    assert "No events match." in later
    yesterday = today - timedelta(days=1)
    before = html(as_user("auditor").get("/audit/", {"to": yesterday}))
    assert "No events match." in before


def test_it_says_a_bad_day_next_to_its_field(as_user, open_case):
    open_case()
    today = timezone.localdate()
    bad = as_user("auditor").get("/audit/", {"from": "yesterday"})
    assert bad.status_code == 400 and 'id="f-from-error"' in html(bad)
    backwards = as_user("auditor").get("/audit/", {"from": today, "to": today - timedelta(days=2)})
    assert backwards.status_code == 400
    assert "The last day comes before the first." in html(backwards)


def test_it_keeps_the_filters_on_the_next_page(as_user, open_case):
    case = open_case()
    client = as_user("auditor")
    for _ in range(101):
        client.get("/audit/", {"case": case.reference})
    body = html(client.get("/audit/", {"action": "audit.read"}))
    assert "action=audit.read&amp;page=2" in body

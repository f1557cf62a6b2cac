"""The case page at any length of history: a fixed, small number of queries, and the
earlier timeline, check-ins and notes a page at a time ("Show earlier ...")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safestep.accounts.testing import signed_in_client
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Case
from safestep.cases.selectors import HISTORY_PAGE

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
# The budget for every key page, whatever the case's history.
MOST_QUERIES = 12


def html(response) -> str:
    return response.content.decode()


def queries_of(client: Client, url: str) -> int:
    client.get(url)  # the first read compiles the protocol for this process
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def lengthen(district, case: Case, *, check_ins: int, notes: int) -> None:
    """Give CASE a history: a check-in plan, CHECK_INS check-ins, NOTES notes and reads."""
    case.refresh_from_db()
    services.checkin_plan_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        every_days=7,
        assignee="counselor",
        expected_version=case.version,
    )
    start = timezone.now() - timedelta(days=check_ins + 1)
    for number in range(check_ins):
        services.checkin_record(
            acting_user=district["counselor"],
            case_id=case.pk,
            occurred_at=start + timedelta(days=number),
            method="in_person",
            notes=f"check-in number {number}",
        )
    for number in range(notes):
        services.note_add(acting_user=district["counselor"], case_id=case.pk, text=f"note {number}")


def test_it_reads_the_case_page_in_at_most_twelve_queries_however_long_its_history(
    district, open_case
):
    short = open_case(sis_id="S-short")
    long = open_case(sis_id="S-long")
    other = open_case(sis_id="S-other")
    services.case_link(
        acting_user=district["site_admin"],
        case_id=long.pk,
        other_case_id=other.pk,
        relation="sibling",
    )
    lengthen(district, long, check_ins=HISTORY_PAGE + 10, notes=HISTORY_PAGE + 15)
    for username in ("site_admin", "counselor", "district_coordinator"):
        client = signed_in_client(district[username])
        typical = queries_of(client, f"/cases/{short.pk}/")
        longer = queries_of(client, f"/cases/{long.pk}/")
        assert typical <= MOST_QUERIES, username
        assert longer <= MOST_QUERIES, username
        assert longer == typical, username


def test_it_reads_the_case_api_and_the_case_list_in_at_most_twelve_queries(
    api_as, district, open_case
):
    short = open_case(sis_id="S-short")
    long = open_case(sis_id="S-long")
    lengthen(district, long, check_ins=HISTORY_PAGE + 5, notes=5)
    client = api_as("site_admin")
    typical = queries_of(client, f"/api/v1/cases/{short.pk}")
    longer = queries_of(client, f"/api/v1/cases/{long.pk}")
    assert typical <= MOST_QUERIES and longer == typical
    # The API answers with every check-in: it is the whole record, not a page of it.
    assert len(client.get(f"/api/v1/cases/{long.pk}").json()["check_ins"]) == HISTORY_PAGE + 5
    assert queries_of(client, "/api/v1/cases") <= MOST_QUERIES


def test_it_reads_my_work_in_at_most_twelve_queries_whatever_the_number_of_cases(
    district, open_case
):
    client = signed_in_client(district["site_admin"])
    open_case(sis_id="S-0")
    few = queries_of(client, "/")
    for number in range(1, 8):
        open_case(sis_id=f"S-{number}")
    many = queries_of(client, "/")
    assert few <= MOST_QUERIES and many == few
    assert html(client.get("/")).count("/cases/") >= 8


def test_it_shows_the_latest_check_ins_and_notes_and_fetches_earlier_ones_over_htmx(
    district, open_case
):
    case = open_case()
    lengthen(district, case, check_ins=HISTORY_PAGE + 3, notes=HISTORY_PAGE + 2)
    client = signed_in_client(district["counselor"])
    page = html(client.get(f"/cases/{case.pk}/"))
    assert f"check-in number {HISTORY_PAGE + 2}" in page and "check-in number 2<" not in page
    assert "note 1<" not in page and f"note {HISTORY_PAGE + 1}<" in page
    links = re.findall(r'href="(/cases/\d+/history/check-ins/\?before=\d+)"', page)
    assert len(links) == 1, "one link to the earlier check-ins"

    more = client.get(links[0], headers=HTMX)
    assert more.status_code == 200 and "<html" not in html(more)
    assert [f"check-in number {number}<" in html(more) for number in range(4)] == [
        True,
        True,
        True,
        False,  # the fourth oldest was already on the page
    ]
    notes_link = re.findall(r'href="(/cases/\d+/history/notes/\?before=\d+)"', page)[0]
    earlier_notes = html(client.get(notes_link, headers=HTMX))
    assert "note 0<" in earlier_notes and "note 1<" in earlier_notes
    assert "Show earlier notes" not in earlier_notes, "nothing earlier is left"


def test_it_pages_the_timeline_and_offers_the_earlier_events_as_a_page_without_javascript(
    district, open_case
):
    case = open_case()
    for number in range(HISTORY_PAGE + 5):
        services.note_add(acting_user=district["counselor"], case_id=case.pk, text=f"n{number}")
    client = signed_in_client(district["counselor"])
    page = html(client.get(f"/cases/{case.pk}/"))
    timeline = page[page.index('id="timeline"') :]
    assert timeline.count("<li>") == HISTORY_PAGE
    link = re.findall(r'href="(/cases/\d+/history/timeline/\?before=\d+)"', timeline)[0]

    # Without JavaScript the link is a page of its own, with the site's layout.
    earlier = client.get(link)
    assert earlier.status_code == 200
    assert "<html" in html(earlier) and "Earlier events of" in html(earlier)
    # The case's opening and the first notes: the 26 events less the 20 on the case page.
    listed = html(earlier)[html(earlier).index('<ol class="timeline">') :]
    assert listed.count("<li>") == 26 - HISTORY_PAGE


def test_it_audits_each_read_of_earlier_history_as_a_read_of_the_case(district, open_case):
    case = open_case()
    lengthen(district, case, check_ins=HISTORY_PAGE + 1, notes=0)
    client = signed_in_client(district["counselor"])
    page = html(client.get(f"/cases/{case.pk}/"))
    link = re.findall(r'href="(/cases/\d+/history/check-ins/\?before=\d+)"', page)[0]
    reads = Event.objects.filter(action="case.read", case_id=case.pk)
    before = reads.count()
    assert client.get(link, headers=HTMX).status_code == 200
    assert reads.count() == before + 1
    last = reads.order_by("-seq").first()
    assert last is not None
    assert last.actor_username == "counselor" and last.payload == {"via": "page"}


def test_it_answers_404_for_earlier_history_outside_the_readers_scope(district, open_case):
    case = open_case()
    lengthen(district, case, check_ins=HISTORY_PAGE + 1, notes=0)
    reads = Event.objects.filter(action="case.read", case_id=case.pk).count()
    outsider = signed_in_client(district["outsider_counselor"])
    for section in ("timeline", "check-ins", "notes"):
        answer = outsider.get(f"/cases/{case.pk}/history/{section}/?before=999999", headers=HTMX)
        assert answer.status_code == 404
    assert Event.objects.filter(action="case.read", case_id=case.pk).count() == reads


def test_it_refuses_a_page_of_history_without_a_whole_number_to_start_before(district, open_case):
    case = open_case()
    client = signed_in_client(district["counselor"])
    answer = client.get(f"/cases/{case.pk}/history/notes/?before=yesterday")
    assert answer.status_code == 400 and "before" in html(answer)
    assert client.get(f"/cases/{case.pk}/history/letters/?before=1").status_code == 404

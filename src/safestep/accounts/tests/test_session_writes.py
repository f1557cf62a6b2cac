"""A page that is only read writes nothing: the session's idle time is written at most once a
minute, and apart from the audit event of a case read no request for a page changes a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext

from safestep.accounts.sessions import LAST_SEEN_KEY, last_seen_resolution
from safestep.accounts.testing import sign_in_client
from safestep.audit.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

# Statements that frame a transaction change nothing by themselves.
FRAMING = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def stored_row(client: Client) -> tuple[str, datetime]:
    row = Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    return row.session_data, row.expire_date


def last_request_at(client: Client, seconds_ago: float) -> None:
    """What the server has stored: the session's last recorded request was SECONDS_AGO."""
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - seconds_ago
    session.save()


def writes_during(request: Callable[[], HttpResponseBase]) -> tuple[int, list[str]]:
    """The status of REQUEST() and every statement it sent that could change a row."""
    with CaptureQueriesContext(connection) as captured:
        status = request().status_code
    # A compound read opens with a parenthesis on PostgreSQL: "(SELECT ...) UNION ALL
    # (SELECT ...)"; no statement that changes a row does.
    statements = [entry["sql"].strip().lstrip("(").upper() for entry in captured.captured_queries]
    return status, [sql for sql in statements if not sql.startswith(("SELECT", "WITH", *FRAMING))]


def test_it_writes_no_session_change_for_a_page_read_within_the_minute(district):
    client = sign_in_client(Client(), district["counselor"])
    last_request_at(client, 30)
    before = stored_row(client)
    status, writes = writes_during(lambda: client.get("/"))
    assert status == 200
    assert writes == []
    assert stored_row(client) == before


def test_it_records_the_activity_once_a_minute_has_passed(district):
    client = sign_in_client(Client(), district["counselor"])
    last_request_at(client, 61)
    before_data, before_expiry = stored_row(client)
    assert client.get("/").status_code == 200
    after_data, after_expiry = stored_row(client)
    assert after_data != before_data
    assert after_expiry > before_expiry
    assert client.session[LAST_SEEN_KEY] > time.time() - 5


def test_it_ends_the_session_at_the_idle_timeout_from_the_recorded_request(district):
    idle = settings.SESSION_IDLE_SECONDS
    client = sign_in_client(Client(), district["counselor"])
    # Recorded 14 minutes 59 seconds ago: still signed in, and the activity is recorded.
    last_request_at(client, idle - 1)
    assert client.get("/").status_code == 200
    assert client.session[LAST_SEEN_KEY] > time.time() - 5
    # Requests within the minute are not recorded, so the timeout counts from the one that
    # was: a session ends at most a minute early, never late.
    last_request_at(client, idle + 1)
    answer = client.get("/")
    assert answer.status_code == 302 and "reason=idle" in answer["Location"]


def test_it_writes_the_idle_time_at_most_once_a_minute_for_the_default_timeout(settings):
    settings.SESSION_IDLE_SECONDS = 15 * 60
    assert last_seen_resolution() == 60
    settings.SESSION_IDLE_SECONDS = 60
    assert last_seen_resolution() == 4, "a short timeout stays as exact, in proportion"


@pytest.mark.parametrize(
    "path", ["/", "/cases/", "/dashboard/", "/api/v1/cases", "/session/", "/account/password/"]
)
def test_it_writes_nothing_when_a_page_is_only_read(district, open_case, path):
    open_case()
    client = sign_in_client(Client(), district["site_admin"])
    client.get(path)
    last_request_at(client, 30)
    status, writes = writes_during(lambda: client.get(path))
    assert status == 200
    assert writes == []


@pytest.mark.parametrize("path", ["/cases/{case}/", "/api/v1/cases/{case}"])
def test_it_writes_only_the_audit_event_when_a_case_is_read(district, open_case, path):
    case = open_case()
    client = sign_in_client(Client(), district["site_admin"])
    last_request_at(client, 30)
    events_before = Event.objects.filter(case_id=case.pk).count()
    status, writes = writes_during(lambda: client.get(path.format(case=case.pk)))
    assert status == 200
    assert len(writes) == 1 and writes[0].upper().startswith('INSERT INTO "AUDIT_EVENT"')
    assert Event.objects.filter(case_id=case.pk).count() == events_before + 1


def test_it_writes_only_the_audit_event_when_a_case_is_read_with_a_token(open_case, api_as):
    case = open_case()
    api = api_as("site_admin")
    api.get(f"/api/v1/cases/{case.pk}")
    status, writes = writes_during(lambda: api.get(f"/api/v1/cases/{case.pk}"))
    assert status == 200
    assert len(writes) == 1 and writes[0].upper().startswith('INSERT INTO "AUDIT_EVENT"')

"""Hostile input: each test replays an attack from the security probe and checks it fails.

Times no page can show, Unicode digits, deep or huge JSON, unknown API paths, a request id
chosen by the client, and a case read started by another site.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import timezone

from safestep.accounts.testing import signed_in_client
from safestep.audit.models import Event
from safestep.cases.models import CheckIn, Concern, StepRecord
from safestep.core.same_origin import audited_reads
from safestep.core.unavailable import server_error
from safestep.protocol import FieldSpec
from safestep.web.forms import format_detail, iso_to_local_input

pytestmark = pytest.mark.django_db

# The probe's value: in UTC it is year 0, which Python cannot hold.
YEAR_ONE = "0001-01-01T00:00:00+14:00"
# The earliest value SafeStep accepts: the first moment of 1990 anywhere on Earth.
EARLIEST = "1990-01-01T00:00:00+14:00"
PROBLEM = "application/problem+json"


def recent(hours: float = 1) -> str:
    return (timezone.now() - timedelta(hours=hours)).isoformat()


def concern_body(**extra: Any) -> dict[str, Any]:
    return {
        "school": "LIN",
        "student": {"sis_id": "S-7", "first_name": "Ana", "last_name": "Lopez"},
        "observed_at": recent(3),
        "description": "An older man collects her after school.",
        "indicators": [],
        **extra,
    }


def refused(answer, field: str, status: int = 400) -> dict[str, Any]:
    assert answer.status_code == status, answer.content[:500]
    assert answer["Content-Type"] == PROBLEM
    body = answer.json()
    assert field in body.get("errors", {}), body
    return body


@pytest.fixture
def pages(district):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(district[username])
        return clients[username]

    return make


# --- 1. times no page can show --------------------------------------------------------


def test_it_refuses_year_one_in_a_concern_and_its_own_report(api_as, pages):
    reporter = api_as("reporter")
    refused(
        reporter.post("/api/v1/concerns", concern_body(observed_at=YEAR_ONE), format="json"),
        "observed_at",
    )
    own = {"agency": "cws", "phoned_at": recent(2), "written_submitted_at": YEAR_ONE}
    refused(
        reporter.post("/api/v1/concerns", concern_body(own_report=own), format="json"),
        "own_report.written_submitted_at",
    )
    assert not Concern.objects.exists()
    assert pages("site_admin").get("/triage/").status_code == 200


def test_it_refuses_year_one_in_step_details_and_check_ins(api_as, open_case):
    case = open_case()
    admin = api_as("site_admin")
    details = {"agency": "cws", "phoned_at": YEAR_ONE}
    refused(
        admin.post(
            f"/api/v1/cases/{case.pk}/steps/cws_report/progress",
            {"details": details, "version": case.version},
            format="json",
        ),
        "details.phoned_at",
    )
    refused(
        admin.post(
            f"/api/v1/cases/{case.pk}/check-ins",
            {"occurred_at": "1000-01-02T00:00:00Z", "method": "in_person"},
            format="json",
        ),
        "occurred_at",
    )
    assert not StepRecord.objects.filter(case=case, step_id="cws_report").exists()
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize(
    "value",
    [
        "2020-01-01T00:00:00+99:00",  # an offset Python cannot hold
        "2020-01-01T00:00:00+23:59",  # one no place uses
        "99999-01-01T00:00:00Z",
        "9999-12-31T23:59:59-12:00",  # in UTC, year 10000
        "2026-03-02T09:30:00",  # no offset: refused, not guessed at
        (timezone.now() + timedelta(hours=1)).isoformat(),
    ],
)
def test_it_answers_400_for_times_out_of_range_never_500(api_as, open_case, value):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/check-ins",
        {"occurred_at": value, "method": "in_person"},
        format="json",
    )
    refused(answer, "occurred_at")


def test_it_shows_every_page_with_the_extreme_values_it_accepts(api_as, pages):
    """The earliest time accepted everywhere at once: every page that shows it answers 200."""
    reporter, admin = api_as("reporter"), api_as("site_admin")
    own = {"agency": "cws", "phoned_at": EARLIEST, "written_submitted_at": EARLIEST}
    first = reporter.post(
        "/api/v1/concerns", concern_body(observed_at=EARLIEST, own_report=own), format="json"
    )
    assert first.status_code == 201, first.json()
    second = reporter.post(
        "/api/v1/concerns",
        concern_body(
            observed_at=EARLIEST,
            own_report=own,
            student={"sis_id": "S-8", "first_name": "Bea", "last_name": "Lopez"},
        ),
        format="json",
    )
    assert second.status_code == 201, second.json()
    opened = admin.post(
        "/api/v1/cases",
        {
            "concern": first.json()["id"],
            "pathway": "suspected_victim",
            "suspicion_formed_at": EARLIEST,
        },
        format="json",
    )
    assert opened.status_code == 201, opened.json()
    case = opened.json()
    done = admin.post(
        f"/api/v1/cases/{case['id']}/steps/cws_report/complete",
        {
            "occurred_at": EARLIEST,
            "details": {"agency": "cws", "phoned_at": EARLIEST, "written_submitted_at": EARLIEST},
            "reason": "Entered from the paper archive.",
            "version": case["version"],
        },
        format="json",
    )
    assert done.status_code == 200, done.json()
    check_in = admin.post(
        f"/api/v1/cases/{case['id']}/check-ins",
        {"occurred_at": EARLIEST, "method": "in_person", "notes": "From the archive."},
        format="json",
    )
    assert check_in.status_code == 201, check_in.json()

    # The second concern waits in triage; the first is a case.
    assert pages("site_admin").get("/triage/").status_code == 200
    assert pages("site_admin").get(f"/cases/{case['id']}/").status_code == 200
    assert pages("site_admin").get(f"/cases/{case['id']}/?events=all").status_code == 200
    assert pages("reporter").get(f"/concerns/{second.json()['id']}/").status_code == 200
    pdf = admin.get(f"/api/v1/cases/{case['id']}/scar.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert admin.get(f"/api/v1/cases/{case['id']}").status_code == 200
    assert admin.get(f"/api/v1/cases/{case['id']}/timeline").status_code == 200


def _recent_gap() -> datetime | None:
    """A local time the district's clocks skipped (spring forward) within the last year."""
    zone = timezone.get_default_timezone()
    day = timezone.localtime(timezone.now(), zone).replace(tzinfo=None, second=0, microsecond=0)
    for _ in range(366 * 24):
        day -= timedelta(hours=1)
        first, second = day.replace(tzinfo=zone), day.replace(fold=1, tzinfo=zone)
        skipped = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != day
        if first.utcoffset() != second.utcoffset() and skipped:
            return day.replace(minute=30)
    return None


def test_it_refuses_a_check_in_at_a_time_the_clocks_skipped(api_as, pages, open_case):
    case = open_case()
    plan = {"every_days": 7, "assignee": "counselor", "version": case.version}
    planned = api_as("site_admin").put(
        f"/api/v1/cases/{case.pk}/check-in-plan", plan, format="json"
    )
    assert planned.status_code == 200
    gap = _recent_gap()
    if gap is None:
        pytest.skip(f"{settings.TIME_ZONE} has no daylight-saving time")
    answer = pages("counselor").post(
        f"/cases/{case.pk}/check-ins/",
        {
            "occurred_at": gap.strftime("%Y-%m-%dT%H:%M"),
            "method": "in_person",
            "notes": "Calmer.",
        },
    )
    assert answer.status_code == 400
    said = (
        f"{gap.hour}:30 does not exist on {gap.date().isoformat()} in {settings.TIME_ZONE}: "
        "clocks jumped forward."
    )
    assert said in answer.content.decode()
    assert not CheckIn.objects.exists()


def test_it_shows_a_time_stored_before_times_were_bounded_as_it_was_entered():
    spec = FieldSpec("at", "At", "datetime")
    assert format_detail(spec, YEAR_ONE) == YEAR_ONE
    assert iso_to_local_input(YEAR_ONE) == ""


# --- 2. parsers that never answer 500 ---------------------------------------------------


@pytest.mark.parametrize("digits", ["²", "\u0661", "1²", "9" * 5000, "-1", "0"])
def test_it_refuses_unicode_digits_in_if_match(api_as, open_case, digits):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/notes",
        {"text": "A note."},
        format="json",
        HTTP_IF_MATCH=f'"{digits}"',
    )
    refused(answer, "If-Match")


def test_it_still_takes_a_plain_if_match(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/close",
        {"outcome": "x"},
        format="json",
        HTTP_IF_MATCH=f'W/"{case.version + 5}"',
    )
    assert answer.status_code == 409  # read as a (stale) version, not refused as unreadable


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("close/", {"version": "²", "outcome": "Done."}, "The form lost track"),
        ("check-in-plan/", {"every_days": "²", "assignee": "counselor"}, "A whole number of days"),
        ("check-in-plan/", {"every_days": "9" * 5000, "assignee": "counselor"}, "A whole number"),
        ("links/", {"case": "²", "relation": "sibling"}, "Give a case reference"),
    ],
)
def test_it_refuses_unicode_digits_in_forms(pages, open_case, path, data, message):
    # "²".isdigit() is True and int("²") raises: each of these was a 500.
    case = open_case()
    if "version" not in data:
        data = {**data, "version": case.version}
    answer = pages("site_admin").post(f"/cases/{case.pk}/{path}", data)
    assert answer.status_code == 400
    assert message in answer.content.decode()


def test_it_refuses_a_body_over_the_limit_with_413(api_as, open_case, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/notes",
        json.dumps({"text": "x" * 20_000}),
        content_type="application/json",
    )
    assert answer.status_code == 413
    assert answer["Content-Type"] == PROBLEM
    assert answer.json()["detail"] == "The request body is larger than 10000 bytes."


def test_it_refuses_a_million_keys(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/steps/campus_impact/complete",
        {
            "occurred_at": recent(),
            "details": {f"k{number}": "x" for number in range(5000)},
            "version": case.version,
        },
        format="json",
    )
    body = refused(answer, "details")
    assert len(json.dumps(body)) < 1000


def test_it_answers_every_api_error_with_problem_json(api_as, open_case):
    case = open_case()
    admin = api_as("site_admin")
    for answer, status in (
        (admin.get("/api/nowhere"), 404),
        (admin.get("/api/v1/cases/1/nowhere"), 404),
        (Client().get("/api/v2/cases"), 404),
        (admin.delete(f"/api/v1/cases/{case.pk}"), 405),
        (admin.post(f"/api/v1/cases/{case.pk}/notes", "text=x", content_type="text/plain"), 415),
        (
            admin.post(
                f"/api/v1/cases/{case.pk}/notes", b"\xff\xfe", content_type="application/json"
            ),
            400,
        ),
    ):
        assert answer.status_code == status, answer.content[:200]
        assert answer["Content-Type"] == PROBLEM
        assert answer.json()["status"] == status


def test_it_answers_a_server_error_under_api_with_problem_json():
    request = RequestFactory().get("/api/v1/cases")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        answer = server_error(request)
    assert answer.status_code == 500
    assert answer["Content-Type"] == PROBLEM
    assert "a bug" not in answer.content.decode()


@pytest.mark.parametrize("version", [10**30, 2**63])
def test_it_refuses_numbers_no_database_can_hold(api_as, open_case, version):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/notes", {"text": "x", "version": version}, format="json"
    )
    refused(answer, "version")


# --- 3. audit hygiene ------------------------------------------------------------------


def test_it_makes_the_request_id_itself(api_as, open_case):
    case = open_case()
    chosen = "00000000000000000000000000000000"
    answer = api_as("site_admin").get(f"/api/v1/cases/{case.pk}", HTTP_X_REQUEST_ID=chosen)
    assert answer.status_code == 200
    read = Event.objects.filter(action="case.read").latest("seq")
    assert read.request_id != chosen
    assert re.fullmatch(r"[0-9a-f]{32}", read.request_id)
    assert answer["X-Request-ID"] == read.request_id


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_it_refuses_a_case_read_another_site_started(pages, open_case, site):
    case = open_case()
    browser = pages("site_admin")
    before = Event.objects.count()
    for path in (
        f"/cases/{case.pk}/",
        f"/cases/{case.pk}/protocol/",
        f"/api/v1/cases/{case.pk}",
        f"/api/v1/cases/{case.pk}/scar.pdf",
        f"/api/v1/cases/{case.pk}/timeline",
        f"/api/v1/cases/{case.pk}/attachments",
        "/audit/",
    ):
        answer = browser.get(path, HTTP_SEC_FETCH_SITE=site)
        assert answer.status_code == 403, path
        if path.startswith("/api/"):
            assert answer["Content-Type"] == PROBLEM
    # Nothing written: not a read, not even a denial in the user's name.
    assert Event.objects.count() == before
    page = browser.get(f"/cases/{case.pk}/?events=all", HTTP_SEC_FETCH_SITE=site).content
    assert f'href="/cases/{case.pk}/?events=all"' in page.decode()


@pytest.mark.parametrize("site", ["same-origin", "none", None])
def test_it_still_opens_a_case_from_its_own_pages_or_a_typed_address(pages, open_case, site):
    case = open_case()
    headers = {} if site is None else {"HTTP_SEC_FETCH_SITE": site}
    answer = pages("site_admin").get(f"/cases/{case.pk}/", **headers)
    assert answer.status_code == 200
    assert Event.objects.filter(action="case.read", case_id=case.pk).count() == 1


def test_it_leaves_api_tokens_alone(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").get(f"/api/v1/cases/{case.pk}", HTTP_SEC_FETCH_SITE="cross-site")
    assert answer.status_code == 200


def _route_names(patterns=None, namespace: str = "") -> set[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    names: set[str] = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _route_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_it_guards_audited_reads_by_names_that_exist():
    # A renamed route would silently lose its guard: every name must still be a route.
    assert audited_reads()
    assert not audited_reads() - _route_names()

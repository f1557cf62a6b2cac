"""The dashboard's figures, checked against ones worked out by hand from five cases."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from safestep.accounts.testing import signed_in_client
from safestep.cases import services
from safestep.cases.models import Case, CheckInPlan
from safestep.reports.periods import Period, local_today, month_end, month_start, months_back
from safestep.reports.rollups import rollup_case_changed
from safestep.reports.selectors import Ratio, check_in_record, dashboard_for_user
from safestep.testing import complete

NOW = timezone.now()
# Some of these reports are late on purpose; a late report carries its reason.
LATE = "The principal was away."


@pytest.fixture(autouse=True)
def _one_now_per_test() -> None:
    """Times here count back from the test's own start, as the shared ``complete`` (which
    counts from the moment it runs) does: a suite that ran for minutes before this test must
    not shift the figures."""
    global NOW
    NOW = timezone.now()


def at(hours: float) -> datetime:
    """HOURS before the test's "now"."""
    return NOW - timedelta(hours=hours)


def this_year() -> Period:
    today = local_today(NOW)
    return Period(months_back(month_start(today), 11), month_end(today))


def open_case(district, pathway, *, school="LIN", suspicion_hours_ago: float, n: int) -> Case:
    return services.case_open(
        acting_user=district["site_admin" if school == "LIN" else "outsider_admin"],
        pathway=pathway,
        suspicion_formed_at=at(suspicion_hours_ago),
        summary="",
        school_code=school,
        student=services.StudentInput(sis_id=f"D-{n}", first_name="Test", last_name=f"S{n}"),
    )


def cws(phoned: float, written: float) -> dict:
    return {
        "agency": "cws",
        "phoned_at": at(phoned).isoformat(),
        "written_submitted_at": at(written).isoformat(),
    }


@pytest.fixture
def five_cases(district):
    """By hand (hours from suspicion):

    c1 LIN suspected: police at 10 h, written report at 30 h (in time); check-ins kept
       1 of 2 times (see below).
    c2 LIN confirmed: police at 30 h, written report at 50 h (late).
    c3 ROO recruitment, opened two months ago: police at 2 h; no CWS step.
    c4 LIN confirmed: nothing done, suspicion 40 h ago: the report is 4 h overdue.
    c5 LIN suspected: suspicion 10 h ago, nothing done, nothing overdue yet.
    """
    c1 = open_case(district, "suspected_victim", suspicion_hours_ago=50, n=1)
    complete(
        district,
        c1,
        "police_involved",
        {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
        hours_ago=40,
    )
    complete(district, c1, "cws_report", cws(45, 20), hours_ago=45, by="counselor")
    c1.refresh_from_db()
    services.checkin_plan_set(
        acting_user=district["counselor"],
        case_id=c1.pk,
        every_days=7,
        assignee="counselor",
        expected_version=c1.version,
    )
    # The plan started 20 days ago; check-ins on day 5 (due day 7: on time) and day 17
    # (due day 12: missed). The next is due on day 24, after "now" (day 20): 1 of 2.
    CheckInPlan.objects.filter(case=c1).update(started_at=at(20 * 24))
    for day in (5, 17):
        services.checkin_record(
            acting_user=district["counselor"],
            case_id=c1.pk,
            occurred_at=at((20 - day) * 24),
            method="in_person",
            notes="Attends every day.",
        )
    c2 = open_case(district, "confirmed_victim", suspicion_hours_ago=60, n=2)
    complete(district, c2, "police_involved", {"agency": "school_police"}, hours_ago=30)
    complete(district, c2, "cws_report", cws(55, 10), hours_ago=55, reason=LATE)
    c3 = open_case(district, "recruitment_by_student", school="ROO", suspicion_hours_ago=5, n=3)
    complete(
        district,
        c3,
        "police_involved",
        {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
        hours_ago=3,
        by="outsider_admin",
    )
    two_months_ago = months_back(month_start(local_today(NOW)), 2)
    Case.objects.filter(pk=c3.pk).update(
        opened_at=datetime(two_months_ago.year, two_months_ago.month, 15, 12, tzinfo=NOW.tzinfo)
    )
    # Backdated behind the services' back: the rollup follows, as a service would see to.
    rollup_case_changed(c3)
    c4 = open_case(district, "confirmed_victim", suspicion_hours_ago=40, n=4)
    c5 = open_case(district, "suspected_victim", suspicion_hours_ago=10, n=5)
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def test_it_computes_the_coordinators_figures_across_all_schools(district, five_cases):
    board = dashboard_for_user(district["district_coordinator"], period=this_year(), now=NOW)
    assert board.open_cases == {
        ("LIN", "suspected_victim"): 2,
        ("LIN", "confirmed_victim"): 2,
        ("ROO", "recruitment_by_student"): 1,
    }
    assert [(item.reference, item.step_id) for item in board.overdue] == [
        (five_cases["c4"].reference, "cws_report")
    ]
    assert board.overdue[0].hours_overdue == pytest.approx(4, abs=0.1)
    assert board.hours_to_police.hours == 10  # median of 10, 30, 2
    assert board.hours_to_police.cases == 3
    assert board.hours_to_cws.hours == 40  # median of 30, 50
    assert board.cws_within_deadline == Ratio(1, 3)  # c1 in time; c2 late; c4 not filed
    assert board.check_in_adherence == Ratio(1, 2)
    months = dict(board.opened_by_month)
    this_month = f"{local_today(NOW):%Y-%m}"
    two_months_ago = f"{months_back(month_start(local_today(NOW)), 2):%Y-%m}"
    assert months[this_month] == {"suspected_victim": 2, "confirmed_victim": 2}
    assert months[two_months_ago] == {"recruitment_by_student": 1}
    assert len(board.opened_by_month) == 12
    assert [code for code, _name in board.schools] == ["LIN", "ROO"]


def test_it_shows_a_site_admin_only_their_schools(district, five_cases):
    board = dashboard_for_user(district["site_admin"], period=this_year(), now=NOW)
    assert board.open_total() == 4
    assert ("ROO", "recruitment_by_student") not in board.open_cases
    assert board.hours_to_police.hours == 20  # median of 10 and 30: c3 is at ROO
    assert board.cws_within_deadline == Ratio(1, 3)
    assert [code for code, _name in board.schools] == ["LIN"]


def test_it_counts_figures_only_for_cases_opened_in_the_period(district, five_cases):
    two_months_ago = months_back(month_start(local_today(NOW)), 2)
    only_then = Period(two_months_ago, month_end(two_months_ago))
    board = dashboard_for_user(district["district_coordinator"], period=only_then, now=NOW)
    assert board.hours_to_police.hours == 2
    assert board.cws_within_deadline == Ratio(0, 0)
    assert board.open_total() == 5  # open cases are as of now, whenever they were opened


@pytest.mark.parametrize(
    ("check_in_days", "now_day", "expected"),
    [
        ([], 3, Ratio(0, 0)),  # nothing due yet
        ([], 7, Ratio(0, 0)),  # due on day 7 at the start time: not yet past
        ([], 22, Ratio(0, 3)),  # days 7, 14 and 21 all missed
        ([2, 8, 15], 20, Ratio(3, 3)),  # all on time: due 7, 9, 15
        ([10], 20, Ratio(0, 2)),  # day 7 missed; late one on 10; due 17, nothing: missed
        ([3], 4, Ratio(1, 1)),  # done early counts as soon as it is done
    ],
)
def test_it_counts_check_ins_due_and_done_on_time(check_in_days, now_day, expected):
    start = datetime(2026, 1, 5, 10, tzinfo=NOW.tzinfo)
    day = timedelta(days=1)
    result = check_in_record(
        plan_started_at=start,
        every_days=7,
        check_ins=[start + d * day for d in check_in_days],
        until=start + now_day * day,
    )
    assert result == expected


# --- the page --------------------------------------------------------------------------------


def test_it_draws_each_chart_with_a_table_and_the_data_for_the_charts(district, five_cases):
    page = signed_in_client(district["district_coordinator"]).get("/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    for chart in ("open", "overdue", "monthly"):
        assert f'data-chart="{chart}"' in html
        assert f'data-table-for="{chart}"' in html
    block = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert block is not None
    data = json.loads(block.group(1))
    assert data["open"]["labels"] == ["LIN", "ROO"]
    suspected = next(
        d for d in data["open"]["datasets"] if d["label"] == "Suspected victim of CSEC"
    )
    assert suspected["data"] == [2, 0]
    # No inline script: the charts come from a static file, which a strict CSP allows.
    assert re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html) is None
    assert "reports/vendor/chart.umd.min.js" in html
    assert 'data-figure="cws-within-36h">33%' in html
    assert five_cases["c4"].reference in html


@pytest.mark.parametrize("username", ["counselor", "school_police", "auditor", "reporter"])
def test_it_refuses_roles_that_do_not_run_cases(district, username):
    assert signed_in_client(district[username]).get("/dashboard/").status_code == 403


def test_it_explains_a_bad_period_and_still_shows_the_dashboard(district):
    page = signed_in_client(district["site_admin"]).get("/dashboard/", {"from": "2026-13"})
    assert page.status_code == 400
    assert "From:" in page.content.decode()

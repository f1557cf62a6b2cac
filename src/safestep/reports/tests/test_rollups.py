"""The dashboard's rollup: kept by the case services, equal to a recount from scratch,
read in a number of queries that does not grow with the cases, and checked by
``safestep rollup verify``."""

from __future__ import annotations

import contextlib
import importlib
import io
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safestep.accounts.testing import signed_in_client
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Case, CaseStatus, Review
from safestep.reports import rollups
from safestep.reports.models import (
    CaseRollup,
    DistrictRollup,
    DistrictRollupHours,
    OpenStep,
    RollupHours,
)
from safestep.reports.periods import Period, local_today, month_end, month_start, months_back
from safestep.reports.rollups import (
    check_in_schedule,
    check_ins_missed_since,
    hours_bucket,
    rollup_differences,
    rollup_rebuild,
)
from safestep.reports.selectors import Median, dashboard_for_user, median_of_buckets
from safestep.testing import ago, complete

THREAT = "An adult outside school is exploiting the student."
students = itertools.count(1)


def this_year() -> Period:
    today = local_today(timezone.now())
    return Period(months_back(month_start(today), 11), month_end(today))


def assert_rollup_matches_a_recount() -> None:
    assert [drift.line() for drift in rollup_differences().drift] == []


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def open_case(district: Any, pathway: str, *, hours_ago: float = 40, school: str = "LIN") -> Case:
    number = next(students)
    return services.case_open(
        acting_user=district["site_admin" if school == "LIN" else "outsider_admin"],
        pathway=pathway,
        suspicion_formed_at=ago(hours=hours_ago),
        summary="",
        school_code=school,
        student=services.StudentInput(sis_id=f"R-{number}", first_name="Test", last_name="R"),
    )


def written_report(phoned_hours_ago: float, written_hours_ago: float) -> dict[str, str]:
    return {
        "agency": "cws",
        "phoned_at": ago(hours=phoned_hours_ago).isoformat(),
        "written_submitted_at": ago(hours=written_hours_ago).isoformat(),
    }


def transfer_to_roosevelt(district: Any, case: Case) -> None:
    """The placement review decides a transfer to ROO, and the coordinator records it."""
    complete(
        district,
        case,
        "placement_review",
        {"decision": "transfer", "reason": "A fresh start.", "new_school": "ROO"},
        by="placement_office",
        hours_ago=1,
    )
    services.case_transfer(
        acting_user=district["district_coordinator"],
        case_id=case.pk,
        school_code="ROO",
        completed_at=ago(minutes=30),
        expected_version=fresh(case).version,
    )


def test_it_keeps_the_rollup_equal_to_a_recount_through_every_kind_of_change(district):
    coordinator = district["district_coordinator"]
    # Opened, police involved, the written report filed in time.
    first = open_case(district, "suspected_victim", hours_ago=40)
    assert_rollup_matches_a_recount()
    complete(district, first, "police_involved", {"agency": "sdpd", "threat": THREAT}, hours_ago=30)
    complete(district, first, "cws_report", written_report(35, 20), hours_ago=35, by="counselor")
    assert_rollup_matches_a_recount()
    board = dashboard_for_user(coordinator, period=this_year(), now=timezone.now())
    assert board.hours_to_police == Median(10.0, 1)
    assert board.hours_to_cws == Median(20.0, 1)
    assert (board.cws_within_deadline.met, board.cws_within_deadline.of) == (1, 1)

    # Escalated to a confirmed victim: the case moves to another cell.
    services.case_escalate(
        acting_user=district["site_admin"],
        case_id=first.pk,
        pathway="confirmed_victim",
        reason="The student disclosed.",
        expected_version=fresh(first).version,
    )
    assert_rollup_matches_a_recount()
    board = dashboard_for_user(coordinator, period=this_year(), now=timezone.now())
    assert board.open_cases == {("LIN", "confirmed_victim"): 1}

    # Check-ins planned and recorded; then transferred to another school.
    services.checkin_plan_set(
        acting_user=district["site_admin"],
        case_id=first.pk,
        every_days=7,
        assignee="counselor",
        expected_version=fresh(first).version,
    )
    services.checkin_record(
        acting_user=district["counselor"],
        case_id=first.pk,
        occurred_at=ago(hours=1),
        method="in_person",
        notes="Attends every day.",
    )
    assert_rollup_matches_a_recount()
    transfer_to_roosevelt(district, first)
    assert_rollup_matches_a_recount()
    board = dashboard_for_user(coordinator, period=this_year(), now=timezone.now())
    assert board.open_cases == {("ROO", "confirmed_victim"): 1}

    # A report waived, and the waiver overruled: the report is due (and overdue) again.
    second = open_case(district, "suspected_victim", hours_ago=40)
    services.step_mark_not_applicable(
        acting_user=district["site_admin"],
        case_id=second.pk,
        step_id="cws_report",
        reason="CWS already knows.",
        expected_version=fresh(second).version,
    )
    assert_rollup_matches_a_recount()
    review = Review.objects.get(case=second)
    services.review_decide(
        acting_user=coordinator,
        review_id=review.pk,
        decision="overruled",
        comment="CWS must get the written report.",
    )
    assert_rollup_matches_a_recount()
    board = dashboard_for_user(coordinator, period=this_year(), now=timezone.now())
    assert (second.reference, "cws_report") in {
        (item.reference, item.step_id) for item in board.overdue
    }

    # Voided as opened in error: it counts nowhere.
    services.case_void(
        acting_user=district["site_admin"],
        case_id=second.pk,
        reason="Opened for the wrong student.",
        expected_version=fresh(second).version,
    )
    assert_rollup_matches_a_recount()
    board = dashboard_for_user(coordinator, period=this_year(), now=timezone.now())
    assert second.reference not in {item.reference for item in board.overdue}

    # Closed once every step is resolved.
    third = open_case(district, "recruitment_by_student", hours_ago=5)
    complete(district, third, "police_involved", {"agency": "sdpd", "threat": THREAT}, hours_ago=4)
    complete(
        district, third, "campus_impact", {"findings": "none", "other_students_involved": False}
    )
    complete(
        district,
        third,
        "school_consequences",
        {
            "consequence": "none: first offence",
            "expulsion_recommended": False,
            "referred_for_criminal_investigation": True,
        },
    )
    services.case_close(
        acting_user=district["site_admin"],
        case_id=third.pk,
        outcome="Done.",
        expected_version=fresh(third).version,
    )
    assert fresh(third).status == CaseStatus.CLOSED
    assert_rollup_matches_a_recount()
    board = dashboard_for_user(coordinator, period=this_year(), now=timezone.now())
    assert board.open_total() == 1
    assert board.hours_to_police == Median(5.5, 2)  # 10 h and 1 h
    assert sum(sum(counts.values()) for _month, counts in board.opened_by_month) == 2


def test_it_gives_the_district_the_figures_its_schools_cells_add_up_to(district, monkeypatch):
    coordinator = district["district_coordinator"]
    moved = open_case(district, "confirmed_victim", hours_ago=40)
    complete(district, moved, "police_involved", {"agency": "sdpd", "threat": THREAT}, hours_ago=38)
    complete(district, moved, "cws_report", written_report(39, 20), hours_ago=39, by="counselor")
    elsewhere = open_case(district, "suspected_victim", hours_ago=12, school="ROO")
    complete(
        district,
        elsewhere,
        "police_involved",
        {"agency": "sdpd", "threat": THREAT},
        by="outsider_admin",
        hours_ago=9,
    )
    open_case(district, "suspected_victim", hours_ago=3)
    # Moved to another school: its month and pathway, so the district's cell, stay the same.
    transfer_to_roosevelt(district, moved)
    assert_rollup_matches_a_recount()
    month = f"{local_today(timezone.now()):%Y-%m}"
    assert DistrictRollup.objects.get(pathway="confirmed_victim", month=month).opened == 1
    assert DistrictRollup.objects.get(pathway="suspected_victim", month=month).opened == 2

    now = timezone.now()
    from_district = dashboard_for_user(coordinator, period=this_year(), now=now)
    monkeypatch.setattr(
        "safestep.reports.selectors.case_scope_names_no_school", lambda _user: False
    )
    from_schools = dashboard_for_user(coordinator, period=this_year(), now=now)
    assert from_district == from_schools
    assert from_district.hours_to_police == Median(2.5, 2)  # 2 h and 3 h
    assert from_district.hours_to_cws == Median(20.0, 1)


def make_cases(district: Any, count: int) -> None:
    """COUNT cases of every kind the dashboard draws: overdue reports, filed ones, check-ins."""
    for number in range(count):
        case = open_case(district, ("confirmed_victim", "suspected_victim")[number % 2])
        if number % 3 == 0:
            complete(district, case, "police_involved", {"agency": "sdpd", "threat": THREAT})
        if number % 5 == 0:
            services.checkin_plan_set(
                acting_user=district["site_admin"],
                case_id=case.pk,
                every_days=1,
                assignee="counselor",
                expected_version=fresh(case).version,
            )


def dashboard_queries(district: Any) -> tuple[int, int]:
    """The queries of the dashboard's figures, and of the whole page."""
    # A full log (9,000 entries) would count nothing: start from an empty one.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as figures:
        dashboard_for_user(district["district_coordinator"], period=this_year(), now=timezone.now())
    client = signed_in_client(district["district_coordinator"])
    client.get("/dashboard/")  # the session's first request settles its own writes
    with CaptureQueriesContext(connection) as page:
        assert client.get("/dashboard/").status_code == 200
    return len(figures), len(page)


def test_it_reads_the_dashboard_in_the_same_number_of_queries_for_5_and_50_cases(district):
    make_cases(district, 5)
    with_five = dashboard_queries(district)
    make_cases(district, 45)
    with_fifty = dashboard_queries(district)
    assert with_five == with_fifty
    assert with_fifty[0] <= 12
    board = dashboard_for_user(
        district["district_coordinator"], period=this_year(), now=timezone.now()
    )
    assert board.open_total() == 50
    assert_rollup_matches_a_recount()


def run_verify() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("rollup", "verify", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_it_reports_a_tampered_cell_and_rebuild_puts_it_right(district):
    case = open_case(district, "confirmed_victim")
    complete(district, case, "police_involved", {"agency": "sdpd", "threat": THREAT}, hours_ago=30)
    code, out, _err = run_verify()
    assert code == 0
    assert out.strip() == "rollup matches: 1 cells (1 hour buckets, 1 cases)"

    CaseRollup.objects.filter(pathway="confirmed_victim").update(open=F("open") + 2)
    RollupHours.objects.update(cases=F("cases") + 1)
    DistrictRollupHours.objects.update(cases=F("cases") + 3)
    code, _out, err = run_verify()
    assert code == 1
    month = f"{local_today(timezone.now()):%Y-%m}"
    assert f"drift: LIN/confirmed_victim/{month} open: stored 3, counted 1" in err
    assert "police_hours_bucket_10h: stored 2, counted 1" in err
    assert (
        f"drift: district/confirmed_victim/{month} police_hours_bucket_10h: stored 4, counted 1"
        in err
    )

    rebuilt = io.StringIO()
    call_command("rollup", "rebuild", stdout=rebuilt)
    assert rebuilt.getvalue().strip() == "rollup rebuilt: 1 cells, 3 figures corrected"
    event = Event.objects.get(action="rollup.rebuild")
    assert event.payload == {"cells": 1, "corrected": 3}
    assert run_verify()[0] == 0


def test_it_reads_a_median_from_buckets_as_from_the_values():
    values = [2.0, 10.0, 30.0, 30.04, 200.4, 1000.0]
    buckets: dict[int, int] = {}
    for value in values:
        buckets[hours_bucket(value)] = buckets.get(hours_bucket(value), 0) + 1
    assert median_of_buckets(buckets) == Median(30.0, 6)
    assert median_of_buckets({100: 1, 300: 2}) == Median(30.0, 3)
    assert median_of_buckets({100: 1, 300: 1}) == Median(20.0, 2)
    assert median_of_buckets({}) == Median(None, 0)
    # Beyond a week the bucket is an hour, beyond 30 days a day.
    assert hours_bucket(200.4) == 2000
    assert hours_bucket(1000.0) == 10080


# --- random sequences of service calls -------------------------------------------------------

STEPS = st.lists(
    st.sampled_from(
        ["open", "police", "report", "escalate", "plan", "check_in", "clock", "void", "reopen_step"]
    ),
    min_size=1,
    max_size=8,
)


def _apply(district: Any, cases: list[Case], action: str, pick: int) -> None:
    """One service call; a refusal (a step already done, a case voided) changes nothing."""
    from safestep.core.errors import SafeStepError

    if action == "open" or not cases:
        cases.append(open_case(district, "suspected_victim", hours_ago=20 + pick % 30))
        return
    case = fresh(cases[pick % len(cases)])
    admin = district["site_admin"]
    calls = {
        "police": lambda: complete(
            district, case, "police_involved", {"agency": "sdpd", "threat": THREAT}, hours_ago=2
        ),
        "report": lambda: complete(
            district, case, "cws_report", written_report(3, 1), hours_ago=3, reason="Late."
        ),
        "escalate": lambda: services.case_escalate(
            acting_user=admin,
            case_id=case.pk,
            pathway="confirmed_victim",
            reason="Disclosed.",
            expected_version=case.version,
        ),
        "plan": lambda: services.checkin_plan_set(
            acting_user=admin,
            case_id=case.pk,
            every_days=1,
            assignee="counselor",
            expected_version=case.version,
        ),
        "check_in": lambda: services.checkin_record(
            acting_user=district["counselor"],
            case_id=case.pk,
            occurred_at=ago(minutes=5),
            method="in_person",
            notes="Seen.",
        ),
        "clock": lambda: services.case_clock_move(
            acting_user=admin,
            case_id=case.pk,
            suspicion_formed_at=case.suspicion_formed_at - timedelta(hours=5),
            reason="Known earlier.",
            expected_version=case.version,
        ),
        "void": lambda: services.case_void(
            acting_user=admin,
            case_id=case.pk,
            reason="Wrong student.",
            expected_version=case.version,
        ),
        "reopen_step": lambda: services.step_reopen(
            acting_user=admin,
            case_id=case.pk,
            step_id="police_involved",
            reason="Wrong agency.",
            expected_version=case.version,
        ),
    }
    with contextlib.suppress(SafeStepError):
        calls[action]()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=STEPS, picks=st.lists(st.integers(0, 100), min_size=8, max_size=8))
def test_it_matches_a_recount_after_any_sequence_of_service_calls(district, actions, picks):
    cases: list[Case] = []
    for action, pick in zip(actions, picks, strict=False):
        _apply(district, cases, action, pick)
    assert_rollup_matches_a_recount()


def work_by_evaluating_every_open_case(user: Any, now: datetime) -> list[tuple[Any, ...]]:
    """My work as it was computed before the rollup kept open steps: the protocol engine
    run on every open case in USER's scope."""
    from safestep.accounts.access import may_resolve_step
    from safestep.cases.selectors import (
        case_evaluation,
        case_list_for_user,
        case_next_check_in_due,
    )
    from safestep.protocol import StepState

    items: list[tuple[Any, ...]] = []
    for listed in case_list_for_user(user, status=CaseStatus.OPEN):
        case = Case.objects.get(pk=listed.pk)
        for status in case_evaluation(case, now=now).steps:
            if status.state in (StepState.PENDING, StepState.IN_PROGRESS) and may_resolve_step(
                user, status.step.actor_roles
            ):
                items.append((case.pk, status.step.id, str(status.state), status.due_at))
        plan = getattr(case, "check_in_plan", None)
        if plan is not None and plan.assignee_id == user.pk:
            due = case_next_check_in_due(case)
            if due is not None:
                items.append((case.pk, None, "check_in", due))
    return sorted(items, key=lambda item: (item[3] is None, item[3] or now, item[0], item[1] or ""))


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=STEPS, picks=st.lists(st.integers(0, 100), min_size=8, max_size=8))
def test_it_lists_the_work_and_steps_to_do_that_evaluating_every_case_finds(
    district, actions, picks
):
    from safestep.cases.outputs import case_summary_output
    from safestep.cases.selectors import case_evaluation, case_list_for_user, my_work_for_user

    cases: list[Case] = []
    for action, pick in zip(actions, picks, strict=False):
        _apply(district, cases, action, pick)
    now = timezone.now()
    for username in ("site_admin", "counselor", "school_police", "district_coordinator"):
        user = district[username]
        mine = my_work_for_user(user, now=now, limit=0)
        listed = [
            (item.case.pk, item.step.id if item.step else None, item.state, item.due_at)
            for item in mine.items
        ]
        # Same work, same order up to ties in due time (the cases' order then is by reference).
        assert sorted(listed, key=repr) == sorted(
            work_by_evaluating_every_open_case(user, now), key=repr
        ), username
        assert [item[3] for item in listed] == sorted(
            (item[3] for item in listed), key=lambda due: (due is None, due or now)
        )
        assert mine.work_total == len(listed)
        assert all(
            item.overdue == (item.due_at is not None and item.due_at < now) for item in mine.items
        )
        # Lists show each case's steps to do from the same rows.
        listed_cases = list(case_list_for_user(user))
        assert {case.pk for case in listed_cases} >= {item[0] for item in listed}
        for case in listed_cases:
            evaluation = case_evaluation(Case.objects.get(pk=case.pk))
            summary = case_summary_output(user, case)
            assert summary["unresolved"] == (
                list(evaluation.unresolved) if case.status == CaseStatus.OPEN else []
            ), username
            assert summary["overdue"] == (
                list(evaluation.overdue) if case.status == CaseStatus.OPEN else []
            ), username


def test_it_fills_the_rollup_when_an_upgrade_brings_it_to_a_database_with_cases(district):
    case = open_case(district, "confirmed_victim")
    complete(district, case, "police_involved", {"agency": "sdpd", "threat": THREAT}, hours_ago=30)
    # As before the upgrade: cases, and no rollup yet.
    for model in rollups.ROLLUP_MODELS:
        model._default_manager.all().delete()
    assert rollup_differences().drift

    call_command("migrate", verbosity=0)  # nothing to apply; the rollup is filled after it

    assert_rollup_matches_a_recount()
    board = dashboard_for_user(
        district["district_coordinator"], period=this_year(), now=timezone.now()
    )
    assert board.open_cases == {("LIN", "confirmed_victim"): 1}
    assert board.hours_to_police == Median(10.0, 1)


def test_it_adds_up_the_schools_cells_for_the_district_when_an_upgrade_brings_them(district):
    make_cases(district, 6)
    complete(
        district,
        open_case(district, "suspected_victim", school="ROO"),
        "police_involved",
        {"agency": "sdpd", "threat": THREAT},
        by="outsider_admin",
        hours_ago=2,
    )
    # As before the upgrade: the schools' cells, and no district cells yet.
    DistrictRollupHours.objects.all().delete()
    DistrictRollup.objects.all().delete()
    assert rollup_differences().drift

    upgrade = importlib.import_module("safestep.reports.migrations.0003_district_rollup")
    upgrade.add_up_schools(django_apps, None)

    assert_rollup_matches_a_recount()


def stored_rollup() -> dict[str, list[tuple[Any, ...]]]:
    """Every row the rollup keeps, without ids."""
    kept: dict[str, list[tuple[Any, ...]]] = {}
    for model in rollups.ROLLUP_MODELS:
        names = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        kept[model.__name__] = sorted(model._default_manager.values_list(*names), key=repr)
    return kept


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the recount runs in worker processes on PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_it_recounts_in_worker_processes_exactly_as_in_one(district, monkeypatch):
    make_cases(district, 15)
    assert_rollup_matches_a_recount()
    kept = stored_rollup()
    assert len(kept["OpenStep"]) > 14  # open steps of every open case, in every batch
    handed_out: list[int] = []
    in_workers = rollups._figures_in_workers

    def counted(chunks: Any, **options: Any) -> Any:
        handed_out.append(len(chunks))
        return in_workers(chunks, **options)

    monkeypatch.setattr(rollups, "_figures_in_workers", counted)

    CaseRollup.objects.filter(pathway="confirmed_victim").update(open=F("open") + 2)
    last = Case.objects.order_by("pk").last()
    assert last is not None
    OpenStep.objects.filter(case=last).delete()
    in_one = [drift.line() for drift in rollup_differences(workers=1, batch_size=4).drift]
    in_two = [drift.line() for drift in rollup_differences(workers=2, batch_size=4).drift]
    assert handed_out == [4]  # 15 cases in batches of 4, to two processes
    assert in_two == in_one
    month = f"{local_today(timezone.now()):%Y-%m}"
    assert in_two[0] == f"LIN/confirmed_victim/{month} open: stored 10, counted 8"
    assert in_two[1].startswith(f"case {last.pk} open_steps: stored 0, counted ")
    assert len(in_two) == 2

    assert rollup_rebuild(workers=2, batch_size=4)[1] == 1  # the one cell figure
    assert stored_rollup() == kept
    assert_rollup_matches_a_recount()


def test_it_refuses_fewer_than_one_worker_and_changes_nothing(district):
    open_case(district, "confirmed_victim")
    kept = stored_rollup()
    for action in ("verify", "rebuild"):
        with pytest.raises(CommandError, match=r"^--workers must be at least 1$") as refused:
            call_command("rollup", action, "--workers", "0")
        assert refused.value.returncode == 2
    assert stored_rollup() == kept
    assert not Event.objects.filter(action="rollup.rebuild").exists()


# Anchors over two years: through the district's daylight-saving changes, at any hour.
_anchors = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2026, 12, 31),
).map(lambda moment: moment.replace(tzinfo=UTC))


@given(
    anchor=_anchors,
    every_days=st.integers(min_value=1, max_value=30),
    later=st.lists(st.integers(min_value=0, max_value=400 * 24), min_size=1, max_size=6),
)
@settings(max_examples=150, deadline=None)
def test_it_counts_missed_check_ins_as_the_schedule_does_whenever_it_is_asked(
    anchor, every_days, later
):
    """The dashboard's count of check-ins missed since a schedule's anchor, kept from one
    load to the next, is always the count the schedule itself gives, asked in any order."""
    for hours in later:
        now = anchor + timedelta(hours=hours)
        _met, due, _anchor = check_in_schedule(
            plan_started_at=anchor, every_days=every_days, check_ins=[], until=now
        )
        assert check_ins_missed_since(anchor, every_days, now) == due

"""Due dates across the daylight-saving changes in America/Los_Angeles.

In 2026 the clocks go forward on Sunday 8 March at 02:00 (PST, UTC-8 -> PDT, UTC-7)
and back on Sunday 1 November at 02:00 (PDT -> PST).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from safestep.protocol import Duration, compute_due, next_check_in_due, parse_duration

LA = "America/Los_Angeles"
LOS_ANGELES = ZoneInfo(LA)
PT36H = parse_duration("PT36H")
P1D = parse_duration("P1D")


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOS_ANGELES)


def test_it_adds_36_real_hours_across_the_march_change():
    # Saturday 10:00 PST + 36 elapsed hours = Sunday 23:00 PDT (the clock lost an hour).
    anchor = local(2026, 3, 7, 10, 0)
    due = compute_due(anchor, PT36H, LA)
    assert due == datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
    assert due - anchor == timedelta(hours=36)
    assert due.astimezone(LOS_ANGELES).hour == 23
    assert due.tzinfo is UTC


def test_it_adds_36_real_hours_across_the_november_change():
    # Saturday 10:00 PDT + 36 elapsed hours = Sunday 21:00 PST (the clock gained an hour).
    anchor = local(2026, 10, 31, 10, 0)
    due = compute_due(anchor, PT36H, LA)
    assert due == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert due - anchor == timedelta(hours=36)
    assert due.astimezone(LOS_ANGELES).hour == 21


def test_it_keeps_the_local_clock_time_for_a_day_across_the_march_change():
    anchor = local(2026, 3, 7, 10, 0)
    due = compute_due(anchor, P1D, LA)
    assert due.astimezone(LOS_ANGELES).replace(tzinfo=None) == datetime(2026, 3, 8, 10, 0)
    assert due - anchor == timedelta(hours=23)


def test_it_keeps_the_local_clock_time_for_a_day_across_the_november_change():
    anchor = local(2026, 10, 31, 10, 0)
    due = compute_due(anchor, P1D, LA)
    assert due.astimezone(LOS_ANGELES).replace(tzinfo=None) == datetime(2026, 11, 1, 10, 0)
    assert due - anchor == timedelta(hours=25)


def test_it_moves_a_skipped_local_time_forward_by_the_gap():
    # 02:30 on 8 March does not exist; fold=0 reads it with the old offset (PST),
    # which is 03:30 PDT.
    due = compute_due(local(2026, 3, 7, 2, 30), P1D, LA)
    assert due == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert due.astimezone(LOS_ANGELES).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)


def test_it_takes_the_first_of_a_repeated_local_time():
    # 01:30 on 1 November happens twice; fold=0 takes the first one, in PDT.
    due = compute_due(local(2026, 10, 31, 1, 30), P1D, LA)
    assert due == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)


def test_it_adds_calendar_parts_first_then_elapsed_time():
    anchor = local(2026, 3, 7, 10, 0)
    due = compute_due(anchor, parse_duration("P1DT2H"), LA)
    assert due.astimezone(LOS_ANGELES).replace(tzinfo=None) == datetime(2026, 3, 8, 12, 0)


def test_it_clamps_months_to_the_end_of_a_shorter_month():
    due = compute_due(local(2026, 1, 31, 9, 0), parse_duration("P1M"), LA)
    assert due.astimezone(LOS_ANGELES).replace(tzinfo=None) == datetime(2026, 2, 28, 9, 0)
    leap_day = compute_due(local(2028, 2, 29, 9, 0), parse_duration("P1Y"), LA)
    assert leap_day.astimezone(LOS_ANGELES).date().isoformat() == "2029-02-28"


def test_it_reads_the_anchor_in_the_protocols_zone_whatever_its_offset():
    # 18:00 UTC is 10:00 in Los Angeles on 7 March: one day later is 10:00 PDT.
    due = compute_due(datetime(2026, 3, 7, 18, 0, tzinfo=UTC), Duration(days=1), LA)
    assert due == datetime(2026, 3, 8, 17, 0, tzinfo=UTC)


def test_it_refuses_a_naive_anchor():
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_due(datetime(2026, 3, 7, 10, 0), P1D, LA)


def test_it_schedules_the_next_check_in_from_the_latest_of_start_and_check_ins():
    start = local(2026, 3, 2, 9, 0)
    assert next_check_in_due(plan_started_at=start, every_days=7, check_ins=[], tz=LA) == local(
        2026, 3, 9, 9, 0
    )
    check_ins = [local(2026, 3, 5, 15, 0), local(2026, 3, 4, 8, 0)]
    due = next_check_in_due(plan_started_at=start, every_days=7, check_ins=check_ins, tz=LA)
    # 15:00 on 12 March, local time, although the clocks changed in between.
    assert due == local(2026, 3, 12, 15, 0)
    assert due.astimezone(LOS_ANGELES).hour == 15


def test_it_ignores_check_ins_before_the_plan_started():
    start = local(2026, 3, 2, 9, 0)
    due = next_check_in_due(
        plan_started_at=start, every_days=1, check_ins=[local(2026, 2, 1, 9, 0)], tz=LA
    )
    assert due == local(2026, 3, 3, 9, 0)


def test_it_refuses_a_check_in_interval_below_one_day():
    with pytest.raises(ValueError, match="every_days"):
        next_check_in_due(
            plan_started_at=local(2026, 3, 2, 9, 0), every_days=0, check_ins=[], tz=LA
        )

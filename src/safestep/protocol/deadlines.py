"""Due dates, computed the way people in the protocol's time zone read a clock.

Rules (see docs/protocol-format.md, "Deadlines"):

* Calendar parts of a duration (years, months, weeks, days) are added to the
  *local wall-clock* date in the protocol's time zone: ``P1D`` from 10:00 is 10:00
  the next day, even across a daylight-saving change (when that day is 23 or 25
  hours long). Adding months clamps to the end of a shorter month (31 January +
  ``P1M`` is 28 or 29 February).
* Exact parts (hours, minutes, seconds) are added as elapsed time: ``PT36H`` is
  always 36 real hours, as the reporting law means it, whatever the clocks do.
* Calendar parts go first, then exact parts (``P1DT2H``: same time tomorrow, plus two
  hours).
* When the calendar step lands on a local time that does not exist (the hour skipped
  in spring) or exists twice (the hour repeated in autumn), Python's ``fold=0`` rule
  applies: the offset in force *before* the change is used. A skipped 02:30 becomes
  03:30 daylight time; a repeated 01:30 is the first (daylight-time) 01:30. Either way
  the deadline is never earlier than the wall-clock time asked for.

Results are timezone-aware datetimes in UTC.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from safestep.protocol.durations import Duration


def require_aware(value: datetime, name: str) -> None:
    """Refuse naive datetimes: a deadline without a time zone means nothing."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def zone(tz: str | tzinfo) -> tzinfo:
    """A tzinfo from an IANA name (e.g. ``America/Los_Angeles``) or a tzinfo."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last_day))


def compute_due(anchor: datetime, duration: Duration, tz: str | tzinfo) -> datetime:
    """When something anchored at ``anchor`` is due, ``duration`` later (UTC-aware)."""
    require_aware(anchor, "anchor")
    due = anchor.astimezone(UTC)
    if duration.years or duration.months or duration.calendar_days:
        local_zone = zone(tz)
        local = anchor.astimezone(local_zone)
        new_date = _add_months(local.date(), duration.years * 12 + duration.months)
        new_date += timedelta(days=duration.calendar_days)
        wall_clock = datetime.combine(new_date, local.timetz().replace(tzinfo=None))
        # Attach the zone to the naive wall-clock time; fold=0 decides gaps and overlaps.
        due = wall_clock.replace(tzinfo=local_zone, fold=0).astimezone(UTC)
    return due + duration.exact


def next_check_in_due(
    *,
    plan_started_at: datetime,
    every_days: int,
    check_ins: Iterable[datetime],
    tz: str | tzinfo,
) -> datetime:
    """When the next check-in is due: ``every_days`` calendar days after the latest of
    the plan's start and the last check-in, at the same local clock time."""
    if every_days < 1:
        raise ValueError(f"every_days must be at least 1, got {every_days}")
    require_aware(plan_started_at, "plan_started_at")
    latest = plan_started_at
    for check_in in check_ins:
        require_aware(check_in, "check-in time")
        latest = max(latest, check_in)
    return compute_due(latest, Duration(days=every_days), tz)

"""Reporting periods: whole calendar months in the district's time zone."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from safestep.core.errors import ValidationFailed

# Long enough for any report a board asks for, short enough to compute at once.
MAX_MONTHS = 120


@dataclass(frozen=True)
class Period:
    """From the first day of one month to the last day of another, both included."""

    first: date
    last: date

    @property
    def months(self) -> list[str]:
        """Every month of the period, as YYYY-MM."""
        found = []
        year, month = self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as [start, end) instants, midnight to midnight local time."""
        zone = ZoneInfo(settings.TIME_ZONE)
        start = datetime.combine(self.first, time.min, tzinfo=zone)
        end = datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=zone)
        return start, end


def local_today(now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_back(day: date, months: int) -> date:
    """The first day of the month MONTHS before DAY's month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _parse_month_edge(field: str, raw: str, *, first: bool) -> tuple[date | None, list[str]]:
    text = raw.strip()
    try:
        if len(text) == 7:
            day = date.fromisoformat(f"{text}-01")
            return (day if first else month_end(day)), []
        day = date.fromisoformat(text)
    except ValueError:
        return None, ["A month (YYYY-MM) or a date (YYYY-MM-DD)."]
    if first and day.day != 1:
        return None, ["Statistics cover whole months: give the first day of a month."]
    if not first and day != month_end(day):
        return None, ["Statistics cover whole months: give the last day of a month."]
    return day, []


def parse_period(
    raw_from: str | None, raw_to: str | None, *, default_first: date, default_last: date
) -> Period:
    """A period from query parameters; 400 naming the field when one is wrong.

    Only whole months are accepted: periods that differ by a few days would otherwise let
    anyone subtract one answer from another and count the cases of a single day.
    """
    errors: dict[str, list[str]] = {}
    first, last = default_first, default_last
    if raw_from:
        parsed, problems = _parse_month_edge("from", raw_from, first=True)
        if problems:
            errors["from"] = problems
        elif parsed is not None:
            first = parsed
    if raw_to:
        parsed, problems = _parse_month_edge("to", raw_to, first=False)
        if problems:
            errors["to"] = problems
        elif parsed is not None:
            last = parsed
    if not errors and last < first:
        errors["to"] = ["Must not be before from."]
    if not errors and len(Period(first, last).months) > MAX_MONTHS:
        errors["to"] = [f"A period covers at most {MAX_MONTHS} months."]
    if errors:
        raise ValidationFailed(errors)
    return Period(first, last)

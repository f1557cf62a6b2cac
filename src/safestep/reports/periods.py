"""Reporting periods: whole calendar months in the district's time zone.

The dashboard may show any run of whole months. Published statistics may not: they cover
exactly one *ended school year* (July to June), see :func:`parse_school_year`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext

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
        return None, [gettext("A month (YYYY-MM) or a date (YYYY-MM-DD).")]
    if first and day.day != 1:
        return None, [gettext("Statistics cover whole months: give the first day of a month.")]
    if not first and day != month_end(day):
        return None, [gettext("Statistics cover whole months: give the last day of a month.")]
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
        errors["to"] = [gettext("Must not be before from.")]
    if not errors and len(Period(first, last).months) > MAX_MONTHS:
        errors["to"] = [
            gettext("A period covers at most %(months)d months.") % {"months": MAX_MONTHS}
        ]
    if errors:
        raise ValidationFailed(errors)
    return Period(first, last)


# --- the periods statistics are published for ---------------------------------------------

# California's school year, as CALPADS and the district's reports count it: July to June.
SCHOOL_YEAR_FIRST_MONTH = 7


def school_year(first_year: int) -> Period:
    """The school year that starts in July of FIRST_YEAR."""
    return Period(
        date(first_year, SCHOOL_YEAR_FIRST_MONTH, 1),
        month_end(date(first_year + 1, SCHOOL_YEAR_FIRST_MONTH - 1, 1)),
    )


def school_year_of(day: date) -> Period:
    """The school year DAY falls in."""
    return school_year(day.year if day.month >= SCHOOL_YEAR_FIRST_MONTH else day.year - 1)


def school_year_name(period: Period) -> str:
    """2025-26 for July 2025 to June 2026."""
    return f"{period.first.year}-{period.last.year % 100:02d}"


def latest_ended_school_year(today: date) -> Period:
    return school_year(school_year_of(today).first.year - 1)


def is_publishable(period: Period, *, today: date) -> bool:
    """Whether statistics may be published for PERIOD: one whole school year that has ended.

    Any two such periods are disjoint, so no answer is a part of another (which would let
    anyone subtract the one from the other), and an ended year's cases are all in: a case's
    opening time is when it was recorded, so no later case lands in it.
    """
    return period == school_year_of(period.first) and period.last < today


def _parse_day(text: str, *, first: bool) -> date | None:
    """YYYY-MM (its first or last day) or YYYY-MM-DD; None when it is neither."""
    try:
        if len(text) == 7:
            day = date.fromisoformat(f"{text}-01")
            return day if first else month_end(day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_school_year(raw_from: str | None, raw_to: str | None, *, today: date) -> Period:
    """The school year a statistics request asks for; 400 naming the field when it is not
    one ended school year. Without from and to: the latest ended school year. Either alone
    names its school year.

    Any other period would overlap or contain a period someone else may ask for, and the
    difference of two answers would count the cases of the months between them: January to
    March minus January to February is March, however carefully each answer was suppressed.
    The same goes for a year still running, asked for twice a month apart.
    """
    latest = latest_ended_school_year(today)
    example = (
        f"one ended school year per request, July to June, for example "
        f"from={latest.first:%Y-%m}&to={latest.last:%Y-%m} (the latest, "
        f"{school_year_name(latest)})"
    )
    errors: dict[str, list[str]] = {}
    asked: dict[str, Period] = {}
    for field, raw, first in (("from", raw_from, True), ("to", raw_to, False)):
        if not raw:
            continue
        day = _parse_day(raw.strip(), first=first)
        if day is None:
            errors[field] = ["A month (YYYY-MM) or a date (YYYY-MM-DD)."]
            continue
        if not 1990 <= day.year <= 9000:
            # SafeStep holds nothing before 1990, and a year at either end of the calendar
            # has no school year around it.
            errors[field] = ["A month from 1990 on, e.g. 2025-07."]
            continue
        year = school_year_of(day)
        edge = year.first if first else year.last
        if day != edge:
            month = "a July, the first month" if first else "a June, the last month"
            errors[field] = [
                f"Statistics cover whole school years: {field} must be {month} of one. "
                f"Ask for {example}."
            ]
            continue
        asked[field] = year
    if not errors and len(set(asked.values())) > 1:
        message = (
            f"from and to must be the same school year: ask for each year on its own, "
            f"{example}. An answer covering two years would contain the answers for each."
        )
        errors = {"from": [message], "to": [message]}
    if errors:
        raise ValidationFailed(errors)
    period = next(iter(asked.values()), latest)
    if not is_publishable(period, today=today):
        message = (
            f"The {school_year_name(period)} school year has not ended: statistics cover {example}."
        )
        raise ValidationFailed({field: [message] for field in asked})
    return period

"""A moment as pages show it: in the district's zone, to the minute ("Wed 2 Dec 2026, 05:22").

Django's ``dateformat`` reads its format string again for every value it writes, and a case
page writes dozens of times (each step, check-in, note and event): about 20 µs each. The
one format SafeStep shows is written here directly, with the day and month names translated
once per language, as Django would write them (a property test compares the two).
"""

from __future__ import annotations

import functools
from datetime import datetime

from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import get_language

# Django's date format syntax: the day's name, the day, the month's name, the year, 24-hour
# time. ``local_moment_text`` writes exactly this.
MOMENT_FORMAT = "D j M Y, H:i"


@functools.cache
def _names(language: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The abbreviated day names (Monday first) and month names (January first) in LANGUAGE,
    which is the active one: the lazy names translate into it."""
    days = tuple(str(WEEKDAYS_ABBR[day]) for day in range(7))
    months = tuple(str(MONTHS_3[month]).title() for month in range(1, 13))
    return days, months


def moment_text(local: datetime) -> str:
    """LOCAL, already in the zone to show it in, as MOMENT_FORMAT writes it."""
    days, months = _names(get_language())
    return _written(local, days, months)


def _written(local: datetime, days: tuple[str, ...], months: tuple[str, ...]) -> str:
    return (
        f"{days[local.weekday()]} {local.day} {months[local.month - 1]} {local.year:04d}, "
        f"{local.hour:02d}:{local.minute:02d}"
    )


def local_moment_text(moment: datetime) -> str:
    """MOMENT in the district's zone (or the active one), to the minute."""
    return moment_text(timezone.localtime(moment) if timezone.is_aware(moment) else moment)


class MomentWriter:
    """Writes the moments of one table: the zone and the language's names looked up once.

    Both lookups read a context variable (about 2.5 µs each), which cost more than writing
    the moment itself; a case's history writes sixty moments or more.
    """

    __slots__ = ("days", "months", "zone")

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.days, self.months = _names(get_language())

    def local(self, moment: datetime) -> datetime:
        """MOMENT in the zone (an aware one; a naive moment is taken as already local)."""
        return moment.astimezone(self.zone) if moment.utcoffset() is not None else moment

    def text(self, local: datetime) -> str:
        """LOCAL, already in the zone, as MOMENT_FORMAT writes it."""
        return _written(local, self.days, self.months)

"""ISO 8601 durations, kept in their parts.

A deadline such as ``P1D`` ("one day, same clock time tomorrow") and ``PT24H``
("twenty-four hours") differ on the two days a year when the clocks change. A
``datetime.timedelta`` cannot tell them apart, so durations keep their calendar parts
(years, months, weeks, days) separate from their exact parts (hours, minutes,
seconds); ``deadlines.compute_due`` adds each kind in its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

# Whole numbers only: a fractional month or day has no clear meaning for a deadline.
_DURATION_PATTERN = re.compile(
    r"""
    P
    (?:(?P<years>\d+)Y)?
    (?:(?P<months>\d+)M)?
    (?:(?P<weeks>\d+)W)?
    (?:(?P<days>\d+)D)?
    (?:T
        (?:(?P<hours>\d+)H)?
        (?:(?P<minutes>\d+)M)?
        (?:(?P<seconds>\d+)S)?
    )?
    """,
    re.VERBOSE,
)

_PARTS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")


class DurationError(ValueError):
    """The text is not a duration SafeStep accepts."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A non-negative ISO 8601 duration, split into calendar and exact parts."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @property
    def exact(self) -> timedelta:
        """The hours/minutes/seconds part, added as elapsed time."""
        return timedelta(hours=self.hours, minutes=self.minutes, seconds=self.seconds)

    @property
    def calendar_days(self) -> int:
        """Weeks and days together, added on the wall calendar."""
        return self.weeks * 7 + self.days

    @property
    def is_zero(self) -> bool:
        return all(getattr(self, part) == 0 for part in _PARTS)

    def isoformat(self) -> str:
        date_part = "".join(
            f"{value}{unit}"
            for value, unit in (
                (self.years, "Y"),
                (self.months, "M"),
                (self.weeks, "W"),
                (self.days, "D"),
            )
            if value
        )
        time_part = "".join(
            f"{value}{unit}"
            for value, unit in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S"))
            if value
        )
        if not date_part and not time_part:
            return "PT0S"
        return "P" + date_part + (f"T{time_part}" if time_part else "")

    def describe(self) -> str:
        """Plain English, e.g. ``36 hours`` or ``1 week and 2 days``."""
        words = [
            f"{value} {name[:-1] if value == 1 else name}"
            for name in _PARTS
            if (value := getattr(self, name))
        ]
        if not words:
            return "no time"
        if len(words) == 1:
            return words[0]
        return ", ".join(words[:-1]) + " and " + words[-1]


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration such as ``PT36H``, ``P1D``, ``P2W`` or ``P1DT12H``.

    Only whole, non-negative numbers are accepted, and at least one part must be
    present. Raises :class:`DurationError` otherwise.
    """
    match = _DURATION_PATTERN.fullmatch(text)
    # "P" alone and "P1DT" (a T with nothing after it) are not valid ISO 8601.
    if match is None or text == "P" or text.endswith("T"):
        raise DurationError(
            f"{text!r} is not an ISO 8601 duration (examples: PT36H, P1D, P2W, P1DT12H)"
        )
    parts = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    return Duration(**parts)

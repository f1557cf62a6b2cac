"""The one check for every date and time someone gives SafeStep.

A time a person or a client enters ends up in deadlines, pages, the SS 8572 and the audit
trail. An unchecked one did damage: ``0001-01-01T00:00:00+14:00`` was stored, and every page
that later turned it into UTC or local time failed for everyone (Python's datetimes end at
year 1). So every moment is held to the same bounds before it is stored:

- it is aware (carries a time zone), with an offset a real place uses (within 14 hours);
- it is no earlier than 1 January 1990 (anywhere on Earth) and no later than now plus
  :data:`FUTURE_ALLOWANCE`, a few minutes for a client whose clock runs slightly ahead;
- a birth date lies in the past, and after 1 January 1990;
- a wall-clock time typed into a page is read in the district's zone, and a time that does
  not exist there (the hour skipped when clocks jump forward) or happens twice (when they
  go back) is refused with a sentence that says so, never moved silently.

The functions answer with a message (``str``) or ``None``, in the shape the services put
into :class:`~safestep.core.errors.ValidationFailed`; they never raise for bad input, except
:func:`local_moment`, which parses and so raises ``ValueError`` with the message.

``protocol/`` is pure Python and keeps the same bounds in ``protocol/details.py``
(a test checks that both agree).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from django.utils.translation import gettext, gettext_noop

# The first moment of 1 January 1990 anywhere (UTC+14, Kiribati): nothing earlier is a time
# SafeStep records, so "1990-01-01T00:00:00+14:00" is the earliest accepted value.
EARLIEST_DATE = date(1990, 1, 1)
EARLIEST_MOMENT = datetime(1990, 1, 1, tzinfo=timezone(timedelta(hours=14)))
# How far ahead of the server's clock a time may be: a client's clock a little fast.
FUTURE_ALLOWANCE = timedelta(minutes=5)
# Real offsets run from -12:00 to +14:00; anything beyond is a made-up zone.
MAX_OFFSET = timedelta(hours=14)
# Longer than any ISO 8601 date and time with microseconds and an offset.
MAX_MOMENT_TEXT = 40

# Marked for the catalogue, translated where they are returned: callers get plain text.
NAIVE_MESSAGE = gettext_noop("Give a time zone offset, e.g. 2026-03-02T09:30:00-08:00.")
OFFSET_MESSAGE = gettext_noop("Give a real time zone offset, between -14:00 and +14:00.")
TOO_EARLY_MESSAGE = gettext_noop("May not be before 1 January 1990.")
FUTURE_MESSAGE = gettext_noop("May not be in the future.")
BIRTH_DATE_FUTURE_MESSAGE = gettext_noop("A birth date lies in the past.")
UNREADABLE_MESSAGE = gettext_noop("Enter a date and a time, e.g. 2026-03-02T09:30.")


def check_moment(value: object, *, now: datetime) -> str | None:
    """Why VALUE may not be stored as a time something happened, or None when it may."""
    if not isinstance(value, datetime):
        return gettext(UNREADABLE_MESSAGE)
    try:
        offset = value.utcoffset()
    except (OverflowError, ValueError):
        return gettext(OFFSET_MESSAGE)
    if value.tzinfo is None or offset is None:
        return gettext(NAIVE_MESSAGE)
    if abs(offset) > MAX_OFFSET:
        return gettext(OFFSET_MESSAGE)
    try:
        # Comparing aware times never builds a new datetime, so this cannot overflow; the
        # guard is for a tzinfo that misbehaves.
        if value < EARLIEST_MOMENT:
            return gettext(TOO_EARLY_MESSAGE)
        if value > now + FUTURE_ALLOWANCE:
            return gettext(FUTURE_MESSAGE)
    except OverflowError:
        return gettext(TOO_EARLY_MESSAGE if value.year < 1990 else FUTURE_MESSAGE)
    return None


def check_birth_date(value: object, *, today: date) -> str | None:
    """Why VALUE is not a student's birth date, or None when it may be."""
    if isinstance(value, datetime) or not isinstance(value, date):
        return "Enter a date, e.g. 2012-04-30."
    if value < EARLIEST_DATE:
        return gettext(TOO_EARLY_MESSAGE)
    if value >= today:
        return gettext(BIRTH_DATE_FUTURE_MESSAGE)
    return None


def _zone(zone: tzinfo | str) -> tzinfo:
    return zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone


def _clock(moment: datetime) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def local_moment(text: str, zone: tzinfo | str) -> datetime:
    """A wall-clock time typed into a page (``2026-03-08T09:30``), read in ZONE.

    A value that carries its own offset keeps it. Raises ``ValueError`` with a sentence
    to show the person when the text is not a time, or names a time that ZONE skips (clocks
    jumped forward) or has twice (clocks went back). Bounds are :func:`check_moment`'s job.
    """
    raw = text.strip()
    if not raw or len(raw) > MAX_MOMENT_TEXT or not raw.isascii():
        raise ValueError(gettext(UNREADABLE_MESSAGE))
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(gettext(UNREADABLE_MESSAGE)) from None
    if moment.tzinfo is not None:
        return moment
    where = _zone(zone)
    first = moment.replace(tzinfo=where, fold=0)
    second = moment.replace(tzinfo=where, fold=1)
    try:
        if first.utcoffset() == second.utcoffset():
            return first
        # The two readings differ only around a change of the clocks. A time that exists
        # survives the round trip through UTC; a skipped one comes back as another time.
        exists = first.astimezone(UTC).astimezone(where).replace(tzinfo=None) == moment
    except OverflowError:
        raise ValueError(gettext(UNREADABLE_MESSAGE)) from None
    day, clock, name = moment.date().isoformat(), _clock(moment), _zone_name(where)
    if not exists:
        raise ValueError(
            gettext("%(clock)s does not exist on %(day)s in %(zone)s: clocks jumped forward.")
            % {"clock": clock, "day": day, "zone": name}
        )
    raise ValueError(
        gettext(
            "%(clock)s happens twice on %(day)s in %(zone)s: clocks went back. "
            "Give the offset too: %(first)s for the first, %(second)s for the second."
        )
        % {
            "clock": clock,
            "day": day,
            "zone": name,
            "first": moment.isoformat(timespec="minutes") + _offset_text(first),
            "second": _offset_text(second),
        }
    )


def _offset_text(moment: datetime) -> str:
    text = moment.strftime("%z")  # -0700
    return f"{text[:3]}:{text[3:]}" if len(text) == 5 else text

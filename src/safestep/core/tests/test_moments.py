"""The one check for dates and times: bounds, birth dates, and clocks that skip or repeat."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from safestep.core import moments
from safestep.core.moments import check_birth_date, check_moment, local_moment
from safestep.protocol import details

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
PACIFIC = ZoneInfo("America/Los_Angeles")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+14:00",  # the probe's value: UTC would be year 0
        "0001-01-01T00:00:00+00:00",
        "1989-12-31T23:59:59+14:00",
        "1989-12-31T09:59:59+00:00",
    ],
)
def test_it_refuses_times_before_1990(value):
    assert check_moment(at(value), now=NOW) == "May not be before 1 January 1990."


def test_it_accepts_the_first_moment_of_1990_anywhere():
    assert check_moment(at("1990-01-01T00:00:00+14:00"), now=NOW) is None
    assert check_moment(at("1989-12-31T10:00:00+00:00"), now=NOW) is None
    # The same instant: 1 January has begun in Kiribati, not yet here.
    assert check_moment(at("1989-12-31T23:59:59-12:00"), now=NOW) is None


def test_it_refuses_the_future_beyond_a_few_minutes_of_clock_skew():
    assert check_moment(NOW + moments.FUTURE_ALLOWANCE, now=NOW) is None
    late = NOW + moments.FUTURE_ALLOWANCE + timedelta(seconds=1)
    assert check_moment(late, now=NOW) == "May not be in the future."
    assert check_moment(at("9999-12-31T23:59:59-12:00"), now=NOW) == "May not be in the future."


def test_it_refuses_naive_times_and_made_up_offsets():
    assert check_moment(datetime(2026, 3, 2, 9, 30), now=NOW) == moments.NAIVE_MESSAGE
    odd = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=23, minutes=59)))
    assert check_moment(odd, now=NOW) == moments.OFFSET_MESSAGE
    assert check_moment("2026-03-02T09:30:00Z", now=NOW) == moments.UNREADABLE_MESSAGE


def test_it_checks_a_birth_date_lies_in_the_past_and_after_1990():
    today = date(2026, 12, 1)
    assert check_birth_date(date(2012, 4, 30), today=today) is None
    assert check_birth_date(date(1990, 1, 1), today=today) is None
    assert check_birth_date(date(1989, 12, 31), today=today) == moments.TOO_EARLY_MESSAGE
    assert check_birth_date(today, today=today) == moments.BIRTH_DATE_FUTURE_MESSAGE
    assert check_birth_date(date(2030, 1, 1), today=today) == moments.BIRTH_DATE_FUTURE_MESSAGE
    assert check_birth_date(datetime(2012, 4, 30, tzinfo=UTC), today=today) is not None


def test_it_reads_a_wall_clock_time_in_the_districts_zone():
    assert local_moment("2026-06-01T09:30", PACIFIC) == datetime(2026, 6, 1, 9, 30, tzinfo=PACIFIC)
    assert local_moment(" 2026-01-05T14:00 ", "America/Los_Angeles").utcoffset() == timedelta(
        hours=-8
    )
    # A value with its own offset keeps it.
    assert local_moment("2026-06-01T09:30+02:00", PACIFIC).utcoffset() == timedelta(hours=2)


def test_it_refuses_a_time_the_clocks_skip():
    with pytest.raises(ValueError) as refused:
        local_moment("2026-03-08T02:30", PACIFIC)
    assert str(refused.value) == (
        "2:30 does not exist on 2026-03-08 in America/Los_Angeles: clocks jumped forward."
    )


def test_it_refuses_a_time_the_clocks_repeat_and_says_how_to_give_it():
    with pytest.raises(ValueError) as refused:
        local_moment("2026-11-01T01:30", PACIFIC)
    message = str(refused.value)
    assert message.startswith("1:30 happens twice on 2026-11-01 in America/Los_Angeles")
    assert "2026-11-01T01:30-07:00 for the first, -08:00 for the second" in message


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-13-01T09:00", "²⁰²⁶-01-01T09:00", "2026-01-01T09:00" * 5]
)
def test_it_refuses_text_that_is_not_a_time(text):
    with pytest.raises(ValueError, match="Enter a date and a time"):
        local_moment(text, PACIFIC)


def test_it_keeps_the_protocols_bounds_the_same_as_its_own():
    # protocol/ is pure Python and keeps its own copy of the bounds.
    assert details.EARLIEST_MOMENT == moments.EARLIEST_MOMENT
    assert details.EARLIEST_DATE == moments.EARLIEST_DATE
    assert details.FUTURE_ALLOWANCE == moments.FUTURE_ALLOWANCE
    assert details.MAX_OFFSET == moments.MAX_OFFSET

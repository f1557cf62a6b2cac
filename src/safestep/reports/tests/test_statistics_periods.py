"""Which periods statistics may be asked for: one ended school year, July to June."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safestep.core.errors import ValidationFailed
from safestep.reports.periods import (
    Period,
    is_publishable,
    latest_ended_school_year,
    parse_school_year,
    school_year,
    school_year_name,
    school_year_of,
)

TODAY = date(2026, 12, 1)


def test_a_school_year_runs_from_july_to_june():
    assert school_year(2025) == Period(date(2025, 7, 1), date(2026, 6, 30))
    assert school_year(2025).months[0] == "2025-07"
    assert school_year(2025).months[-1] == "2026-06"
    assert len(school_year(2025).months) == 12
    assert school_year_of(date(2026, 6, 30)) == school_year(2025)
    assert school_year_of(date(2026, 7, 1)) == school_year(2026)
    assert school_year_name(school_year(2099)) == "2099-00"
    assert school_year_name(school_year(2025)) == "2025-26"


def test_without_a_period_it_is_the_latest_ended_school_year():
    assert parse_school_year(None, None, today=TODAY) == school_year(2025)
    assert parse_school_year("", "", today=TODAY) == school_year(2025)
    # The year ends with 30 June: on that day it is still under way.
    assert latest_ended_school_year(date(2026, 6, 30)) == school_year(2024)
    assert latest_ended_school_year(date(2026, 7, 1)) == school_year(2025)


@pytest.mark.parametrize(
    ("raw_from", "raw_to"),
    [
        ("2024-07", "2025-06"),
        ("2024-07-01", "2025-06-30"),
        (" 2024-07 ", None),
        ("2024-07-01", None),
        (None, "2025-06"),
        (None, "2025-06-30"),
        ("2024-07", "2025-06-30"),
    ],
)
def test_a_school_year_may_be_named_by_either_edge_as_a_month_or_a_day(raw_from, raw_to):
    assert parse_school_year(raw_from, raw_to, today=TODAY) == school_year(2024)


def test_a_school_year_is_published_once_it_has_ended():
    with pytest.raises(ValidationFailed) as refused:
        parse_school_year("2025-07", "2026-06", today=date(2026, 6, 30))
    assert set(refused.value.errors) == {"from", "to"}
    assert "The 2025-26 school year has not ended" in refused.value.errors["to"][0]
    assert "from=2024-07&to=2025-06 (the latest, 2024-25)" in refused.value.errors["to"][0]
    assert parse_school_year("2025-07", "2026-06", today=date(2026, 7, 1)) == school_year(2025)


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "fields"),
    [
        ("2026-01", "2026-03", {"from", "to"}),  # the finding: quarters that overlap
        ("2026-01", "2026-02", {"from", "to"}),
        ("2026-03", "2026-03", {"from", "to"}),
        ("2025-01", "2025-12", {"from", "to"}),  # a calendar year
        ("2025-07", "2025-12", {"to"}),
        ("2025-07-02", None, {"from"}),
        (None, "2026-06-29", {"to"}),
        ("2024-07", "2026-06", {"from", "to"}),  # two school years contain each one
        ("2025-07", "2025-06", {"from", "to"}),
        ("2026-07", None, {"from"}),  # under way
        (None, "2027-06", {"to"}),
        ("2030-07", "2031-06", {"from", "to"}),
        ("July", None, {"from"}),
        (None, "2026-13", {"to"}),
        ("2026-02-30", None, {"from"}),
    ],
)
def test_any_other_period_is_refused_naming_the_field(raw_from, raw_to, fields):
    with pytest.raises(ValidationFailed) as refused:
        parse_school_year(raw_from, raw_to, today=TODAY)
    assert set(refused.value.errors) == fields


# --- properties ---------------------------------------------------------------------------

days = st.dates(min_value=date(2019, 1, 1), max_value=date(2031, 12, 31))
edges = st.one_of(
    st.none(),
    days.map(lambda d: f"{d:%Y-%m}"),
    days.map(lambda d: d.isoformat()),
    # edges that are accepted, so that the interesting branch is reached often
    st.integers(2019, 2030).map(lambda y: f"{y}-07"),
    st.integers(2019, 2030).map(lambda y: f"{y}-06-30"),
)


def accepted(raw_from: str | None, raw_to: str | None, today: date) -> Period | None:
    try:
        return parse_school_year(raw_from, raw_to, today=today)
    except ValidationFailed as refused:
        named = set(refused.errors)
    assert named, "a refusal names the field"
    assert named <= {"from", "to"}
    return None


@settings(max_examples=400, deadline=None)
@given(edges, edges, edges, edges, days)
def test_any_two_answerable_periods_are_the_same_or_disjoint(from_a, to_a, from_b, to_b, today):
    """The lattice of periods that can be asked for is flat: no period holds a part of
    another, so no answer can be subtracted from another."""
    first = accepted(from_a, to_a, today)
    second = accepted(from_b, to_b, today)
    for period in (first, second):
        if period is not None:
            assert period == school_year_of(period.first)
            assert period.last < today
            assert is_publishable(period, today=today)
    if first is not None and second is not None and first != second:
        assert first.last < second.first or second.last < first.first

"""No combination of published answers gives a suppressed count away.

The finding this guards against: January-March published 42 for a cell, January-February
40, March alone was suppressed, so March was 2. Here hypothesis makes up a district's cases
over several school years and a date to ask on, then asks for *every* answer the API gives
that day (every period `parse_school_year` accepts, every grouping) and plays the attacker
with what they publish, as JSON:

1. the same cell published in another answer;
2. the difference and the sum of every pair of published numbers;
3. every total minus the published rows beneath it;
4. everything at once: exact integer linear algebra over all published numbers.

None may yield the exact count of a suppressed cell under 11, zero included (SafeStep hides
a zero like any small count, so a derived zero would tell as much as a derived 2). The
attacker is checked against the periods the API used to accept, where it does find March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from itertools import combinations, product
from math import gcd

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safestep.core.errors import ValidationFailed
from safestep.reports.periods import Period, month_end, parse_school_year
from safestep.reports.statistics import (
    DIMENSIONS,
    statistics_decide,
    statistics_output,
    statistics_slice,
)
from safestep.reports.suppression import THRESHOLD

GROUPINGS = [names for size in range(4) for names in combinations(DIMENSIONS, size)]
# Requests are tried for every month from 2022 to 2027 as from and as to (and neither):
# they can name the school years from 2021-22 to 2027-28.
ASKED_MONTHS = [f"{y:04d}-{m:02d}" for y in range(2022, 2028) for m in range(1, 13)]
ALL_MONTHS = [f"{y:04d}-{m:02d}" for y in range(2021, 2029) for m in range(1, 13)][6:90]
# Cases are opened from July 2023 to June 2026: three school years.
DATA_MONTHS = ALL_MONTHS[24:60]

Counts = dict[tuple[str, ...], int]


@dataclass(frozen=True)
class Number:
    """One row of one answer, as the attacker reads it."""

    answer: str  # e.g. "2024-07-01..2025-06-30 by school,month"
    row: dict
    cells: int  # bit mask of the finest cells (school, pathway, month) it adds up

    def __str__(self) -> str:
        return f"[{self.answer}: {self.row}]"


@dataclass(frozen=True)
class District:
    schools: list[str]
    pathways: list[str]
    counts: Counts
    today: date

    @cached_property
    def finest(self) -> list[tuple[str, str, str]]:
        """Every finest cell any answer may count, numbered for the bit masks."""
        return list(product(self.schools, self.pathways, ALL_MONTHS))

    @cached_property
    def position(self) -> dict[tuple[str, str, str], int]:
        return {cell: index for index, cell in enumerate(self.finest)}

    def true_count(self, mask: int) -> int:
        return sum(self.counts.get(self.finest[index], 0) for index in bits(mask))


def bits(mask: int) -> list[int]:
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


@st.composite
def districts(draw: st.DrawFn) -> District:
    schools = [f"S{i}" for i in range(draw(st.integers(1, 3)))]
    pathways = [f"p{i}" for i in range(draw(st.integers(1, 3)))]
    # Mostly empty months and counts near the threshold, where the decisions are hard; now
    # and then a busy district whose finest cells are published too.
    busy = draw(st.sampled_from([14, 40, 120]))
    amount = st.one_of(st.just(0), st.integers(0, 14), st.integers(0, busy))
    counts: Counts = {
        key: draw(amount) for key in product(schools, pathways, DATA_MONTHS) if draw(st.booleans())
    }
    # From the day the first school year with cases ends to after the last has: one to
    # three of them may be asked for, and the year under way may hold cases too.
    today = draw(
        st.one_of(
            st.dates(min_value=date(2024, 7, 1), max_value=date(2026, 9, 30)),
            st.dates(min_value=date(2026, 7, 1), max_value=date(2026, 9, 30)),
        )
    )
    return District(schools, pathways, counts, today)


@cache
def requestable_periods(today: date) -> tuple[Period, ...]:
    """Every period the API answers on TODAY, found by asking it for every pair."""
    found: set[Period] = set()
    for raw_from, raw_to in product([None, *ASKED_MONTHS], repeat=2):
        try:
            found.add(parse_school_year(raw_from, raw_to, today=today))
        except ValidationFailed:
            continue
    return tuple(sorted(found, key=lambda period: period.first))


def publish(district: District, period: Period) -> list[dict]:
    """Every answer for PERIOD, one per grouping, as the API's JSON."""
    counts = {key: n for key, n in district.counts.items() if key[2] in period.months}
    decided = statistics_decide(
        period=period, schools=district.schools, pathways=district.pathways, counts=counts
    )
    return [statistics_output(statistics_slice(decided, period=period, by=by)) for by in GROUPINGS]


def read(district: District, answers: list[dict]) -> tuple[list[Number], list[Number]]:
    """The published numbers and the hidden cells under 11, each as the finest cells it
    adds up (from the answer alone: its period, and the row's school, pathway, month)."""
    published: list[Number] = []
    targets: list[Number] = []
    for answer in answers:
        months = Period(date.fromisoformat(answer["from"]), date.fromisoformat(answer["to"]))
        name = f"{answer['from']}..{answer['to']} by {','.join(answer['by']) or 'total'}"
        for row in answer["rows"]:
            mask = 0
            for cell in product(
                [row["school"]] if "school" in row else district.schools,
                [row["pathway"]] if "pathway" in row else district.pathways,
                [row["month"]] if "month" in row else months.months,
            ):
                mask |= 1 << district.position[cell]
            number = Number(name, row, mask)
            if row["suppressed"]:
                assert row["cases"] is None
                if district.true_count(mask) < THRESHOLD:
                    targets.append(number)
            else:
                assert row["cases"] == district.true_count(mask)
                published.append(number)
    return published, targets


def single_and_pair_attacks(published: list[Number], targets: list[Number]) -> list[str]:
    """A suppressed cell under 11 found as one published number, or the difference or the
    sum of two."""
    hidden = {target.cells: target for target in targets}
    found = []
    for number in published:
        if number.cells in hidden:
            found.append(f"{hidden[number.cells]} is published as {number}")
    for a, b in product(published, repeat=2):
        if a.cells != b.cells and a.cells & b.cells == b.cells:
            target = hidden.get(a.cells & ~b.cells)
            if target is not None:
                found.append(f"{target} = {a} - {b}")
        if a.cells < b.cells and a.cells & b.cells == 0:
            target = hidden.get(a.cells | b.cells)
            if target is not None:
                found.append(f"{target} = {a} + {b}")
    return found


def total_minus_rows_attacks(published: list[Number], targets: list[Number]) -> list[str]:
    """A total minus the published rows beneath it, in every answer that lists them."""
    hidden = {target.cells: target for target in targets}
    by_answer: dict[str, list[Number]] = {}
    for number in published:
        by_answer.setdefault(number.answer, []).append(number)
    found = []
    for total in published:
        for rows in by_answer.values():
            beneath = [row for row in rows if row.cells != total.cells]
            beneath = [row for row in beneath if row.cells & total.cells == row.cells]
            rest = total.cells
            for row in beneath:
                if rest & row.cells == row.cells:
                    rest &= ~row.cells
            if rest != total.cells and rest in hidden:
                found.append(f"{hidden[rest]} = {total} - the rows of {rows[0].answer}")
    return found


def linear_attack(published: list[Number], targets: list[Number]) -> list[str]:
    """A suppressed cell under 11 that is an exact linear combination, with any rational
    coefficients, of everything published. Unknowns are the finest cells no answer
    publishes; integer elimination (gcd-normalised), so no rounding and no modulus."""
    known = 0
    for number in published:
        if number.cells & (number.cells - 1) == 0:  # a single finest cell, published
            known |= number.cells
    basis: dict[int, dict[int, int]] = {}

    def reduce(vector: dict[int, int]) -> dict[int, int]:
        while True:
            pivots = [index for index in vector if index in basis]
            if not pivots:
                return vector
            pivot = min(pivots)
            row, factor, scale = basis[pivot], vector[pivot], basis[pivot][pivot]
            combined = {index: value * scale for index, value in vector.items()}
            for index, value in row.items():
                combined[index] = combined.get(index, 0) - factor * value
            vector = {index: value for index, value in combined.items() if value}
            divisor = 0
            for value in vector.values():
                divisor = gcd(divisor, value)
            if divisor > 1:
                vector = {index: value // divisor for index, value in vector.items()}

    def unknowns(mask: int) -> dict[int, int]:
        rest = mask & ~known
        return dict.fromkeys(bits(rest), 1)

    for number in published:
        vector = reduce(unknowns(number.cells))
        if vector:
            basis[min(vector)] = vector
    found = []
    for target in targets:
        if not reduce(unknowns(target.cells)):
            found.append(f"{target} is a combination of the published numbers")
    return found


def every_attack(answers: list[dict], district: District) -> list[str]:
    published, targets = read(district, answers)
    return [
        *single_and_pair_attacks(published, targets),
        *total_minus_rows_attacks(published, targets),
        *linear_attack(published, targets),
    ]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(districts())
def test_no_combination_of_every_answer_of_the_day_gives_a_small_cell_away(district):
    periods = requestable_periods(district.today)
    assert periods, "the latest ended school year can always be asked for"
    answers = [answer for period in periods for answer in publish(district, period)]
    assert every_attack(answers, district) == []


# --- the attacker works: against the periods the API used to accept --------------------


def one_cell(months: dict[str, int]) -> District:
    counts: Counts = {("LIN", "p", month): n for month, n in months.items()}
    return District(["LIN"], ["p"], counts, date(2026, 12, 1))


def month_period(first: str, last: str) -> Period:
    """A run of whole months, as GET /api/v1/stats accepted before."""
    return Period(date.fromisoformat(f"{first}-01"), month_end(date.fromisoformat(f"{last}-01")))


def test_the_attacker_finds_march_in_two_overlapping_quarters():
    district = one_cell({"2026-01": 20, "2026-02": 20, "2026-03": 2})
    answers = [
        *publish(district, month_period("2026-01", "2026-03")),
        *publish(district, month_period("2026-01", "2026-02")),
    ]
    found = single_and_pair_attacks(*read(district, answers))
    assert any("'month': '2026-03'" in leak and " - " in leak for leak in found), found
    assert linear_attack(*read(district, answers))


def test_the_linear_attacker_finds_a_cell_no_pair_gives_away():
    # January and February each published on their own, and the quarter's total: March is
    # the total minus two other answers, which no pair shows.
    district = one_cell({"2026-01": 20, "2026-02": 20, "2026-03": 2})
    answers = [
        *publish(district, month_period("2026-01", "2026-03")),
        *publish(district, month_period("2026-01", "2026-01")),
        *publish(district, month_period("2026-02", "2026-02")),
    ]
    published, targets = read(district, answers)
    march = [t for t in targets if t.answer.endswith("by month") and "2026-03" in str(t.row)]
    assert march
    assert not single_and_pair_attacks(published, march)
    assert not total_minus_rows_attacks(published, march)
    assert linear_attack(published, march)


def test_every_answer_of_a_school_year_is_safe_for_the_same_cases():
    # The same cases, asked for as the school year they fall in: nothing to find.
    district = one_cell({"2026-01": 20, "2026-02": 20, "2026-03": 2})
    answers = [
        answer
        for period in requestable_periods(district.today)
        for answer in publish(district, period)
    ]
    assert every_attack(answers, district) == []

"""De-identified counts of cases for publication (GET /api/v1/stats).

A cell counts the cases *opened* in a month (local time), at a school, on a pathway (the
case's pathway now, so an escalated case counts as a confirmed victim). Every school and
every pathway appears, with every month of the period, so a missing row never gives away
a zero.

Statistics cover one ended school year per request (:func:`periods.parse_school_year`).
Those periods never overlap, so every answer SafeStep can give is a slice of one decision
per school year, taken for all groupings at once (:mod:`safestep.reports.suppression`),
over counts no other decision shares. A sum or difference of any answers therefore says
nothing more about a year than that year's own answers do, and those hide every cell under
11 from every combination of what they publish.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.utils import timezone

from safestep.accounts.models import School
from safestep.core.errors import ValidationFailed
from safestep.definitions.selectors import definition_of, protocols_current
from safestep.reports.models import CaseRollup
from safestep.reports.periods import Period, is_publishable, local_today
from safestep.reports.suppression import THRESHOLD, Suppression, suppress

DIMENSIONS = ("school", "pathway", "month")


@dataclass(frozen=True)
class StatisticsRow:
    where: dict[str, str]  # the grouping's values, e.g. {"school": "LIN", "month": "2026-03"}
    cases: int | None  # None when suppressed

    @property
    def suppressed(self) -> bool:
        return self.cases is None


@dataclass(frozen=True)
class Statistics:
    period: Period
    by: tuple[str, ...]
    rows: list[StatisticsRow]
    suppressed_below: int = THRESHOLD


def parse_by(raw: str | None) -> tuple[str, ...]:
    """The grouping named by a `by` parameter, in the fixed order school, pathway, month."""
    names = [name.strip() for name in (raw or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown:
        raise ValidationFailed(
            {"by": [f"Unknown grouping {name!r}; use school, pathway, month." for name in unknown]}
        )
    return tuple(name for name in DIMENSIONS if name in names)


def _pathway_ids(found_in_data: Iterable[str]) -> list[str]:
    ordered: list[str] = []
    for stored in protocols_current():
        for pathway in definition_of(stored).pathways:
            if pathway.id not in ordered:
                ordered.append(pathway.id)
    extra = sorted(set(found_in_data) - set(ordered))
    return ordered + extra


def statistics_decide(
    *,
    period: Period,
    schools: Sequence[str],
    pathways: Sequence[str],
    counts: Mapping[tuple[str, ...], int],
) -> Suppression:
    """What to hide, for every grouping of PERIOD at once. COUNTS maps (school, pathway,
    month) to the cases opened; the keys left out count zero."""
    values = {"school": list(schools), "pathway": list(pathways), "month": period.months}
    return suppress(DIMENSIONS, values, counts)


def statistics_slice(decided: Suppression, *, period: Period, by: tuple[str, ...]) -> Statistics:
    """One grouping of a decision: the rows an answer lists."""
    rows = [
        StatisticsRow(
            where=dict(zip(cell.grouping, cell.key, strict=True)),
            cases=decided.published(cell),
        )
        for cell in decided.cells(by)
    ]
    return Statistics(period=period, by=by, rows=rows)


def statistics_compute(*, period: Period, by: tuple[str, ...]) -> Statistics:
    if not is_publishable(period, today=local_today(timezone.now())):
        # parse_school_year answers 400 before this; anything else is a programming error.
        raise ValueError(f"statistics are published for ended school years only, not {period}")
    _start, end = period.bounds()
    # The dashboard's rollup counts the cases opened per school, pathway and local month,
    # voided ones left out (rollups.py): the same cells, read without scanning cases.
    grouped = (
        CaseRollup.objects.filter(month__in=period.months, opened__gt=0)
        .values_list("school__code", "pathway", "month", "opened")
        .order_by()
    )
    counts: dict[tuple[str, ...], int] = {}
    for school, pathway, month, opened in grouped:
        key = (school, pathway, month)
        counts[key] = counts.get(key, 0) + opened
    # The schools there were by the year's end, and any with a case in it: a school added
    # later does not change the answer for a year that is over.
    schools = set(School.objects.filter(created_at__lt=end).values_list("code", flat=True))
    schools.update(school for school, _pathway, _month in counts)
    decided = statistics_decide(
        period=period,
        schools=sorted(schools),
        pathways=_pathway_ids(pathway for _school, pathway, _month in counts),
        counts=counts,
    )
    return statistics_slice(decided, period=period, by=by)


def statistics_output(statistics: Statistics) -> dict[str, object]:
    """The JSON answer of interfaces.md."""
    return {
        "from": statistics.period.first.isoformat(),
        "to": statistics.period.last.isoformat(),
        "by": list(statistics.by),
        "suppressed_below": statistics.suppressed_below,
        "rows": [
            {**row.where, "cases": row.cases, "suppressed": row.suppressed}
            for row in statistics.rows
        ],
    }


def statistics_csv_rows(statistics: Statistics) -> list[list[str]]:
    """The same answer as CSV rows, header first; a suppressed count is an empty field."""
    header = [*statistics.by, "cases", "suppressed"]
    body = [
        [
            *(row.where[name] for name in statistics.by),
            "" if row.cases is None else str(row.cases),
            "true" if row.suppressed else "false",
        ]
        for row in statistics.rows
    ]
    return [header, *body]

"""The district dashboard's figures, over the cases the user may see.

Definitions (docs/reports.md gives them with examples):

* **Open cases** and **overdue steps** are as of now, over every open case in scope.
* The other figures cover the cases *opened* in the period (whole months, local time).
* **Hours to police involvement**: from ``suspicion_formed_at`` to the ``occurred_at`` of
  the record of the step with the ``police_involvement`` role (0 when police were involved
  before the suspicion formed, e.g. when police brought the case).
* **Hours to the CWS report**: from ``suspicion_formed_at`` to the ``written_submitted_at``
  of the record of the step with the ``child_abuse_report`` role: the written SS 8572,
  which the 36-hour rule is about.
* **Written reports within 36 hours**: reports filed by their due time, out of every report
  that was due: filed ones, plus ones still not filed after their due time. Reports marked
  "does not apply" or not required are left out.
* **Check-in adherence**: check-ins done on time out of check-ins due (see
  :func:`check_in_record`).

The figures are read from the rollup the case services keep (:mod:`.rollups`), never by
evaluating cases: the page costs the same at any number of cases. The medians come from
hour buckets (:func:`median_of_buckets`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
)

from safestep.accounts.access import Capability, case_scope_names_no_school, has_capability
from safestep.accounts.models import School, User
from safestep.cases.selectors import case_scope_for
from safestep.definitions.models import ProtocolVersion
from safestep.definitions.selectors import definition_of, protocols_current
from safestep.protocol import Protocol, Step
from safestep.reports.models import (
    CaseContribution,
    CaseRollup,
    DistrictRollup,
    DistrictRollupHours,
    HoursMeasure,
    OpenStep,
    RollupHours,
)
from safestep.reports.periods import Period
from safestep.reports.rollups import COUNTERS, check_in_schedule, check_ins_missed_since

# The dashboard is for the people who run cases: site administrators (their schools) and
# district coordinators (every school). Opening cases is the capability that marks them.
DASHBOARD_CAPABILITY = Capability.DASHBOARD_READ


def may_see_dashboard(user: User) -> bool:
    return has_capability(user, DASHBOARD_CAPABILITY)


@dataclass(frozen=True)
class Ratio:
    met: int
    of: int

    @property
    def share(self) -> float | None:
        return self.met / self.of if self.of else None


@dataclass(frozen=True)
class Median:
    hours: float | None
    cases: int


@dataclass(frozen=True)
class OverdueStep:
    case_id: int
    reference: str
    school: str
    step_id: str
    step_code: str
    step_title: str
    due_at: datetime
    hours_overdue: float


@dataclass(frozen=True)
class Dashboard:
    period: Period
    now: datetime
    schools: list[tuple[str, str]]  # (code, name)
    pathways: list[tuple[str, str]]  # (id, title)
    open_cases: dict[tuple[str, str], int]  # (school code, pathway id) -> open cases
    overdue: list[OverdueStep]  # the longest overdue, at most OVERDUE_LISTED
    overdue_count: int  # every overdue step
    overdue_by_step: list[tuple[str, int]]  # (step title, overdue steps)
    hours_to_police: Median
    hours_to_cws: Median
    cws_within_deadline: Ratio
    check_in_adherence: Ratio
    opened_by_month: list[tuple[str, dict[str, int]]]  # (YYYY-MM, pathway id -> cases)

    def open_by_school(self) -> Counter[str]:
        """Open cases by school code, all pathways: one pass over the cells (a district of
        400 schools asked ``open_total`` per school, 400 passes of 400 cells a load)."""
        totals: Counter[str] = Counter()
        for (code, _pathway), count in self.open_cases.items():
            totals[code] += count
        return totals

    def open_total(self, *, school: str | None = None, pathway: str | None = None) -> int:
        return sum(
            count
            for (code, path), count in self.open_cases.items()
            if (school is None or code == school) and (pathway is None or path == pathway)
        )


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _median(values: list[float]) -> Median:
    return Median(round(statistics.median(values), 1) if values else None, len(values))


def check_in_record(
    *, plan_started_at: datetime, every_days: int, check_ins: Iterable[datetime], until: datetime
) -> Ratio:
    """How many check-ins were due by UNTIL, and how many of those were done on time (the
    schedule is :func:`safestep.reports.rollups.check_in_schedule`)."""
    met, due, _anchor = check_in_schedule(
        plan_started_at=plan_started_at, every_days=every_days, check_ins=check_ins, until=until
    )
    return Ratio(met, due)


def _newest_first(stored_versions: list[ProtocolVersion]) -> list[ProtocolVersion]:
    """The stored protocol versions, the most recently loaded first."""
    return sorted(stored_versions, key=lambda stored: (stored.loaded_at, stored.pk), reverse=True)


def _pathway_titles(
    found_in_data: Iterable[str], stored_versions: list[ProtocolVersion]
) -> list[tuple[str, str]]:
    """Every current protocol's pathways, then any other pathway a case is on (an older
    protocol's), titled as the protocol that has it names it."""
    titles: dict[str, str] = {}
    for stored in protocols_current(stored_versions):
        for pathway in definition_of(stored).pathways:
            titles.setdefault(pathway.id, pathway.title)
    missing = set(found_in_data) - set(titles)
    if missing:
        for stored in _newest_first(stored_versions):
            for pathway in definition_of(stored).pathways:
                if pathway.id in missing:
                    titles.setdefault(pathway.id, pathway.title)
        for pathway_id in sorted(missing - set(titles)):
            titles[pathway_id] = pathway_id
    return list(titles.items())


def median_of_buckets(buckets: Mapping[int, int]) -> Median:
    """The median of the hours counted in BUCKETS (bucket in tenths of an hour -> cases):
    the median of the values as rounded to their bucket (see rollups.hours_bucket)."""
    total = sum(buckets.values())
    if not total:
        return Median(None, 0)
    wanted = [(total - 1) // 2, total // 2]  # the middle one, or the middle two
    found: list[float] = []
    seen = 0
    for bucket in sorted(buckets):
        count = buckets[bucket]
        while wanted and wanted[0] < seen + count:
            found.append(bucket / 10)
            wanted.pop(0)
        seen += count
    return Median(round(statistics.mean(found), 1), total)


# The longest overdue steps are listed one by one; the counts cover them all.
OVERDUE_LISTED = 100


def _overdue(
    scope: Q, now: datetime, stored_versions: list[ProtocolVersion]
) -> tuple[list[OverdueStep], int, list[tuple[str, int]]]:
    """The longest overdue steps (at most OVERDUE_LISTED), how many steps are overdue, and
    how many of each step (by title): an index range over the open steps' due times."""
    late = OpenStep.objects.filter(scope, due_at__lt=now)
    # Counted by pathway and step alone, in the open steps' own table: joining each to its
    # case for the protocol version read every case of the district (380 ms at a million
    # cases, 15 ms without). A step keeps its id across a protocol's versions; its title is
    # the newest version's that has it (``newest_step``).
    # COUNT(*), not of a column: the due-time index holds the pathway and step, so
    # PostgreSQL counts on the index alone (33 ms → 11 ms for 61,000 overdue steps).
    per_step = late.values("pathway", "step_id").annotate(steps=Count("*")).order_by()
    protocols: dict[Any, Protocol] = {}

    def protocol_of(protocol_pk: Any) -> Protocol | None:
        if protocol_pk not in protocols:
            stored = next((item for item in stored_versions if item.pk == protocol_pk), None)
            if stored is None:
                return None
            protocols[protocol_pk] = definition_of(stored)
        return protocols[protocol_pk]

    def step_of(protocol_pk: Any, pathway: str, step_id: str) -> Step | None:
        definition = protocol_of(protocol_pk)
        if definition is None or pathway not in {item.id for item in definition.pathways}:
            return None
        found = definition.pathway(pathway)
        return found.step(step_id) if found.has_step(step_id) else None

    newest_first = _newest_first(stored_versions)

    def newest_step(pathway: str, step_id: str) -> Step | None:
        for stored in newest_first:
            found = step_of(stored.pk, pathway, step_id)
            if found is not None:
                return found
        return None

    by_step: Counter[tuple[str, str]] = Counter()
    for row in per_step:
        step = newest_step(row["pathway"], row["step_id"])
        by_step[(row["step_id"], step.title if step else row["step_id"])] += row["steps"]
    listed: list[OverdueStep] = []
    # Only what the list shows: a case row also holds encrypted text, not needed here.
    rows = late.order_by("due_at", "case__reference", "step_id").values_list(
        "case_id",
        "case__reference",
        "case__protocol_id",
        "school__code",
        "pathway",
        "step_id",
        "due_at",
    )
    for case_id, reference, protocol_pk, school, pathway, step_id, due_at in rows[:OVERDUE_LISTED]:
        if due_at is None:  # not late: a step without a due time is never before now
            continue
        step = step_of(protocol_pk, pathway, step_id)
        listed.append(
            OverdueStep(
                case_id=case_id,
                reference=reference,
                school=school,
                step_id=step_id,
                step_code=step.code if step else "",
                step_title=step.title if step else step_id,
                due_at=due_at,
                hours_overdue=round(_hours(due_at, now), 1),
            )
        )
    listed.sort(key=lambda item: (-item.hours_overdue, item.reference, item.step_id))
    ordered = sorted(by_step.items(), key=lambda item: (item[0][0], item[0][1]))
    return listed, sum(by_step.values()), [(title, count) for (_id, title), count in ordered]


def _missed_since(scope: Q, months: list[str], now: datetime) -> tuple[int, int]:
    """What the clock alone has added since the rollup was written, for cases opened in
    MONTHS: written reports still not filed after their due time, and check-ins missed
    since the last one recorded on open cases (rollups.check_in_schedule).

    One query of two parts: the late reports counted by the database on their own index
    (``contribution_late_report``), and the late check-in schedules, one row each (with
    how many cases share it)."""
    opened_then = CaseContribution.objects.filter(scope, counted=True, month__in=months)
    no_moment = Value(None, output_field=DateTimeField())
    no_days = Value(None, output_field=IntegerField())
    late_reports = (
        opened_then.filter(cws_unfiled_due_at__lt=now)
        .annotate(anchor=no_moment, every_days=no_days)
        .values("anchor", "every_days")
        .annotate(cases=Count("*"))
        .order_by()
    )
    late_check_ins = (
        opened_then.filter(
            open=True,
            check_ins_next_due__lt=now,
            check_ins_anchor__isnull=False,
            check_ins_every_days__isnull=False,
        )
        .values("check_ins_anchor", "check_ins_every_days")
        .annotate(cases=Count("*"))
        .order_by()
    )
    reports_missed = check_ins_missed = 0
    for anchor, every_days, cases in late_reports.union(late_check_ins, all=True).values_list(
        "anchor", "every_days", "cases"
    ):
        if anchor is None or every_days is None:
            reports_missed += cases  # the first part's one row
            continue
        check_ins_missed += cases * check_ins_missed_since(anchor, every_days, now)
    return reports_missed, check_ins_missed


def dashboard_for_user(user: User, *, period: Period, now: datetime) -> Dashboard:
    """The dashboard over the cases USER may see. Callers check may_see_dashboard first.

    Every figure comes from the rollup (:mod:`safestep.reports.rollups`), in a fixed number
    of queries whatever the number of cases. The rollup rows carry the school and pathway
    of their cases, which is all a case scope filters on (accounts.access.case_scope), so
    the user's scope applies to them as it does to cases; the district's cells carry the
    pathway only, and are read for a scope that names no school.
    """
    scope = case_scope_for(user)
    months = period.months
    # A scope that names no school reads the district's cells, a row per pathway and month,
    # instead of every school's (a district of 400 schools: 400 times fewer rows).
    by_district = case_scope_names_no_school(user)
    cells_model: type[CaseRollup | DistrictRollup] = DistrictRollup if by_district else CaseRollup
    hours_model: type[RollupHours | DistrictRollupHours] = (
        DistrictRollupHours if by_district else RollupHours
    )
    in_period = cells_model._default_manager.filter(scope, month__in=months)
    sums: dict[str, Any] = {name: Sum(name) for name in COUNTERS}
    by_month: dict[str, dict[str, int]] = defaultdict(dict)
    totals: Counter[str] = Counter()
    cells: list[dict[str, Any]] = [
        dict(cell) for cell in in_period.values("month", "pathway").annotate(**sums).order_by()
    ]
    for cell in cells:
        if cell["opened"]:
            by_month[cell["month"]][cell["pathway"]] = cell["opened"]
        for name in COUNTERS:
            totals[name] += cell[name] or 0
    # By the school's id, on the index of the cells with open cases alone; the schools'
    # codes come with their list below (joined here, 400 schools' codes cost 2 ms more).
    # Read first: cells are removed only by ``rollup rebuild``, so each of these schools
    # still has one when the list of schools with cells is read.
    open_by_school_id = list(
        CaseRollup.objects.filter(scope, open__gt=0)
        .values_list("school_id", "pathway")
        .annotate(cases=Sum("open"))
        .order_by()
    )
    hours: dict[str, dict[int, int]] = defaultdict(dict)
    bucket_rows = (
        hours_model._default_manager.filter(scope, month__in=months, cases__gt=0)
        .values("measure", "bucket")
        .annotate(cases=Sum("cases"))
        .order_by()
    )
    for bucket_row in bucket_rows:
        hours[bucket_row["measure"]][bucket_row["bucket"]] = bucket_row["cases"]
    # Written reports still not filed after their due time (due, and missed), and
    # check-ins missed since the last one.
    reports_missed, check_ins_missed = _missed_since(scope, months, now)
    # Every stored protocol version, once: a handful of rows, which the overdue list and
    # the pathway titles both need.
    stored_versions = list(ProtocolVersion.objects.all())
    overdue, overdue_count, overdue_by_step = _overdue(scope, now, stored_versions)
    # The schools with a cell in scope, or where the user works: one index probe a school
    # (a district of 400 schools joined every cell of every month: 4.5 ms at 100,000 cases).
    with_cells = CaseRollup.objects.filter(scope, school=OuterRef("pk"))
    works_there = User.schools.through.objects.filter(user=user, school=OuterRef("pk"))
    scoped_schools = School.objects.filter(Exists(with_cells) | Exists(works_there))
    schools = list(scoped_schools.order_by("code").values_list("pk", "code", "name"))
    code_of = {pk: code for pk, code, _name in schools}
    open_cases = {
        (code_of[school_id], pathway): cases
        for school_id, pathway, cases in open_by_school_id
        # (A rebuild committed between the two reads may have removed a school's cells.)
        if cases and school_id in code_of
    }
    pathways_seen = {pathway for _school, pathway in open_cases}
    pathways_seen.update(pathway for counts in by_month.values() for pathway in counts)
    return Dashboard(
        period=period,
        now=now,
        schools=[(code, name) for _pk, code, name in schools],
        pathways=_pathway_titles(pathways_seen, stored_versions),
        open_cases=open_cases,
        overdue=overdue,
        overdue_count=overdue_count,
        overdue_by_step=overdue_by_step,
        hours_to_police=median_of_buckets(hours[HoursMeasure.POLICE.value]),
        hours_to_cws=median_of_buckets(hours[HoursMeasure.CWS.value]),
        cws_within_deadline=Ratio(int(totals["cws_met"]), int(totals["cws_due"]) + reports_missed),
        check_in_adherence=Ratio(
            int(totals["check_ins_met"]),
            int(totals["check_ins_due"]) + check_ins_missed,
        ),
        opened_by_month=[(month, dict(by_month.get(month, {}))) for month in months],
    )

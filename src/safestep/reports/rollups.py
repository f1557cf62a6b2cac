"""Keeping the dashboard's rollup current, recounting it, and checking it.

Every case service calls :func:`rollup_case_changed` in its own transaction, after its
change is saved: the case's figures are worked out again from the case as stored, what it
added before (its :class:`~safestep.reports.models.CaseContribution`) is taken off its cell
and the new figures are added. The cells change by ``UPDATE ... SET n = n + delta`` (F()
expressions), never by read-modify-write, so two cases of one cell changing at once both
count, on SQLite and PostgreSQL alike. The case itself is locked by the service, so one
case's own contribution is never worked out twice at once.

:func:`rollup_recount` works the same figures out from scratch, from every case;
:func:`rollup_differences` compares the two (``safestep rollup verify``) and
:func:`rollup_rebuild` replaces the rollup by the recount (``safestep rollup rebuild``).

Definitions of the figures: :mod:`safestep.reports.selectors` and docs/reports.md.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from safestep.accounts.models import School
from safestep.cases.models import Case, CaseFact, CaseStatus, CheckIn, Resolution, StepRecord
from safestep.cases.selectors import case_definition, case_evaluation, live_record_by_step
from safestep.protocol import (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_POLICE_INVOLVEMENT,
    next_check_in_due,
)
from safestep.reports.models import (
    CaseContribution,
    CaseRollup,
    DistrictRollup,
    DistrictRollupHours,
    HoursMeasure,
    OpenStep,
    RollupHours,
)

# Hours are kept in buckets so that a median can be read from counts. A bucket is named by
# its value in tenths of an hour: to the nearest 0.1 h under a week, the nearest hour under
# 30 days, and the nearest day beyond (docs/reports.md says what that means for a median).
WEEK_HOURS = 168
MONTH_HOURS = 720


def hours_bucket(hours: float) -> int:
    """The bucket HOURS falls in, as tenths of an hour."""
    if hours < WEEK_HOURS:
        return round(hours * 10)
    if hours < MONTH_HOURS:
        return round(hours) * 10
    return round(hours / 24) * 240


Cell = tuple[int, str, str]  # (school id, pathway, YYYY-MM)
DistrictCell = tuple[str, str]  # (pathway, YYYY-MM): every school's cells of it added up

# The cell counters: CaseRollup's fields, which Figures.counters fills.
COUNTERS = (
    "opened",
    "open",
    "closed",
    "police_cases",
    "police_hours",
    "cws_reports",
    "cws_hours",
    "cws_due",
    "cws_met",
    "check_ins_met",
    "check_ins_due",
)


class StepRow(NamedTuple):
    """An unresolved step of an open case as the rollup keeps it (one ``OpenStep`` row)."""

    step_id: str
    step_number: int
    state: str
    actor_roles: str  # "|site_admin|counselor|": each role between bars
    due_at: datetime | None


STEP_ROW_FIELDS = StepRow._fields


def roles_field(roles: Iterable[str]) -> str:
    """ROLES as ``OpenStep.actor_roles`` keeps them."""
    return "|" + "|".join(roles) + "|"


@dataclass(frozen=True)
class Figures:
    """One case's figures: what it adds to its cell, and what read time needs of it."""

    school_id: int
    pathway: str
    month: str
    counted: bool = False
    open: bool = False
    closed: bool = False
    police_hours: float | None = None
    cws_hours: float | None = None
    cws_due: bool = False
    cws_met: bool = False
    check_ins_met: int = 0
    check_ins_due: int = 0
    cws_unfiled_due_at: datetime | None = None
    check_ins_anchor: datetime | None = None
    check_ins_next_due: datetime | None = None
    check_ins_every_days: int | None = None
    # Each unresolved step while the case is open (``OpenStep``).
    open_steps: tuple[StepRow, ...] = field(default=())

    @property
    def cell(self) -> tuple[int, str, str]:
        return (self.school_id, self.pathway, self.month)

    def counters(self) -> dict[str, float]:
        """What the case adds to its cell's counters (nothing when voided)."""
        if not self.counted:
            return dict.fromkeys(COUNTERS, 0)
        return {
            "opened": 1,
            "open": int(self.open),
            "closed": int(self.closed),
            "police_cases": int(self.police_hours is not None),
            "police_hours": self.police_hours or 0.0,
            "cws_reports": int(self.cws_hours is not None),
            "cws_hours": self.cws_hours or 0.0,
            "cws_due": int(self.cws_due),
            "cws_met": int(self.cws_met),
            "check_ins_met": self.check_ins_met,
            "check_ins_due": self.check_ins_due,
        }

    def buckets(self) -> list[tuple[str, int]]:
        """(measure, bucket) of each clock figure the case adds to its cell's histogram."""
        if not self.counted:
            return []
        found = []
        if self.police_hours is not None:
            found.append((HoursMeasure.POLICE.value, hours_bucket(self.police_hours)))
        if self.cws_hours is not None:
            found.append((HoursMeasure.CWS.value, hours_bucket(self.cws_hours)))
        return found


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def local_month(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m")


def check_in_schedule(
    *,
    plan_started_at: datetime,
    every_days: int,
    check_ins: Iterable[datetime],
    until: datetime | None = None,
) -> tuple[int, int, datetime]:
    """(met, due, anchor): how many check-ins were due and how many of those were on time,
    and where the schedule stands afterwards.

    The schedule is the one the case page shows: the next check-in is due ``every_days``
    after the plan started or after the last check-in, at the same local time. A check-in
    is due once its due time has passed, or once it is done. It is on time when one was
    recorded by its due time. When none was, it is missed; a late check-in restarts the
    schedule, and while none comes, every further ``every_days`` counts as another miss.

    With UNTIL, the count runs to that moment (the dashboard's figures of a closed case).
    Without it, the count stops at the last recorded check-in: what follows depends only
    on the clock (one more miss every ``every_days`` from ANCHOR), so the rollup stores
    the settled part and the dashboard counts the rest at read time.
    """
    zone = settings.TIME_ZONE
    done = sorted(moment for moment in check_ins if moment > plan_started_at)
    anchor = plan_started_at
    met = due_count = 0
    position = 0
    while True:
        due = next_check_in_due(
            plan_started_at=anchor, every_days=every_days, check_ins=[], tz=zone
        )
        while position < len(done) and done[position] <= anchor:
            position += 1
        following = done[position] if position < len(done) else None
        if following is not None and following <= due:
            met += 1
            due_count += 1
            anchor = following
            continue
        if (following is None and until is None) or (until is not None and until <= due):
            return met, due_count, anchor  # the next one is not missed (yet)
        due_count += 1
        after_due = next_check_in_due(
            plan_started_at=due, every_days=every_days, check_ins=[], tz=zone
        )
        anchor = following if following is not None and following <= after_due else due


# Where each late schedule's count of misses stood when last asked, by (anchor, every_days,
# zone): (misses, the due time of the last miss, the due time of the next). A dashboard
# asks for every late schedule in its period on every load; without this, a schedule a
# year late walks fifty due dates each time. Bounded: cleared when full.
_MISSED: dict[tuple[datetime, int, str], tuple[int, datetime | None, datetime]] = {}
_MISSED_MAX = 200_000


def check_ins_missed_since(anchor: datetime, every_days: int, now: datetime) -> int:
    """How many check-ins fell due after ANCHOR and before NOW with none recorded: the
    same count as ``check_in_schedule`` (no check-ins, until NOW) gives, taken up where an
    earlier call left it when NOW is later, walked from ANCHOR otherwise."""
    zone = settings.TIME_ZONE
    key = (anchor, every_days, str(zone))
    found = _MISSED.get(key)
    if found is not None and (found[1] is None or found[1] < now):
        missed, last_due, due = found
    else:
        missed, last_due = 0, None
        due = next_check_in_due(
            plan_started_at=anchor, every_days=every_days, check_ins=[], tz=zone
        )
    while due < now:
        missed += 1
        last_due = due
        due = next_check_in_due(plan_started_at=due, every_days=every_days, check_ins=[], tz=zone)
    if len(_MISSED) >= _MISSED_MAX:
        _MISSED.clear()
    _MISSED[key] = (missed, last_due, due)
    return missed


def _parse_moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _cases_for_rollup() -> QuerySet[Case]:
    """Cases with what their figures need (step details come separately: see below)."""
    live_records = StepRecord.objects.filter(reopened_at__isnull=True).defer("details", "reason")
    return (
        Case.objects.select_related("protocol", "check_in_plan")
        .defer("summary", "outcome", "review_reasons")
        .prefetch_related(
            Prefetch("step_records", queryset=live_records, to_attr="live_records"),
            Prefetch("facts", queryset=CaseFact.objects.defer("reason")),
            Prefetch("check_ins", queryset=CheckIn.objects.only("id", "case_id", "occurred_at")),
        )
    )


def _written_at(record_ids: Sequence[int]) -> dict[int, datetime]:
    """When each written CWS report was sent, by step record: the record's details say it
    (they are stored encrypted, so only the report records' details are read)."""
    found: dict[int, datetime] = {}
    if not record_ids:
        return found
    rows = StepRecord.objects.filter(pk__in=list(record_ids)).values_list("pk", "details")
    for record_id, details in rows:
        stored: object = details  # decrypted JSON: a dict
        if isinstance(stored, dict):
            moment = _parse_moment(stored.get("written_submitted_at"))
            if moment is not None:
                found[record_id] = moment
    return found


def _figures_of_cases(cases: Sequence[Case], *, now: datetime) -> dict[int, Figures]:
    """Each case's figures, with one more query for all their written reports."""
    report_records: dict[int, StepRecord] = {}
    for case in cases:
        report_step = case_definition(case).step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
        record = live_record_by_step(case).get(report_step or "")
        if record is not None and record.resolution == Resolution.DONE:
            report_records[case.pk] = record
    written = _written_at([record.pk for record in report_records.values()])
    return {case.pk: _figures(case, now=now, written=written) for case in cases}


def _figures(case: Case, *, now: datetime, written: dict[int, datetime]) -> Figures:
    where: dict[str, Any] = {
        "school_id": case.school_id,
        "pathway": case.pathway,
        "month": local_month(case.opened_at),
    }
    if case.status == CaseStatus.VOIDED:
        # A case opened in error counts nowhere.
        return Figures(**where)
    definition = case_definition(case)
    evaluation = case_evaluation(case, now=now)
    records = live_record_by_step(case)
    is_open = case.status == CaseStatus.OPEN
    open_steps: tuple[StepRow, ...] = ()
    if is_open:
        open_steps = tuple(
            StepRow(
                status.step.id,
                status.step.number,
                str(status.state),
                roles_field(status.step.actor_roles),
                status.due_at,
            )
            for status in evaluation.steps
            if status.is_open
        )
    police_hours: float | None = None
    police_step = definition.step_id_with_role(STEP_ROLE_POLICE_INVOLVEMENT)
    police = records.get(police_step) if police_step is not None else None
    if police is not None and police.resolution == Resolution.DONE:
        police_hours = max(0.0, _hours(case.suspicion_formed_at, police.occurred_at))
    cws_hours: float | None = None
    cws_due = cws_met = False
    cws_unfiled_due_at: datetime | None = None
    report_step = definition.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    if report_step is not None and evaluation.pathway.has_step(report_step):
        cws_status = evaluation.status(report_step)
        cws = records.get(report_step)
        if cws is not None and cws.resolution == Resolution.DONE:
            written_at = written.get(cws.pk) or cws.occurred_at
            cws_hours = max(0.0, _hours(case.suspicion_formed_at, written_at))
            if cws_status.due_at is not None:
                cws_due = True
                cws_met = written_at <= cws_status.due_at
        elif cws_status.is_open and cws_status.due_at is not None:
            cws_unfiled_due_at = cws_status.due_at
    check_ins: dict[str, Any] = {}
    plan = getattr(case, "check_in_plan", None)
    if plan is not None:
        moments = [check_in.occurred_at for check_in in case.check_ins.all()]
        if is_open:
            met, due, anchor = check_in_schedule(
                plan_started_at=plan.started_at, every_days=plan.every_days, check_ins=moments
            )
            check_ins = {
                "check_ins_met": met,
                "check_ins_due": due,
                "check_ins_anchor": anchor,
                "check_ins_next_due": next_check_in_due(
                    plan_started_at=anchor,
                    every_days=plan.every_days,
                    check_ins=[],
                    tz=settings.TIME_ZONE,
                ),
                "check_ins_every_days": plan.every_days,
            }
        else:
            met, due, _anchor = check_in_schedule(
                plan_started_at=plan.started_at,
                every_days=plan.every_days,
                check_ins=moments,
                until=case.closed_at or now,
            )
            check_ins = {"check_ins_met": met, "check_ins_due": due}
    return Figures(
        **where,
        counted=True,
        open=is_open,
        closed=case.status == CaseStatus.CLOSED,
        police_hours=police_hours,
        cws_hours=cws_hours,
        cws_due=cws_due,
        cws_met=cws_met,
        cws_unfiled_due_at=cws_unfiled_due_at,
        open_steps=open_steps,
        **check_ins,
    )


# --- keeping it current ---------------------------------------------------------------------

STORED_FIELDS = tuple(item.name for item in fields(Figures) if item.name != "open_steps")


def _stored(row: CaseContribution) -> Figures:
    values: dict[str, Any] = {name: getattr(row, name) for name in STORED_FIELDS}
    return Figures(**values)


def _add_to_row(model: type[models.Model], where: dict[str, Any], changes: dict[str, Any]) -> None:
    """Add CHANGES (F() expressions) to the row of MODEL at WHERE, made when missing."""
    rows = model._default_manager.filter(**where)
    if not rows.update(**changes):
        model._default_manager.get_or_create(**where)
        rows.update(**changes)


def _cell_where(cell: Cell) -> dict[str, Any]:
    school_id, pathway, month = cell
    return {"school_id": school_id, "pathway": pathway, "month": month}


def _district_where(cell: DistrictCell) -> dict[str, Any]:
    pathway, month = cell
    return {"pathway": pathway, "month": month}


def _district_cell(cell: Cell) -> DistrictCell:
    _school_id, pathway, month = cell
    return (pathway, month)


def _counter_changes(delta: dict[str, float]) -> dict[str, Any]:
    return {name: F(name) + amount for name, amount in delta.items() if amount}


def _apply(before: Figures | None, after: Figures) -> None:
    """Take BEFORE off its cells and add AFTER to its own: the school's cell, and the
    district's cell of the same pathway and month.

    Rows are updated in a fixed order (the schools' cells, then their buckets, then the
    district's cells and buckets, each sorted), so two transactions moving cases between
    the same cells in opposite directions cannot deadlock on PostgreSQL.
    """
    deltas: dict[Cell, dict[str, float]] = {}
    if before is not None:
        cell = deltas.setdefault(before.cell, dict.fromkeys(COUNTERS, 0))
        for name, amount in before.counters().items():
            cell[name] -= amount
    cell = deltas.setdefault(after.cell, dict.fromkeys(COUNTERS, 0))
    for name, amount in after.counters().items():
        cell[name] += amount
    buckets: Counter[tuple[Cell, str, int]] = Counter()
    if before is not None:
        buckets.subtract((before.cell, measure, bucket) for measure, bucket in before.buckets())
    buckets.update((after.cell, measure, bucket) for measure, bucket in after.buckets())
    district_deltas: dict[DistrictCell, dict[str, float]] = {}
    district_buckets: Counter[tuple[DistrictCell, str, int]] = Counter()
    for cell_key in sorted(deltas):
        changes = _counter_changes(deltas[cell_key])
        if changes:
            _add_to_row(CaseRollup, _cell_where(cell_key), changes)
        district = district_deltas.setdefault(_district_cell(cell_key), dict.fromkeys(COUNTERS, 0))
        for name, amount in deltas[cell_key].items():
            district[name] += amount
    for bucket_key in sorted(buckets):
        where, measure, bucket = bucket_key
        if buckets[bucket_key]:
            _add_to_row(
                RollupHours,
                {**_cell_where(where), "measure": measure, "bucket": bucket},
                {"cases": F("cases") + buckets[bucket_key]},
            )
        district_buckets[(_district_cell(where), measure, bucket)] += buckets[bucket_key]
    # A case that moved between two schools' cells of one month and pathway leaves the
    # district's cell as it was.
    for district_key in sorted(district_deltas):
        changes = _counter_changes(district_deltas[district_key])
        if changes:
            _add_to_row(DistrictRollup, _district_where(district_key), changes)
    for district_bucket in sorted(district_buckets):
        if district_buckets[district_bucket]:
            district_cell, measure, bucket = district_bucket
            _add_to_row(
                DistrictRollupHours,
                {**_district_where(district_cell), "measure": measure, "bucket": bucket},
                {"cases": F("cases") + district_buckets[district_bucket]},
            )


def _save(case_id: int, figures: Figures, *, had_open_steps: bool) -> None:
    values = {name: getattr(figures, name) for name in STORED_FIELDS}
    CaseContribution.objects.update_or_create(case_id=case_id, defaults=values)
    if had_open_steps:
        OpenStep.objects.filter(case_id=case_id).delete()
    OpenStep.objects.bulk_create(_open_step_rows(case_id, figures))


def _open_step_rows(case_id: int, figures: Figures) -> Iterator[OpenStep]:
    for row in figures.open_steps:
        yield OpenStep(
            case_id=case_id, school_id=figures.school_id, pathway=figures.pathway, **row._asdict()
        )


def rollup_case_changed(case: Case) -> None:
    """Bring the rollup up to date with CASE as now stored. Call it inside the transaction
    of the service that changed the case, after the change is saved."""
    with transaction.atomic():
        fresh = _cases_for_rollup().get(pk=case.pk)
        after = _figures_of_cases([fresh], now=timezone.now())[fresh.pk]
        stored = CaseContribution.objects.filter(case_id=case.pk).first()
        before = _stored(stored) if stored is not None else None
        open_steps = tuple(
            StepRow(*row)
            for row in OpenStep.objects.filter(case_id=case.pk)
            .order_by("id")
            .values_list(*STEP_ROW_FIELDS)
        )
        unchanged = before == _without_steps(after) and open_steps == after.open_steps
        if unchanged:
            return
        _apply(before, after)
        _save(case.pk, after, had_open_steps=bool(open_steps))


def _without_steps(figures: Figures) -> Figures:
    values: dict[str, Any] = {name: getattr(figures, name) for name in STORED_FIELDS}
    return Figures(**values)


# --- recounting from scratch ----------------------------------------------------------------

BATCH = 500

# Below this many cases one process recounts sooner than several start.
PARALLEL_FROM = 20_000

Batch = dict[int, Figures]  # case id -> its figures


def _batch_figures(case_ids: Sequence[int], now: datetime) -> Batch:
    return _figures_of_cases(list(_cases_for_rollup().filter(pk__in=case_ids)), now=now)


def _every_case_figures(
    *, now: datetime, workers: int | None = None, batch_size: int = BATCH
) -> Iterator[Batch]:
    """Every case's figures, a batch at a time: memory stays flat at any size.

    On PostgreSQL the batches are worked out by WORKERS processes side by side (by default
    one per core, from PARALLEL_FROM cases), and come back in order. Evaluating the cases
    is the recount's cost (about a millisecond a case), and this process keeps only the
    writing. SQLite recounts in this process: an install on SQLite is a small one (a
    minute for 10,000 cases), and the worker path is tested on PostgreSQL only.
    """
    ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
    chunks = [ids[start : start + batch_size] for start in range(0, len(ids), batch_size)]
    if workers is None:
        workers = (os.cpu_count() or 1) if len(ids) >= PARALLEL_FROM else 1
    if workers > 1 and len(chunks) > 1 and connection.vendor == "postgresql":
        yield from _figures_in_workers(chunks, now=now, workers=min(workers, len(chunks)))
        return
    for chunk in chunks:
        yield _batch_figures(chunk, now)


# The connections a forked worker inherited: they belong to the parent (which may be in
# the middle of its transaction), so they are kept referenced and never used or closed;
# closing one would end the parent's session on the server.
_inherited_connections: list[BaseDatabaseWrapper] = []


def _open_own_connections() -> None:
    """Start a forked worker on connections of its own, with the parent's settings."""
    for alias in list(connections):
        inherited = connections[alias]
        _inherited_connections.append(inherited)
        connections[alias] = type(inherited)(dict(inherited.settings_dict), alias)
    # Closed properly when the worker leaves, so the server sees a goodbye, not a reset.
    multiprocessing.util.Finalize(None, connections.close_all, exitpriority=10)


def _worker_batch(task: tuple[Sequence[int], datetime]) -> Batch:
    case_ids, now = task
    return _batch_figures(case_ids, now)


def _figures_in_workers(
    chunks: Sequence[Sequence[int]], *, now: datetime, workers: int
) -> Iterator[Batch]:
    # Forked, so workers start at once with this process's settings and protocol cache.
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_open_own_connections)
    try:
        yield from pool.imap(_worker_batch, [(chunk, now) for chunk in chunks])
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()  # workers leave on their own, closing their own connections
    finally:
        pool.join()


@dataclass
class Recount:
    cells: dict[Cell, dict[str, float]] = field(default_factory=dict)
    buckets: Counter[tuple[Cell, str, int]] = field(default_factory=Counter)
    cases: int = 0

    def add(self, batch: Batch) -> None:
        self.cases += len(batch)
        for found in batch.values():
            if not found.counted:
                continue
            cell = self.cells.setdefault(found.cell, dict.fromkeys(COUNTERS, 0))
            for name, amount in found.counters().items():
                cell[name] += amount
            for measure, bucket in found.buckets():
                self.buckets[(found.cell, measure, bucket)] += 1

    def district_cells(self) -> dict[DistrictCell, dict[str, float]]:
        """The district's cells: the schools' cells of each pathway and month added up."""
        district: dict[DistrictCell, dict[str, float]] = {}
        for cell, values in self.cells.items():
            sums = district.setdefault(_district_cell(cell), dict.fromkeys(COUNTERS, 0))
            for name, amount in values.items():
                sums[name] += amount
        return district

    def district_buckets(self) -> Counter[tuple[DistrictCell, str, int]]:
        district: Counter[tuple[DistrictCell, str, int]] = Counter()
        for (cell, measure, bucket), cases in self.buckets.items():
            district[(_district_cell(cell), measure, bucket)] += cases
        return district


def rollup_recount(
    *,
    now: datetime | None = None,
    each_batch: Callable[[Batch], None] | None = None,
    workers: int | None = None,
    batch_size: int = BATCH,
) -> Recount:
    """The rollup worked out from scratch from every case, its step records and check-ins.
    EACH_BATCH sees every batch of case figures on the way (in this process, in case
    order); WORKERS as for :func:`_every_case_figures`."""
    recount = Recount()
    batches = _every_case_figures(now=now or timezone.now(), workers=workers, batch_size=batch_size)
    for batch in batches:
        recount.add(batch)
        if each_batch is not None:
            each_batch(batch)
    return recount


def _stored_cells() -> dict[Cell, dict[str, float]]:
    return {
        (row["school_id"], row["pathway"], row["month"]): {name: row[name] for name in COUNTERS}
        for row in CaseRollup.objects.values("school_id", "pathway", "month", *COUNTERS)
    }


def _stored_buckets() -> dict[tuple[Cell, str, int], int]:
    return {
        ((school_id, pathway, month), measure, bucket): cases
        for school_id, pathway, month, measure, bucket, cases in RollupHours.objects.values_list(
            "school_id", "pathway", "month", "measure", "bucket", "cases"
        )
    }


def _stored_district_cells() -> dict[DistrictCell, dict[str, float]]:
    return {
        (row["pathway"], row["month"]): {name: row[name] for name in COUNTERS}
        for row in DistrictRollup.objects.values("pathway", "month", *COUNTERS)
    }


def _stored_district_buckets() -> dict[tuple[DistrictCell, str, int], int]:
    return {
        ((pathway, month), measure, bucket): cases
        for pathway, month, measure, bucket, cases in DistrictRollupHours.objects.values_list(
            "pathway", "month", "measure", "bucket", "cases"
        )
    }


@dataclass(frozen=True)
class Stored:
    """The rollup's cells and buckets as stored, the schools' and the district's."""

    cells: dict[Cell, dict[str, float]]
    buckets: dict[tuple[Cell, str, int], int]
    district_cells: dict[DistrictCell, dict[str, float]]
    district_buckets: dict[tuple[DistrictCell, str, int], int]

    @classmethod
    def read(cls) -> Stored:
        return cls(
            _stored_cells(), _stored_buckets(), _stored_district_cells(), _stored_district_buckets()
        )


def _same(stored: float, counted: float) -> bool:
    # Hour sums are floats added in different orders: equal to a second is equal.
    return abs(stored - counted) < 1 / 3600


@dataclass(frozen=True)
class Drift:
    """One figure of a cell, a histogram bucket or a case that differs from the recount."""

    where: str
    figure: str
    stored: float
    counted: float

    def line(self) -> str:
        return f"{self.where} {self.figure}: stored {self.stored:g}, counted {self.counted:g}"


@dataclass(frozen=True)
class Verdict:
    cells: int  # non-empty cells compared
    buckets: int  # non-empty hour buckets compared
    cases: int  # cases whose own figures were compared
    drift: list[Drift]


def _cell_name(cell: Cell | DistrictCell, school_codes: dict[int, str]) -> str:
    if len(cell) == 2:
        pathway, month = cell
        return f"district/{pathway}/{month}"
    school_id, pathway, month = cell
    return f"{school_codes.get(school_id, school_id)}/{pathway}/{month}"


def _counter_drift(
    stored_cells: Mapping[Any, dict[str, float]],
    counted_cells: Mapping[Any, dict[str, float]],
    school_codes: dict[int, str],
) -> list[Drift]:
    """Every cell figure that differs. A missing cell counts as all zero, so an emptied
    cell left in place is no drift."""
    drift: list[Drift] = []
    zero = dict.fromkeys(COUNTERS, 0)
    for cell in sorted(set(stored_cells) | set(counted_cells)):
        stored = stored_cells.get(cell, zero)
        counted = counted_cells.get(cell, zero)
        for name in COUNTERS:
            if not _same(stored[name], counted[name]):
                where = _cell_name(cell, school_codes)
                drift.append(Drift(where, name, stored[name], counted[name]))
    return drift


def _bucket_drift(
    stored_buckets: Mapping[Any, int],
    counted_buckets: Mapping[Any, int],
    school_codes: dict[int, str],
) -> list[Drift]:
    drift: list[Drift] = []
    for key in sorted(set(stored_buckets) | set(counted_buckets)):
        stored_count = stored_buckets.get(key, 0)
        counted_count = counted_buckets.get(key, 0)
        if stored_count != counted_count:
            cell, measure, bucket = key
            name = f"{measure}_hours_bucket_{bucket / 10:g}h"
            drift.append(Drift(_cell_name(cell, school_codes), name, stored_count, counted_count))
    return drift


def _cell_drift(recount: Recount, stored: Stored) -> list[Drift]:
    """Every cell figure and bucket that differs, the schools' and then the district's."""
    codes = dict(School.objects.values_list("pk", "code"))
    return (
        _counter_drift(stored.cells, recount.cells, codes)
        + _bucket_drift(stored.buckets, recount.buckets, codes)
        + _counter_drift(stored.district_cells, recount.district_cells(), codes)
        + _bucket_drift(stored.district_buckets, recount.district_buckets(), codes)
    )


def _case_drift(batch: Batch) -> list[Drift]:
    """Cases of BATCH whose kept figures, or open steps, differ from the recount: the
    read-time counts (overdue steps, late reports, missed check-ins) come from these."""
    drift: list[Drift] = []
    stored = {
        row.case_id: _stored(row) for row in CaseContribution.objects.filter(case_id__in=batch)
    }
    steps: dict[int, set[StepRow]] = {}
    kept_steps = OpenStep.objects.filter(case_id__in=batch).values_list("case_id", *STEP_ROW_FIELDS)
    for case_id, *row in kept_steps:
        steps.setdefault(case_id, set()).add(StepRow(*row))
    for case_id, counted in batch.items():
        kept = stored.get(case_id)
        where = f"case {case_id}"
        if kept != _without_steps(counted):
            drift.append(Drift(where, "case_figures", float(kept is not None), 1.0))
        if steps.get(case_id, set()) != set(counted.open_steps):
            drift.append(
                Drift(where, "open_steps", len(steps.get(case_id, ())), len(counted.open_steps))
            )
    return drift


def rollup_differences(
    *, now: datetime | None = None, workers: int | None = None, batch_size: int = BATCH
) -> Verdict:
    """Every figure of the rollup that differs from a recount from scratch."""
    case_drift: list[Drift] = []
    recount = rollup_recount(
        now=now,
        each_batch=lambda batch: case_drift.extend(_case_drift(batch)),
        workers=workers,
        batch_size=batch_size,
    )
    drift = _cell_drift(recount, Stored.read())
    return Verdict(
        cells=sum(1 for values in recount.cells.values() if any(values.values())),
        buckets=sum(1 for count in recount.buckets.values() if count),
        cases=recount.cases,
        drift=drift + case_drift,
    )


def _write_case_figures(batch: Batch) -> None:
    CaseContribution.objects.bulk_create(
        CaseContribution(case_id=case_id, **{name: getattr(found, name) for name in STORED_FIELDS})
        for case_id, found in batch.items()
    )
    OpenStep.objects.bulk_create(
        row for case_id, found in batch.items() for row in _open_step_rows(case_id, found)
    )


# Every table of the rollup, in an order they can be emptied in.
ROLLUP_MODELS: tuple[type[models.Model], ...] = (
    OpenStep,
    CaseContribution,
    RollupHours,
    CaseRollup,
    DistrictRollupHours,
    DistrictRollup,
)


def rollup_rebuild(
    *, now: datetime | None = None, workers: int | None = None, batch_size: int = BATCH
) -> tuple[int, int]:
    """Replace the rollup by a recount from scratch, in one transaction (the cases are
    read, and on PostgreSQL evaluated by WORKERS processes, beside it).

    Returns (cells written, cell figures and buckets that differed before). The caller
    records the audit event (reports.services.rollup_rebuild_recorded)."""
    with transaction.atomic():
        stored = Stored.read()
        for model in ROLLUP_MODELS:
            model._default_manager.all().delete()
        recount = rollup_recount(
            now=now, each_batch=_write_case_figures, workers=workers, batch_size=batch_size
        )
        corrected = len(_cell_drift(recount, stored))
        CaseRollup.objects.bulk_create(
            (
                CaseRollup(school_id=school_id, pathway=pathway, month=month, **values)
                for (school_id, pathway, month), values in recount.cells.items()
            ),
            batch_size=BATCH,
        )
        RollupHours.objects.bulk_create(
            (
                RollupHours(
                    school_id=school_id,
                    pathway=pathway,
                    month=month,
                    measure=measure,
                    bucket=bucket,
                    cases=cases,
                )
                for ((school_id, pathway, month), measure, bucket), cases in recount.buckets.items()
            ),
            batch_size=BATCH,
        )
        DistrictRollup.objects.bulk_create(
            (
                DistrictRollup(pathway=pathway, month=month, **values)
                for (pathway, month), values in recount.district_cells().items()
            ),
            batch_size=BATCH,
        )
        DistrictRollupHours.objects.bulk_create(
            (
                DistrictRollupHours(
                    pathway=pathway, month=month, measure=measure, bucket=bucket, cases=cases
                )
                for ((pathway, month), measure, bucket), cases in recount.district_buckets().items()
            ),
            batch_size=BATCH,
        )
    return len(recount.cells), corrected

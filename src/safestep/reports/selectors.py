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
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import School, User
from safestep.cases.models import Case, CaseFact, CaseStatus, CheckIn, Resolution, StepRecord
from safestep.cases.selectors import (
    case_definition,
    case_evaluation,
    case_scope_for,
    live_record_by_step,
)
from safestep.definitions.selectors import definition_of, protocols_current
from safestep.protocol import (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_POLICE_INVOLVEMENT,
    next_check_in_due,
)
from safestep.reports.periods import Period

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
    overdue: list[OverdueStep]
    hours_to_police: Median
    hours_to_cws: Median
    cws_within_deadline: Ratio
    check_in_adherence: Ratio
    opened_by_month: list[tuple[str, dict[str, int]]]  # (YYYY-MM, pathway id -> cases)

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


def _parse_moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def check_in_record(
    *, plan_started_at: datetime, every_days: int, check_ins: Iterable[datetime], until: datetime
) -> Ratio:
    """How many check-ins were due by UNTIL, and how many of those were done on time.

    The schedule is the one the case page shows: the next check-in is due ``every_days``
    after the plan started or after the last check-in, at the same local time. A check-in
    is due once its due time has passed, or once it is done. It is on time when one was
    recorded by its due time. When none was, it is missed; a late check-in restarts the
    schedule, and while none comes, every further ``every_days`` counts as another miss.
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
        if until <= due:
            break  # not missed yet: its due time has not passed
        due_count += 1
        after_due = next_check_in_due(
            plan_started_at=due, every_days=every_days, check_ins=[], tz=zone
        )
        anchor = following if following is not None and following <= after_due else due
    return Ratio(met, due_count)


def _pathway_titles(cases: Iterable[Case]) -> list[tuple[str, str]]:
    titles: dict[str, str] = {}
    for stored in protocols_current():
        for pathway in definition_of(stored).pathways:
            titles.setdefault(pathway.id, pathway.title)
    for case in cases:
        titles.setdefault(case.pathway, case_definition(case).pathway(case.pathway).title)
    return list(titles.items())


def _dashboard_cases(user: User, start: datetime, end: datetime) -> QuerySet[Case]:
    """Open cases and cases opened in the period, within USER's scope, with what the
    figures need and nothing more (no narratives, no step details)."""
    live_records = StepRecord.objects.filter(reopened_at__isnull=True).defer("details", "reason")
    return (
        Case.objects.filter(case_scope_for(user))
        .filter(Q(status=CaseStatus.OPEN) | Q(opened_at__gte=start, opened_at__lt=end))
        # A case opened in error counts nowhere.
        .exclude(status=CaseStatus.VOIDED)
        .select_related("school", "check_in_plan")
        .defer("summary", "outcome", "review_reasons")
        .prefetch_related(
            "protocol",
            Prefetch("step_records", queryset=live_records, to_attr="live_records"),
            Prefetch("facts", queryset=CaseFact.objects.defer("reason")),
            Prefetch("check_ins", queryset=CheckIn.objects.only("id", "case_id", "occurred_at")),
        )
    )


def _report_steps(cases: Iterable[Case]) -> dict[int, str]:
    """Each case's child abuse report step, as its own protocol names it."""
    found: dict[int, str] = {}
    for case in cases:
        step_id = case_definition(case).step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
        if step_id is not None:
            found[case.pk] = step_id
    return found


def _cws_written_at(
    user: User, start: datetime, end: datetime, report_steps: dict[int, str]
) -> dict[int, datetime]:
    """When each written CWS report was sent, for the cases opened in the period.

    REPORT_STEPS maps a case to its child abuse report step (``_report_steps``)."""
    in_period = (
        Case.objects.filter(case_scope_for(user))
        .filter(opened_at__gte=start, opened_at__lt=end)
        .exclude(status=CaseStatus.VOIDED)
    )
    found: dict[int, datetime] = {}
    records = StepRecord.objects.filter(
        case__in=in_period,
        step_id__in=sorted(set(report_steps.values())),
        resolution=Resolution.DONE,
        reopened_at__isnull=True,
    ).values_list("case_id", "step_id", "details")
    for case_id, step_id, details in records:
        if report_steps.get(case_id) != step_id:
            continue
        stored: object = details  # decrypted JSON: a dict
        if isinstance(stored, dict):
            moment = _parse_moment(stored.get("written_submitted_at"))
            if moment is not None:
                found[case_id] = moment
    return found


def dashboard_for_user(user: User, *, period: Period, now: datetime) -> Dashboard:
    """The dashboard over the cases USER may see. Callers check may_see_dashboard first."""
    start, end = period.bounds()
    cases = list(_dashboard_cases(user, start, end))
    report_steps = _report_steps(case for case in cases if start <= case.opened_at < end)
    written_at = _cws_written_at(user, start, end, report_steps)
    zone = ZoneInfo(settings.TIME_ZONE)
    open_cases: Counter[tuple[str, str]] = Counter()
    overdue: list[OverdueStep] = []
    to_police: list[float] = []
    to_cws: list[float] = []
    cws_met = cws_due = 0
    check_ins_met = check_ins_due = 0
    by_month: dict[str, Counter[str]] = defaultdict(Counter)

    for case in cases:
        evaluation = case_evaluation(case, now=now)
        if case.status == CaseStatus.OPEN:
            open_cases[(case.school.code, case.pathway)] += 1
            for status in evaluation.steps:
                if status.overdue and status.due_at is not None:
                    overdue.append(
                        OverdueStep(
                            case_id=case.pk,
                            reference=case.reference,
                            school=case.school.code,
                            step_id=status.step.id,
                            step_code=status.step.code,
                            step_title=status.step.title,
                            due_at=status.due_at,
                            hours_overdue=round(_hours(status.due_at, now), 1),
                        )
                    )
        if not start <= case.opened_at < end:
            continue
        by_month[case.opened_at.astimezone(zone).strftime("%Y-%m")][case.pathway] += 1
        records = live_record_by_step(case)
        police_step = case_definition(case).step_id_with_role(STEP_ROLE_POLICE_INVOLVEMENT)
        police = records.get(police_step) if police_step is not None else None
        if police is not None and police.resolution == Resolution.DONE:
            to_police.append(max(0.0, _hours(case.suspicion_formed_at, police.occurred_at)))
        report_step = report_steps.get(case.pk)
        if report_step is not None and evaluation.pathway.has_step(report_step):
            cws_status = evaluation.status(report_step)
            cws = records.get(report_step)
            if cws is not None and cws.resolution == Resolution.DONE:
                written = written_at.get(case.pk) or cws.occurred_at
                to_cws.append(max(0.0, _hours(case.suspicion_formed_at, written)))
                if cws_status.due_at is not None:
                    cws_due += 1
                    cws_met += written <= cws_status.due_at
            elif cws_status.is_open and cws_status.overdue:
                cws_due += 1
        plan = getattr(case, "check_in_plan", None)
        if plan is not None:
            until = now if case.status == CaseStatus.OPEN else (case.closed_at or now)
            adherence = check_in_record(
                plan_started_at=plan.started_at,
                every_days=plan.every_days,
                check_ins=[check_in.occurred_at for check_in in case.check_ins.all()],
                until=until,
            )
            check_ins_met += adherence.met
            check_ins_due += adherence.of

    scoped_schools = School.objects.filter(
        Q(pk__in=Case.objects.filter(case_scope_for(user)).values("school")) | Q(staff=user)
    ).distinct()
    overdue.sort(key=lambda item: (-item.hours_overdue, item.reference, item.step_id))
    return Dashboard(
        period=period,
        now=now,
        schools=[(school.code, school.name) for school in scoped_schools.order_by("code")],
        pathways=_pathway_titles(cases),
        open_cases=dict(open_cases),
        overdue=overdue,
        hours_to_police=_median(to_police),
        hours_to_cws=_median(to_cws),
        cws_within_deadline=Ratio(cws_met, cws_due),
        check_in_adherence=Ratio(check_ins_met, check_ins_due),
        opened_by_month=[(month, dict(by_month.get(month, {}))) for month in period.months],
    )

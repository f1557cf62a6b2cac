"""What is due, and for whom: the reading half of `safestep remind`.

The sweep reads every open case that could need a reminder in a handful of queries (the
cases with their step records, facts, check-ins and plan prefetched; every person, and the
schools they work at, once), then asks the protocol engine about each case in memory. A
voided or closed case is never read, so nobody is reminded of it. The concern and reporter
notices read the concerns near or past their report's due time through the (status,
report_due_at) index: two queries, however many concerns there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from safestep.accounts.access import (
    DISTRICT_WIDE_ROLES,
    EVERY_SCHOOL_ROLES,
    SCHOOL_TRIAGE_ROLES,
    Capability,
    acts_for_every_school,
    check_in_assignable,
    every_school_triagers,
    has_capability,
    school_triagers,
)
from safestep.accounts.models import User
from safestep.cases.models import (
    Case,
    CaseStatus,
    CheckIn,
    CheckInPlan,
    Concern,
    ConcernStatus,
    ConcernStudent,
    StepRecord,
)
from safestep.cases.selectors import case_evaluation, case_next_check_in_due
from safestep.notify.models import NoticeKind, ReminderKind, ReminderPreference
from safestep.protocol import StepState

AHEAD = timedelta(hours=24)  # "due soon" starts this long before a due time
ESCALATE_AFTER = timedelta(hours=24)  # the coordinator hears of steps overdue this long
CHECK_IN_TASK = "Check in with the student"
# What a site administrator is asked when the check-ins' keeper does not work at the school.
CHECK_IN_HANDOVER_TASK = (
    "Check in with the student, and give the check-ins to someone at the school"
)


@dataclass(frozen=True)
class Due:
    """One reminder that should exist: the outbox key, plus what the e-mail says."""

    case_id: int
    step_id: str
    kind: str
    due_at: datetime
    recipient_id: int
    task: str

    @property
    def key(self) -> tuple[int, str, str, datetime, int]:
        return (self.case_id, self.step_id, self.kind, self.due_at, self.recipient_id)


def open_cases_for_sweep(*, now: datetime) -> QuerySet[Case]:
    """Open cases that may need a reminder, with everything the evaluation reads.

    ``next_due_at`` (kept current by every case service) is the earliest due time of an
    unresolved step, so a case whose next deadline is more than a day away has no step
    reminder to send; only its check-ins can be due.
    """
    live_records = StepRecord.objects.filter(reopened_at__isnull=True).only(
        "id", "case_id", "step_id", "resolution", "occurred_at", "recorded_at"
    )
    return (
        Case.objects.filter(status=CaseStatus.OPEN)
        .filter(Q(next_due_at__lte=now + AHEAD) | Q(check_in_plan__isnull=False))
        .select_related("check_in_plan")
        .only(
            "id",
            "school_id",
            "protocol_id",
            "pathway",
            "status",
            "suspicion_formed_at",
            "opened_at",
            "check_in_plan__started_at",
            "check_in_plan__every_days",
            "check_in_plan__assignee_id",
        )
        .prefetch_related(
            # A protocol's text is large and shared by many cases: fetched once per batch.
            "protocol",
            Prefetch("step_records", queryset=live_records, to_attr="live_records"),
            "facts",
            Prefetch("check_ins", queryset=CheckIn.objects.only("id", "case_id", "occurred_at")),
        )
        .order_by("id")
    )


class People:
    """Everyone who can be reminded (``by_id``: active, with an e-mail address), and where
    every active person works, so that whether someone still keeps a case's check-ins is
    known without a query per case."""

    def __init__(self) -> None:
        users = User.objects.filter(is_active=True).prefetch_related("schools").order_by("id")
        self.by_id: dict[int, User] = {}
        self._active: dict[int, User] = {}
        self._schools_of: dict[int, frozenset[int]] = {}
        self._at_school: dict[tuple[str, int], list[int]] = defaultdict(list)
        self._by_role: dict[str, list[int]] = defaultdict(list)
        for user in users:
            schools = frozenset(school.pk for school in user.schools.all())
            self._active[user.pk] = user
            self._schools_of[user.pk] = schools
            if not user.email:
                continue  # may keep check-ins, but cannot be e-mailed
            self.by_id[user.pk] = user
            self._by_role[user.role].append(user.pk)
            for school_id in sorted(schools):
                self._at_school[(user.role, school_id)].append(user.pk)
        self.coordinators = [
            pk for role in sorted(EVERY_SCHOOL_ROLES) for pk in self._by_role.get(role, [])
        ]

    def site_admins(self, school_id: int) -> list[int]:
        """Who triages the school's concerns: its site administrators, or, when it has
        none who can be e-mailed, the district coordinators (who may triage anywhere), so
        that a concern never waits unseen."""
        triagers = [
            pk
            for role in sorted(SCHOOL_TRIAGE_ROLES)
            for pk in self._at_school.get((role, school_id), [])
        ]
        return triagers or list(self.coordinators)

    def keeps_check_ins(self, user_id: int, school_id: int) -> bool:
        """The in-memory form of ``check_in_assignable``: whether the user may keep the
        check-ins of a case at the school (works there, or acts for every school, and
        records check-ins). False for someone who left (no longer active)."""
        user = self._active.get(user_id)
        if user is None:
            return False
        return has_capability(user, Capability.CHECKIN_RECORD) and (
            acts_for_every_school(user) or school_id in self._schools_of[user_id]
        )

    def step_actors(self, actor_roles: tuple[str, ...], school_id: int) -> list[int]:
        """The people who may resolve the step and work at the case's school. When nobody
        there can (a step only district-wide roles act on, or a school without anyone in
        that role), the district-wide people in those roles."""
        found = [pk for role in actor_roles for pk in self._at_school.get((role, school_id), [])]
        if not found:
            found = [
                pk
                for role in actor_roles
                if role in DISTRICT_WIDE_ROLES
                for pk in self._by_role.get(role, [])
            ]
        return list(dict.fromkeys(found))


def reminders_due(*, now: datetime, people: People) -> Iterator[Due]:
    """Every reminder that should exist now, whether or not it was already sent."""
    cases = open_cases_for_sweep(now=now).iterator(chunk_size=500)
    for case in cases:
        for status in case_evaluation(case, now=now).steps:
            due_at = status.due_at
            if (
                status.state not in (StepState.PENDING, StepState.IN_PROGRESS)
                or due_at is None
                or now < due_at - AHEAD
            ):
                continue
            kind = ReminderKind.OVERDUE if status.overdue else ReminderKind.DUE_SOON
            for pk in people.step_actors(status.step.actor_roles, case.school_id):
                yield Due(case.pk, status.step.id, kind, due_at, pk, status.step.title)
            if now >= due_at + ESCALATE_AFTER:
                for pk in people.coordinators:
                    yield Due(
                        case.pk,
                        status.step.id,
                        ReminderKind.OVERDUE_24H,
                        due_at,
                        pk,
                        status.step.title,
                    )
        yield from _check_in_due(case, now, people)


def _check_in_due(case: Case, now: datetime, people: People) -> Iterator[Due]:
    """The check-in reminder: to the plan's keeper, or, while the keeper does not work at
    the case's school (the case was transferred away from them, or they left), to the
    school's site administrators (the coordinators when it has none), until someone is
    given the check-ins."""
    check_in_due = case_next_check_in_due(case)
    plan = getattr(case, "check_in_plan", None)
    if check_in_due is None or plan is None or now < check_in_due - AHEAD:
        return
    if people.keeps_check_ins(plan.assignee_id, case.school_id):
        if plan.assignee_id in people.by_id:
            yield Due(
                case.pk,
                "",
                ReminderKind.CHECK_IN_DUE,
                check_in_due,
                plan.assignee_id,
                CHECK_IN_TASK,
            )
        return
    for pk in people.site_admins(case.school_id):
        yield Due(
            case.pk,
            "",
            ReminderKind.CHECK_IN_UNKEPT,
            check_in_due,
            pk,
            CHECK_IN_HANDOVER_TASK,
        )


def checkin_keeper_away(case: Case) -> bool:
    """Whether CASE's check-ins are kept by someone who may no longer keep them: they do
    not work at the case's school (it was transferred) or left the district. The case page
    warns of it; meanwhile the check-in reminders go to the school's site administrators.
    Always False for a case without a plan, or no longer open."""
    if case.status != CaseStatus.OPEN:
        return False
    plan = CheckInPlan.objects.filter(case_id=case.pk).select_related("assignee").first()
    if plan is None:
        return False
    return not check_in_assignable(plan.assignee, case.school_id)


def digest_preferences() -> dict[int, ReminderPreference]:
    """People who chose one e-mail a day, by user id."""
    return {
        preference.user_id: preference
        for preference in ReminderPreference.objects.filter(daily_digest=True)
    }


def reminder_preference_of(user: User) -> ReminderPreference | None:
    return ReminderPreference.objects.filter(user=user).first()


# --- notices about concerns -------------------------------------------------------------


def emailable_users() -> QuerySet[User]:
    """People an e-mail can reach: active accounts with an address."""
    return User.objects.filter(is_active=True).exclude(email="")


def site_admins_for_notice(school_id: int) -> list[User]:
    """The one-off form of ``People.site_admins``: a submission notice needs only these."""
    admins = list(emailable_users().filter(school_triagers(school_id)).distinct())
    return admins or coordinators_for_notice()


def coordinators_for_notice() -> list[User]:
    return list(emailable_users().filter(every_school_triagers()))


def due_key(moment: datetime) -> str:
    """A due time as it appears in a notice's key: UTC, to the microsecond, so that the same
    moment always gives the same key and a moved clock gives a new one."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def notice_key(*, about: str, about_id: int, what: str, recipient_id: int) -> str:
    return f"{about}:{about_id}:{what}:user:{recipient_id}"


@dataclass(frozen=True)
class NoticeDue:
    """One reminder about a concern that should exist now: the outbox key and its row."""

    key: str
    kind: str
    concern_id: int
    case_id: int | None
    due_at: datetime
    recipient_id: int


# The notice kinds the sweep decides on; an unsent one of these that the sweep no longer
# finds due is withdrawn. The other kinds are written by the services at the moment
# something happens.
SWEPT_NOTICE_KINDS = frozenset(
    {
        NoticeKind.CONCERN_WAITING,
        NoticeKind.CONCERN_WAITING_COORDINATOR,
        NoticeKind.OWN_REPORT_DUE,
    }
)


def concern_first_case_id(concern: Concern) -> int | None:
    """The case of the first student a concern names that has one (None before triage)."""
    return (
        ConcernStudent.objects.filter(concern=concern, case__isnull=False)
        .order_by("position", "id")
        .values_list("case_id", flat=True)
        .first()
    )


def _with_first_case_id(concerns: QuerySet[Concern]) -> QuerySet[Concern]:
    """CONCERNS, each with ``first_case_id`` (as ``concern_first_case_id``) read in the
    same query."""
    first_case = (
        ConcernStudent.objects.filter(concern=OuterRef("pk"), case__isnull=False)
        .order_by("position", "id")
        .values("case_id")[:1]
    )
    return concerns.annotate(first_case_id=Subquery(first_case))


def _first_case_id_of(concern: Concern) -> int | None:
    """The ``first_case_id`` that ``_with_first_case_id`` read."""
    found = getattr(concern, "first_case_id", None)
    return found if isinstance(found, int) else None


def _waiting_for_triage(concern: Concern, now: datetime, people: People) -> Iterator[NoticeDue]:
    """Site admins at 24 hours left and again once overdue; coordinators once overdue.

    A threshold already passed when the concern was submitted is skipped for the site
    admins: the submission notice told them the due time a moment before.
    """
    due_at = concern.report_due_at
    assert due_at is not None
    overdue = now >= due_at
    phase, threshold = ("overdue", due_at) if overdue else ("due-soon", due_at - AHEAD)
    admins = people.site_admins(concern.school_id)
    if concern.submitted_at < threshold:
        for pk in admins:
            yield NoticeDue(
                notice_key(
                    about="concern",
                    about_id=concern.pk,
                    what=f"waiting:{phase}:{due_key(due_at)}",
                    recipient_id=pk,
                ),
                NoticeKind.CONCERN_WAITING,
                concern.pk,
                _first_case_id_of(concern),
                due_at,
                pk,
            )
    if overdue:
        for pk in people.coordinators:
            if pk in admins and concern.submitted_at < threshold:
                continue  # told already as the school's stand-in site admin
            yield NoticeDue(
                notice_key(
                    about="concern",
                    about_id=concern.pk,
                    what=f"waiting-coordinator:{due_key(due_at)}",
                    recipient_id=pk,
                ),
                NoticeKind.CONCERN_WAITING_COORDINATOR,
                concern.pk,
                _first_case_id_of(concern),
                due_at,
                pk,
            )


def _own_report_outstanding(own_report: object) -> bool:
    """The reporter phoned their report in but has not recorded the written one."""
    return (
        isinstance(own_report, dict)
        and bool(own_report.get("phoned_at"))
        and not own_report.get("written_submitted_at")
    )


def notices_due(*, now: datetime, people: People) -> list[NoticeDue]:
    """Every sweep-made notice that should exist now, whether or not it was already sent.

    Two queries, both ranges on the (status, report_due_at) index: concerns waiting for
    triage whose report is due within a day or overdue, and concerns of any status whose
    report is due within the next day (for the reporter's own written report). Each reads
    the concern's first case (for the notice's ``case``) in the same query.
    """
    found: list[NoticeDue] = []
    waiting = _with_first_case_id(
        Concern.objects.filter(status=ConcernStatus.SUBMITTED, report_due_at__lte=now + AHEAD)
        .only("id", "school_id", "submitted_at", "report_due_at")
        .order_by("report_due_at", "id")
    )
    for concern in waiting.iterator(chunk_size=500):
        found.extend(_waiting_for_triage(concern, now, people))
    # Every status named, so the database can walk the index by status and due time.
    reporters_due = _with_first_case_id(
        Concern.objects.filter(
            status__in=list(ConcernStatus.values),
            report_due_at__gt=now,
            report_due_at__lte=now + AHEAD,
        )
        .only("id", "submitted_by_id", "report_due_at", "own_report")
        .order_by("report_due_at", "id")
    )
    for concern in reporters_due.iterator(chunk_size=500):
        if concern.submitted_by_id not in people.by_id or not _own_report_outstanding(
            concern.own_report
        ):
            continue
        assert concern.report_due_at is not None
        found.append(
            NoticeDue(
                notice_key(
                    about="concern",
                    about_id=concern.pk,
                    what=f"own-report-due:{due_key(concern.report_due_at)}",
                    recipient_id=concern.submitted_by_id,
                ),
                NoticeKind.OWN_REPORT_DUE,
                concern.pk,
                _first_case_id_of(concern),
                concern.report_due_at,
                concern.submitted_by_id,
            )
        )
    return found

"""What is due, and for whom: the reading half of `safestep remind`.

The sweep reads every open case that could need a reminder in a handful of queries (the
cases with their step records, facts, check-ins and plan prefetched; every person once), then
asks the protocol engine about each case in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet

from safestep.accounts.access import DISTRICT_WIDE_ROLES
from safestep.accounts.models import Role, User
from safestep.cases.models import Case, CaseStatus, CheckIn, StepRecord
from safestep.cases.selectors import case_evaluation, case_next_check_in_due
from safestep.notify.models import ReminderKind, ReminderPreference
from safestep.protocol import StepState

AHEAD = timedelta(hours=24)  # "due soon" starts this long before a due time
ESCALATE_AFTER = timedelta(hours=24)  # the coordinator hears of steps overdue this long
CHECK_IN_TASK = "Check in with the student"


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
    """Everyone who can be reminded: active, with an e-mail address."""

    def __init__(self) -> None:
        users = (
            User.objects.filter(is_active=True)
            .exclude(email="")
            .prefetch_related("schools")
            .order_by("id")
        )
        self.by_id: dict[int, User] = {}
        self._at_school: dict[tuple[str, int], list[int]] = defaultdict(list)
        self._by_role: dict[str, list[int]] = defaultdict(list)
        for user in users:
            self.by_id[user.pk] = user
            self._by_role[user.role].append(user.pk)
            for school in user.schools.all():
                self._at_school[(user.role, school.pk)].append(user.pk)
        self.coordinators = list(self._by_role[Role.DISTRICT_COORDINATOR])

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
            if status.state != StepState.PENDING or due_at is None or now < due_at - AHEAD:
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
        check_in_due = case_next_check_in_due(case)
        plan = getattr(case, "check_in_plan", None)
        if (
            check_in_due is not None
            and plan is not None
            and now >= check_in_due - AHEAD
            and plan.assignee_id in people.by_id
        ):
            yield Due(
                case.pk,
                "",
                ReminderKind.CHECK_IN_DUE,
                check_in_due,
                plan.assignee_id,
                CHECK_IN_TASK,
            )


def digest_preferences() -> dict[int, ReminderPreference]:
    """People who chose one e-mail a day, by user id."""
    return {
        preference.user_id: preference
        for preference in ReminderPreference.objects.filter(daily_digest=True)
    }


def reminder_preference_of(user: User) -> ReminderPreference | None:
    return ReminderPreference.objects.filter(user=user).first()

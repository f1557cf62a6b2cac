"""Step states, due dates and escalation, as pure functions of a case's data.

Given a protocol, the pathway a case follows, its answered facts, its step records
and "now", ``evaluate`` says for every step whether it is done, does not apply, is in
progress, is not required, is waiting for another step or is still to do; when it is
due, whether it is overdue and whether it was resolved late; and whether the case may
be closed. Nothing is stored or remembered here: the same inputs always give the same
answer, whatever order the records come in.

Which record counts: the one recorded last (then the greatest key). A
``not_applicable`` record of a step that, in this pathway, may not be marked "does
not apply" is ignored, as if it did not exist: it is not a valid decision here (a
case escalated to a pathway that always requires the step is asked again).

State rules, in order:

1. A step with a record is ``done``, ``not_applicable`` or ``in_progress``, as
   recorded. A record always wins, even over a condition that is false on the facts:
   a resolved step never silently returns to "to do", and work that has started (the
   phone call was made) stays visible as in progress.
2. A step whose condition is false on the facts is ``not_required``.
3. A step that depends on a step not yet resolved (pending, waiting or in progress)
   is ``waiting``.
4. Otherwise it is ``pending``, including when its condition cannot be decided yet
   because a fact is unanswered: the protocol asks people to decide.

Pending, waiting and in progress keep a case open and can be overdue. A resolved step
is late when its record says it happened after its due time; that never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from safestep.protocol.conditions import evaluate_condition
from safestep.protocol.deadlines import compute_due, require_aware
from safestep.protocol.model import (
    Escalation,
    Pathway,
    Protocol,
    Step,
)

__all__ = [
    "EscalationNotAllowed",
    "EscalationPlan",
    "Evaluation",
    "RecordInput",
    "StepState",
    "StepStatus",
    "choose_records",
    "evaluate",
    "plan_escalation",
]


class StepState(StrEnum):
    PENDING = "pending"  # to do
    IN_PROGRESS = "in_progress"  # partly done (e.g. phoned in, written report to follow)
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"  # resolved with a reason
    NOT_REQUIRED = "not_required"  # its condition is false on the facts
    WAITING = "waiting"  # depends on a step that is not resolved yet


RESOLVED_STATES = frozenset({StepState.DONE, StepState.NOT_APPLICABLE})
# States that keep a case open.
UNRESOLVED_STATES = frozenset({StepState.PENDING, StepState.WAITING, StepState.IN_PROGRESS})
RECORD_RESOLUTIONS: tuple[str, ...] = ("done", "not_applicable", "in_progress")


@dataclass(frozen=True, slots=True)
class RecordInput:
    """A step's resolution (or partial progress) as stored by the application."""

    step_id: str
    resolution: Literal["done", "not_applicable", "in_progress"]
    occurred_at: datetime  # when it happened (the call, the entry, the decision)
    recorded_at: datetime  # when it was written down
    key: str  # a stable id (e.g. the database key), used only to break ties


@dataclass(frozen=True, slots=True)
class StepStatus:
    step: Step
    state: StepState
    due_at: datetime | None  # UTC; None without a deadline, anchor, or when not required
    overdue: bool  # still open (pending, waiting, in progress) and past due_at
    late: bool  # resolved, and the record says it happened after due_at
    record: RecordInput | None  # the record that counts (resolved or in progress), if any
    waiting_on: tuple[str, ...]  # unresolved steps this one waits for (when waiting)
    condition: bool | None  # the step's condition on the facts; True when it has none

    @property
    def is_resolved(self) -> bool:
        """Done or marked "does not apply"."""
        return self.state in RESOLVED_STATES

    @property
    def is_open(self) -> bool:
        """Still to be dealt with: pending, waiting or in progress (keeps a case open)."""
        return self.state in UNRESOLVED_STATES


@dataclass(frozen=True, slots=True)
class Evaluation:
    protocol: Protocol
    pathway: Pathway
    steps: tuple[StepStatus, ...]  # in protocol order
    closable: bool  # no step is pending, waiting or in progress
    unresolved: tuple[str, ...]  # ids of pending, waiting or in-progress steps, in protocol order
    overdue: tuple[str, ...]  # ids of overdue steps, in protocol order
    late: tuple[str, ...]  # ids of steps resolved after their due time, in protocol order

    def status(self, step_id: str) -> StepStatus:
        for status in self.steps:
            if status.step.id == step_id:
                return status
        raise KeyError(f"pathway {self.pathway.id!r} has no step {step_id!r}")


def _record_order(record: RecordInput) -> tuple[datetime, str]:
    return record.recorded_at, record.key


def _check_record(record: RecordInput) -> None:
    if record.resolution not in RECORD_RESOLUTIONS:
        raise ValueError(f"unknown resolution {record.resolution!r} for step {record.step_id!r}")
    require_aware(record.occurred_at, f"occurred_at of the {record.step_id!r} record")
    require_aware(record.recorded_at, f"recorded_at of the {record.step_id!r} record")


def _allowed_in(step: Step, record: RecordInput) -> bool:
    """Whether the record is a valid decision for the step as this pathway defines it."""
    return record.resolution != "not_applicable" or step.may_not_apply


def choose_records(pathway: Pathway, records: Iterable[RecordInput]) -> dict[str, RecordInput]:
    """The record that counts for each step of the pathway.

    When a step has several records, the one recorded last wins (then the greatest
    key), so the choice never depends on the order records are passed in. Records of
    steps outside the pathway are ignored, and so are ``not_applicable`` records of
    steps that this pathway says may not be marked "does not apply".
    """
    steps = {step.id: step for step in pathway.steps}
    chosen: dict[str, RecordInput] = {}
    for record in records:
        _check_record(record)
        step = steps.get(record.step_id)
        if step is None or not _allowed_in(step, record):
            continue
        current = chosen.get(record.step_id)
        if current is None or _record_order(record) > _record_order(current):
            chosen[record.step_id] = record
    return chosen


def evaluate(
    protocol: Protocol,
    pathway_id: str,
    *,
    facts: Mapping[str, bool | None],
    records: Iterable[RecordInput],
    now: datetime,
    anchors: Mapping[str, datetime],
    tz: str | None = None,
) -> Evaluation:
    """Every step's state, due date and overdue flag, and whether the case may close.

    ``anchors`` holds the case's own times (``suspicion_formed_at``,
    ``case_opened_at``); a missing anchor leaves dependent due dates unknown (None).
    ``tz`` overrides the protocol's time zone for calendar-day deadlines.
    Every datetime must be timezone-aware.
    """
    require_aware(now, "now")
    for name, moment in anchors.items():
        require_aware(moment, f"anchor {name!r}")
    pathway = protocol.pathway(pathway_id)
    zone_name = tz or protocol.time_zone
    chosen = choose_records(pathway, records)

    conditions: dict[str, bool | None] = {
        step.id: True if step.condition is None else evaluate_condition(step.condition, facts)
        for step in pathway.steps
    }
    states: dict[str, StepState] = {}

    def state_of(step: Step, visiting: frozenset[str]) -> StepState:
        if step.id in states:
            return states[step.id]
        record = chosen.get(step.id)
        if record is not None:
            state = StepState(record.resolution)
        elif conditions[step.id] is False:
            state = StepState.NOT_REQUIRED
        elif any(
            dependency not in visiting
            and state_of(pathway.step(dependency), visiting | {step.id}) in UNRESOLVED_STATES
            for dependency in step.depends_on
            if pathway.has_step(dependency)
        ):
            state = StepState.WAITING
        else:
            state = StepState.PENDING
        states[step.id] = state
        return state

    for step in pathway.steps:
        state_of(step, frozenset())

    statuses: list[StepStatus] = []
    for step in pathway.steps:
        state = states[step.id]
        due_at = None
        if step.deadline is not None and state is not StepState.NOT_REQUIRED:
            anchor_step = step.deadline.anchor_step
            if anchor_step is not None:
                # Only a resolved step has "happened"; partial progress starts no clock.
                anchor_record = chosen.get(anchor_step)
                resolved = anchor_record is not None and anchor_record.resolution != "in_progress"
                anchor = anchor_record.occurred_at if anchor_record and resolved else None
            else:
                anchor = anchors.get(step.deadline.anchor)
            if anchor is not None:
                due_at = compute_due(anchor, step.deadline.within, zone_name)
        waiting_on: tuple[str, ...] = ()
        if state is StepState.WAITING:
            waiting_on = tuple(
                dependency
                for dependency in step.depends_on
                if states.get(dependency) in UNRESOLVED_STATES
            )
        record = chosen.get(step.id)
        statuses.append(
            StepStatus(
                step=step,
                state=state,
                due_at=due_at,
                overdue=state in UNRESOLVED_STATES and due_at is not None and now > due_at,
                # From the record alone, so a step done late stays late whatever "now" is.
                late=(
                    state in RESOLVED_STATES
                    and record is not None
                    and due_at is not None
                    and record.occurred_at > due_at
                ),
                record=record,
                waiting_on=waiting_on,
                condition=conditions[step.id],
            )
        )
    unresolved = tuple(s.step.id for s in statuses if s.state in UNRESOLVED_STATES)
    return Evaluation(
        protocol=protocol,
        pathway=pathway,
        steps=tuple(statuses),
        closable=not unresolved,
        unresolved=unresolved,
        overdue=tuple(s.step.id for s in statuses if s.overdue),
        late=tuple(s.step.id for s in statuses if s.late),
    )


# Escalation ------------------------------------------------------------------------


class EscalationNotAllowed(ValueError):
    """A case cannot make this move: a pathway is unknown, or it is the same pathway."""


@dataclass(frozen=True, slots=True)
class EscalationPlan:
    # The declared escalation, or the move made up for an undeclared one (Protocol.move).
    escalation: Escalation
    # Records kept: their step is in the target pathway (done, in progress, or "does
    # not apply" where the target pathway allows that).
    carried: tuple[RecordInput, ...]
    left_behind: tuple[RecordInput, ...]  # records whose step the target pathway lacks
    new_step_ids: tuple[str, ...]  # target steps that the source pathway does not have
    # "Does not apply" records of steps that the target pathway always requires: the
    # question is asked again there (the records stay in the case's history).
    reasked: tuple[RecordInput, ...]
    # The target pathway is listed before the source: a less serious one (Protocol.is_lower).
    lowers: bool


def plan_escalation(
    protocol: Protocol,
    from_pathway: str,
    to_pathway: str,
    records: Iterable[RecordInput],
) -> EscalationPlan:
    """What moving a case from one pathway to another keeps and what it adds.

    A case may move between any two different pathways of the protocol, to a more or
    a less serious one (``lowers``); a declared escalation only gives the move its
    title. Raises :class:`EscalationNotAllowed` for an unknown pathway or the same one.

    Every record whose step exists in the target pathway is carried, so escalation
    never drops work, except a "does not apply" record of a step that the target
    pathway may not mark "does not apply": that decision does not hold there, so it is
    ``reasked`` instead. Every record given is in exactly one of ``carried``,
    ``left_behind`` and ``reasked``. Records are returned in a stable order (pathway
    order, then time recorded, then key), whatever order they came in.
    """
    known = [pathway.id for pathway in protocol.pathways]
    for pathway_id in (from_pathway, to_pathway):
        if pathway_id not in known:
            raise EscalationNotAllowed(
                f"protocol {protocol.id!r} has no pathway {pathway_id!r} "
                f"(its pathways are: {', '.join(known)})"
            )
    if from_pathway == to_pathway:
        raise EscalationNotAllowed(
            f"a case on pathway {from_pathway!r} cannot move to the same pathway"
        )
    escalation = protocol.move(from_pathway, to_pathway)
    source = protocol.pathway(from_pathway)
    target = protocol.pathway(to_pathway)
    all_records = list(records)
    for record in all_records:
        _check_record(record)

    target_order = _positions(target)
    source_order = _positions(source)
    in_target = [r for r in all_records if r.step_id in target_order]
    carried = sorted(
        (r for r in in_target if _allowed_in(target.step(r.step_id), r)),
        key=_stable_key(target_order),
    )
    reasked = sorted(
        (r for r in in_target if not _allowed_in(target.step(r.step_id), r)),
        key=_stable_key(target_order),
    )
    left_behind = sorted(
        (r for r in all_records if r.step_id not in target_order), key=_stable_key(source_order)
    )
    return EscalationPlan(
        escalation=escalation,
        carried=tuple(carried),
        left_behind=tuple(left_behind),
        new_step_ids=tuple(step_id for step_id in target.step_ids if step_id not in source_order),
        reasked=tuple(reasked),
        lowers=protocol.is_lower(from_pathway, to_pathway),
    )


def _positions(pathway: Pathway) -> dict[str, int]:
    return {step_id: index for index, step_id in enumerate(pathway.step_ids)}


def _stable_key(
    order: Mapping[str, int],
) -> Callable[[RecordInput], tuple[int, str, datetime, str]]:
    """Sort records by their step's place in a pathway (others last), then by time."""

    def key(record: RecordInput) -> tuple[int, str, datetime, str]:
        return order.get(record.step_id, len(order)), record.step_id, record.recorded_at, record.key

    return key

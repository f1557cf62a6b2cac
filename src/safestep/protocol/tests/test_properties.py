"""Property tests: random case histories against the shipped protocol.

A history is a random sequence of what people do on a case: answer a fact (yes, no,
or take the answer back), record partial progress (a report phoned in), complete a
step, mark one "does not apply", move the case to any pathway (up, down, or to the one
it is on, which is refused), let time pass. After every action the evaluation must keep
the engine's promises:

1. a case is closable exactly when no step is pending, waiting or in progress, so a
   case with work in progress is never closable;
2. a resolved step never silently returns to pending, and started work never
   silently returns to "to do";
3. escalation never drops a record whose step exists in the target pathway, except a
   "does not apply" decision the target pathway does not allow, which is asked again;
4. the evaluation does not depend on the order of the records;
5. "late" is only said of a resolved step with a due time that its record missed;
6. a move is lower exactly when the target pathway is listed before the source.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safestep.protocol import (
    EscalationNotAllowed,
    EscalationPlan,
    Evaluation,
    RecordInput,
    StepState,
    evaluate,
    plan_escalation,
)
from safestep.protocol.tests.support import T0, shipped_protocol

PROTOCOL = shipped_protocol()
FACT_IDS = [fact.id for fact in PROTOCOL.facts]
PATHWAY_IDS = [pathway.id for pathway in PROTOCOL.pathways]
OPEN_STATES = {StepState.PENDING, StepState.WAITING, StepState.IN_PROGRESS}
RESOLVED_STATES = {StepState.DONE, StepState.NOT_APPLICABLE}
STARTED_STATES = {StepState.IN_PROGRESS, *RESOLVED_STATES}
ANCHORS = {"suspicion_formed_at": T0 - timedelta(hours=3), "case_opened_at": T0}

# Actions --------------------------------------------------------------------------

answer_fact = st.tuples(
    st.just("fact"), st.sampled_from(FACT_IDS), st.sampled_from([True, False, None])
)
record_progress = st.tuples(st.just("progress"), st.integers(0, 10))
complete_step = st.tuples(st.just("complete"), st.integers(0, 10))
mark_not_applicable = st.tuples(st.just("not_applicable"), st.integers(0, 10))
escalate = st.tuples(st.just("escalate"), st.sampled_from(PATHWAY_IDS))
let_time_pass = st.tuples(st.just("wait"), st.integers(1, 48))
actions = st.lists(
    st.one_of(
        answer_fact, record_progress, complete_step, mark_not_applicable, escalate, let_time_pass
    ),
    max_size=30,
)


@dataclass
class Case:
    pathway_id: str
    now: datetime = T0
    facts: dict[str, bool | None] = field(default_factory=dict)
    records: list[RecordInput] = field(default_factory=list)
    # Steps whose "does not apply" decision the last escalation asked again.
    reasked: set[str] = field(default_factory=set)

    def evaluate(self, records: list[RecordInput] | None = None) -> Evaluation:
        return evaluate(
            PROTOCOL,
            self.pathway_id,
            facts=self.facts,
            records=self.records if records is None else records,
            now=self.now,
            anchors=ANCHORS,
        )

    def resolve(self, step_id: str, resolution: str) -> None:
        self.records.append(
            RecordInput(
                step_id=step_id,
                resolution=resolution,  # type: ignore[arg-type]
                occurred_at=self.now,
                recorded_at=self.now,
                key=f"record-{len(self.records):03d}",
            )
        )


def apply(case: Case, action: tuple[object, ...], evaluation: Evaluation) -> None:
    """Do what a person could do on the case as it stands."""
    kind = action[0]
    case.reasked = set()
    if kind == "fact":
        _, fact_id, value = action
        case.facts[str(fact_id)] = value  # type: ignore[assignment]
    elif kind == "progress":
        # A step that allows partial progress, not started yet (e.g. phoning in a report).
        candidates = [
            s.step.id
            for s in evaluation.steps
            if s.state in (StepState.PENDING, StepState.NOT_REQUIRED) and s.step.progress
        ]
        if candidates:
            case.resolve(candidates[int(action[1]) % len(candidates)], "in_progress")  # type: ignore[call-overload]
    elif kind == "complete":
        # Work still to do or started, or work done although the facts do not require it.
        candidates = [
            s.step.id
            for s in evaluation.steps
            if s.state in (StepState.PENDING, StepState.IN_PROGRESS, StepState.NOT_REQUIRED)
        ]
        if candidates:
            case.resolve(candidates[int(action[1]) % len(candidates)], "done")  # type: ignore[call-overload]
    elif kind == "not_applicable":
        candidates = [
            s.step.id
            for s in evaluation.steps
            if s.state is StepState.PENDING and s.step.may_not_apply
        ]
        if candidates:
            case.resolve(candidates[int(action[1]) % len(candidates)], "not_applicable")  # type: ignore[call-overload]
    elif kind == "escalate":
        target_id = str(action[1])
        if target_id == case.pathway_id:
            with pytest.raises(EscalationNotAllowed):
                plan_escalation(PROTOCOL, case.pathway_id, target_id, case.records)
            return
        plan = plan_escalation(PROTOCOL, case.pathway_id, target_id, case.records)
        check_plan(plan, case.pathway_id, target_id, case.records)
        case.reasked = {r.step_id for r in plan.reasked}
        reversed_plan = plan_escalation(
            PROTOCOL, case.pathway_id, target_id, list(reversed(case.records))
        )
        assert reversed_plan == plan
        # Keep only what was carried: the strictest reading of "the case moves on".
        case.pathway_id = target_id
        case.records = list(plan.carried)
    elif kind == "wait":
        case.now += timedelta(hours=int(action[1]))  # type: ignore[call-overload]


def check_plan(
    plan: EscalationPlan, from_pathway: str, to_pathway: str, records: list[RecordInput]
) -> None:
    """Property 3 and 6 for one move: nothing lost or invented, and which way it goes."""
    source = PROTOCOL.pathway(from_pathway)
    target = PROTOCOL.pathway(to_pathway)
    # Every record of a step in the target pathway is carried, except the "does not
    # apply" decisions the target does not allow, which are asked again.
    must_carry = [
        r
        for r in records
        if target.has_step(r.step_id)
        and (r.resolution != "not_applicable" or target.step(r.step_id).may_not_apply)
    ]
    assert Counter(plan.carried) == Counter(must_carry)
    # Every record lands in exactly one of the three, none is invented.
    assert Counter(plan.carried + plan.left_behind + plan.reasked) == Counter(records)
    assert all(not target.has_step(r.step_id) for r in plan.left_behind)
    assert all(target.has_step(r.step_id) for r in plan.carried + plan.reasked)
    for r in plan.reasked:
        assert r.resolution == "not_applicable"
        assert not target.step(r.step_id).may_not_apply
    # The move carries every step the two pathways share, declared or not.
    escalation = plan.escalation
    assert (escalation.from_pathway, escalation.to_pathway) == (from_pathway, to_pathway)
    assert escalation.carries == tuple(s for s in source.step_ids if target.has_step(s))
    assert escalation.declared == (PROTOCOL.escalation(from_pathway, to_pathway) is not None)
    assert plan.new_step_ids == tuple(s for s in target.step_ids if not source.has_step(s))
    # Property 6: lower exactly when the target is listed first.
    assert plan.lowers == (PATHWAY_IDS.index(to_pathway) < PATHWAY_IDS.index(from_pathway))
    assert plan.lowers == PROTOCOL.is_lower(from_pathway, to_pathway)


def check_closability(evaluation: Evaluation, now: datetime) -> None:
    open_ids = tuple(s.step.id for s in evaluation.steps if s.state in OPEN_STATES)
    assert evaluation.closable == (not open_ids)
    assert evaluation.unresolved == open_ids
    if any(s.state is StepState.IN_PROGRESS for s in evaluation.steps):
        assert not evaluation.closable
    # Overdue is only ever said of open work past its due time.
    for status in evaluation.steps:
        past_due = status.due_at is not None and now > status.due_at
        assert status.overdue == (status.state in OPEN_STATES and past_due)
        assert status.is_open == (status.state in OPEN_STATES)


def check_lateness(evaluation: Evaluation) -> None:
    # Late is said only of a resolved step with a due time that its record missed.
    for status in evaluation.steps:
        if status.late:
            assert status.state in RESOLVED_STATES
            assert status.due_at is not None and status.record is not None
            assert status.record.occurred_at > status.due_at
            assert not status.overdue
    assert evaluation.late == tuple(s.step.id for s in evaluation.steps if s.late)


@settings(max_examples=200, deadline=None)
@given(start=st.sampled_from(PATHWAY_IDS), history=actions, data=st.data())
def test_it_keeps_its_promises_over_random_case_histories(start, history, data):
    case = Case(pathway_id=start)
    evaluation = case.evaluate()
    for action in history:
        resolved_before = {s.step.id for s in evaluation.steps if s.state in RESOLVED_STATES}
        started_before = {s.step.id for s in evaluation.steps if s.state in STARTED_STATES}
        apply(case, action, evaluation)
        evaluation = case.evaluate()
        states = {s.step.id: s.state for s in evaluation.steps}

        # 1. Closable exactly when nothing is pending, waiting or in progress.
        check_closability(evaluation, case.now)
        # 5. Late only where a due time was missed.
        check_lateness(evaluation)

        # 2 and 3. What was resolved stays resolved, in this pathway or after escalation,
        # unless escalation asked again a decision the new pathway does not allow; and
        # work that was started stays started or is finished.
        for step_id in resolved_before - case.reasked:
            if step_id in states:
                assert states[step_id] in RESOLVED_STATES, (step_id, action)
        for step_id in started_before - case.reasked:
            if step_id in states:
                assert states[step_id] in STARTED_STATES, (step_id, action)

        # 4. The order of the records does not matter.
        shuffled = data.draw(st.permutations(case.records), label="shuffled records")
        assert case.evaluate(list(shuffled)) == evaluation


# Order independence on arbitrary record sets ------------------------------------------

times = st.sampled_from([T0 + timedelta(minutes=m) for m in (0, 5, 10)])
record_sets = st.lists(
    st.builds(
        RecordInput,
        step_id=st.sampled_from([*PROTOCOL.all_step_ids(), "not_a_step"]),
        resolution=st.sampled_from(["done", "not_applicable", "in_progress"]),
        occurred_at=times,
        recorded_at=times,
        key=st.sampled_from([f"k{i}" for i in range(12)]),
    ),
    max_size=14,
    # A record's key is its stable id: never shared.
    unique_by=lambda record: record.key,
)


@settings(max_examples=200, deadline=None)
@given(
    pathway_id=st.sampled_from(PATHWAY_IDS),
    facts=st.fixed_dictionaries({fact: st.sampled_from([True, False, None]) for fact in FACT_IDS}),
    records=record_sets,
    data=st.data(),
)
def test_it_gives_the_same_evaluation_whatever_the_order_of_records(
    pathway_id, facts, records, data
):
    shuffled = data.draw(st.permutations(records))
    now = T0 + timedelta(hours=40)

    def run(given_records: list[RecordInput]) -> Evaluation:
        return evaluate(
            PROTOCOL, pathway_id, facts=facts, records=given_records, now=now, anchors=ANCHORS
        )

    first, second = run(records), run(list(shuffled))
    assert first == second
    # A record the pathway allows, whichever one wins, always decides its step's state;
    # "does not apply" where the pathway forbids it counts for nothing.
    for status in first.steps:
        allowed = [
            r
            for r in records
            if r.step_id == status.step.id
            and (r.resolution != "not_applicable" or status.step.may_not_apply)
        ]
        assert (status.record is not None) == bool(allowed)
        if status.record is not None:
            assert status.record in allowed
            assert status.state == StepState(status.record.resolution)
        else:
            assert status.state not in STARTED_STATES
    check_closability(first, now)
    check_lateness(first)


# Two different pathways, in either order: every possible move of a case.
moves = st.permutations(PATHWAY_IDS).map(lambda ids: (ids[0], ids[1]))


@settings(max_examples=200, deadline=None)
@given(move=moves, records=record_sets, data=st.data())
def test_it_splits_every_record_exactly_once_when_a_case_moves(move, records, data):
    from_pathway, to_pathway = move
    plan = plan_escalation(PROTOCOL, from_pathway, to_pathway, records)
    check_plan(plan, from_pathway, to_pathway, records)
    for r in plan.carried:
        assert (
            r.resolution != "not_applicable" or PROTOCOL.step(to_pathway, r.step_id).may_not_apply
        )
    # The same plan, whatever the order the records came in.
    shuffled = data.draw(st.permutations(records))
    assert plan_escalation(PROTOCOL, from_pathway, to_pathway, shuffled) == plan


@given(a=st.sampled_from(PATHWAY_IDS), b=st.sampled_from(PATHWAY_IDS))
def test_it_orders_pathways_strictly_by_how_they_are_listed(a, b):
    # Never lower than itself; of two different pathways, exactly one way is lower.
    if a == b:
        assert not PROTOCOL.is_lower(a, b)
        with pytest.raises(EscalationNotAllowed):
            plan_escalation(PROTOCOL, a, b, [])
    else:
        assert PROTOCOL.is_lower(a, b) != PROTOCOL.is_lower(b, a)
        assert plan_escalation(PROTOCOL, a, b, []).lowers == PROTOCOL.is_lower(a, b)

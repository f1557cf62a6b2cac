"""Property tests: random case histories against the shipped protocol.

A history is a random sequence of what people do on a case: answer a fact (yes, no,
or take the answer back), complete a step, mark one "does not apply", escalate a
suspected victim's case to confirmed, let time pass. After every action the
evaluation must keep the engine's promises:

1. a case is closable exactly when no step is pending or waiting;
2. a resolved step never silently returns to pending;
3. escalation never drops a record whose step exists in the target pathway;
4. the evaluation does not depend on the order of the records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from safestep.protocol import (
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
OPEN_STATES = {StepState.PENDING, StepState.WAITING}
RESOLVED_STATES = {StepState.DONE, StepState.NOT_APPLICABLE}
ANCHORS = {"suspicion_formed_at": T0 - timedelta(hours=3), "case_opened_at": T0}

# Actions --------------------------------------------------------------------------

answer_fact = st.tuples(
    st.just("fact"), st.sampled_from(FACT_IDS), st.sampled_from([True, False, None])
)
complete_step = st.tuples(st.just("complete"), st.integers(0, 10))
mark_not_applicable = st.tuples(st.just("not_applicable"), st.integers(0, 10))
escalate = st.tuples(st.just("escalate"))
let_time_pass = st.tuples(st.just("wait"), st.integers(1, 48))
actions = st.lists(
    st.one_of(answer_fact, complete_step, mark_not_applicable, escalate, let_time_pass),
    max_size=30,
)


@dataclass
class Case:
    pathway_id: str
    now: datetime = T0
    facts: dict[str, bool | None] = field(default_factory=dict)
    records: list[RecordInput] = field(default_factory=list)

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
    if kind == "fact":
        _, fact_id, value = action
        case.facts[str(fact_id)] = value  # type: ignore[assignment]
    elif kind == "complete":
        # Work still to do, or work done although the facts do not require it.
        candidates = [
            s.step.id
            for s in evaluation.steps
            if s.state in (StepState.PENDING, StepState.NOT_REQUIRED)
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
        if PROTOCOL.escalation(case.pathway_id, "confirmed_victim") is None:
            return
        plan = plan_escalation(PROTOCOL, case.pathway_id, "confirmed_victim", case.records)
        target = PROTOCOL.pathway("confirmed_victim")
        # Property 3: every record of a step in the target pathway is carried,
        # nothing is lost or invented, and the plan is the same in any order.
        must_carry = [r for r in case.records if target.has_step(r.step_id)]
        assert Counter(plan.carried) == Counter(must_carry)
        assert Counter(plan.carried + plan.left_behind) == Counter(case.records)
        reversed_plan = plan_escalation(
            PROTOCOL, case.pathway_id, "confirmed_victim", list(reversed(case.records))
        )
        assert reversed_plan == plan
        # Keep only what was carried: the strictest reading of "the case moves on".
        case.pathway_id = "confirmed_victim"
        case.records = list(plan.carried)
    elif kind == "wait":
        case.now += timedelta(hours=int(action[1]))  # type: ignore[call-overload]


def check_closability(evaluation: Evaluation, now: datetime) -> None:
    open_ids = tuple(s.step.id for s in evaluation.steps if s.state in OPEN_STATES)
    assert evaluation.closable == (not open_ids)
    assert evaluation.unresolved == open_ids
    # Overdue is only ever said of open work past its due time.
    for status in evaluation.steps:
        past_due = status.due_at is not None and now > status.due_at
        assert status.overdue == (status.state in OPEN_STATES and past_due)


@settings(max_examples=200, deadline=None)
@given(start=st.sampled_from(PATHWAY_IDS), history=actions, data=st.data())
def test_it_keeps_its_promises_over_random_case_histories(start, history, data):
    case = Case(pathway_id=start)
    evaluation = case.evaluate()
    for action in history:
        resolved_before = {s.step.id for s in evaluation.steps if s.state in RESOLVED_STATES}
        apply(case, action, evaluation)
        evaluation = case.evaluate()
        states = {s.step.id: s.state for s in evaluation.steps}

        # 1. Closable exactly when nothing is pending or waiting.
        check_closability(evaluation, case.now)

        # 2 and 3. What was resolved stays resolved, in this pathway or after escalation.
        for step_id in resolved_before:
            if step_id in states:
                assert states[step_id] in RESOLVED_STATES, (step_id, action)

        # 4. The order of the records does not matter.
        shuffled = data.draw(st.permutations(case.records), label="shuffled records")
        assert case.evaluate(list(shuffled)) == evaluation


# Order independence on arbitrary record sets ------------------------------------------

times = st.sampled_from([T0 + timedelta(minutes=m) for m in (0, 5, 10)])
record_sets = st.lists(
    st.builds(
        RecordInput,
        step_id=st.sampled_from([*PROTOCOL.all_step_ids(), "not_a_step"]),
        resolution=st.sampled_from(["done", "not_applicable"]),
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
    # And a record, whichever one wins, always resolves its step.
    for status in first.steps:
        has_record = any(r.step_id == status.step.id for r in records)
        assert (status.state in RESOLVED_STATES) == has_record

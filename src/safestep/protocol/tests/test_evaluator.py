"""Step states, due dates, closability and escalation on every shipped pathway."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from safestep.protocol import (
    EscalationNotAllowed,
    Evaluation,
    Protocol,
    RecordInput,
    StepState,
    evaluate,
    load_protocol_text,
    plan_escalation,
)
from safestep.protocol.tests.support import MINI, T0

SUSPICION = T0 - timedelta(hours=2)
ANCHORS = {"suspicion_formed_at": SUSPICION, "case_opened_at": T0}

PENDING = StepState.PENDING
DONE = StepState.DONE
NOT_APPLICABLE = StepState.NOT_APPLICABLE
NOT_REQUIRED = StepState.NOT_REQUIRED
WAITING = StepState.WAITING


def record(
    step_id: str,
    resolution: str = "done",
    *,
    at: datetime = T0,
    recorded_at: datetime | None = None,
    key: str | None = None,
) -> RecordInput:
    return RecordInput(
        step_id=step_id,
        resolution=resolution,  # type: ignore[arg-type]
        occurred_at=at,
        recorded_at=recorded_at or at,
        key=key or f"{step_id}-{resolution}",
    )


def run(
    protocol: Protocol,
    pathway_id: str,
    *,
    facts: Mapping[str, bool | None] | None = None,
    records: list[RecordInput] | None = None,
    now: datetime = T0 + timedelta(hours=1),
) -> Evaluation:
    return evaluate(
        protocol, pathway_id, facts=facts or {}, records=records or [], now=now, anchors=ANCHORS
    )


def states(evaluation: Evaluation) -> dict[str, StepState]:
    return {status.step.id: status.state for status in evaluation.steps}


# Pathway A -------------------------------------------------------------------------


def test_it_starts_a_recruitment_case_with_every_step_to_do(shipped: Protocol):
    evaluation = run(shipped, "recruitment_by_student")
    assert states(evaluation) == {
        "police_involved": PENDING,
        "campus_impact": PENDING,
        "school_consequences": PENDING,
    }
    assert not evaluation.closable
    assert evaluation.unresolved == ("police_involved", "campus_impact", "school_consequences")
    # police_involved is due one day after the case was opened, same local clock time.
    assert evaluation.status("police_involved").due_at == T0 + timedelta(days=1)
    assert evaluation.status("campus_impact").due_at is None


def test_it_closes_a_recruitment_case_once_every_step_is_resolved(shipped: Protocol):
    records = [record("police_involved"), record("campus_impact"), record("school_consequences")]
    evaluation = run(shipped, "recruitment_by_student", records=records)
    assert set(states(evaluation).values()) == {DONE}
    assert evaluation.closable
    assert evaluation.unresolved == ()
    assert evaluation.status("campus_impact").record == records[1]


def test_it_marks_police_involvement_overdue_after_a_day(shipped: Protocol):
    evaluation = run(shipped, "recruitment_by_student", now=T0 + timedelta(days=1, seconds=1))
    assert evaluation.overdue == ("police_involved",)
    assert evaluation.status("police_involved").overdue


# Pathway B -------------------------------------------------------------------------


def test_it_keeps_conditional_steps_pending_while_facts_are_unanswered(shipped: Protocol):
    evaluation = run(shipped, "suspected_victim")
    assert states(evaluation) == {
        "police_involved": PENDING,
        "cws_report": PENDING,
        "campus_impact": PENDING,
        "le_trafficking_entry": WAITING,
        "parent_contact": PENDING,
        "service_referral": PENDING,
        "regular_contact": PENDING,
    }
    assert evaluation.status("cws_report").condition is None
    assert evaluation.status("police_involved").condition is True  # unconditional


def test_it_makes_the_police_entry_wait_for_police_involvement(shipped: Protocol):
    facts = {"reliable_evidence": True}
    waiting = run(shipped, "suspected_victim", facts=facts).status("le_trafficking_entry")
    assert (waiting.state, waiting.waiting_on) == (WAITING, ("police_involved",))
    after = run(shipped, "suspected_victim", facts=facts, records=[record("police_involved")])
    entry = after.status("le_trafficking_entry")
    assert (entry.state, entry.waiting_on) == (PENDING, ())


def test_it_does_not_require_a_step_whose_condition_is_false(shipped: Protocol):
    facts = {"abuse_or_neglect_suspected": False, "reliable_evidence": False}
    evaluation = run(shipped, "suspected_victim", facts=facts)
    assert evaluation.status("cws_report").state == NOT_REQUIRED
    # A false condition wins over waiting: nothing to wait for.
    assert evaluation.status("le_trafficking_entry").state == NOT_REQUIRED
    assert evaluation.status("cws_report").due_at is None
    assert "cws_report" not in evaluation.unresolved


def test_it_marks_the_cws_report_overdue_36_hours_after_the_suspicion(shipped: Protocol):
    facts = {"abuse_or_neglect_suspected": True}
    due = SUSPICION + timedelta(hours=36)
    at_deadline = run(shipped, "suspected_victim", facts=facts, now=due)
    assert at_deadline.status("cws_report").due_at == due
    assert not at_deadline.status("cws_report").overdue
    late = run(shipped, "suspected_victim", facts=facts, now=due + timedelta(seconds=1))
    assert late.status("cws_report").overdue
    assert "cws_report" in late.overdue
    # Done late is done: overdue only flags work still open.
    done_late = run(
        shipped,
        "suspected_victim",
        facts=facts,
        records=[record("cws_report", at=due + timedelta(hours=1))],
        now=due + timedelta(hours=2),
    )
    assert not done_late.status("cws_report").overdue


def test_it_keeps_a_resolved_step_resolved_when_facts_change(shipped: Protocol):
    records = [record("cws_report", "not_applicable"), record("le_trafficking_entry")]
    for answer in (True, False, None):
        evaluation = run(
            shipped,
            "suspected_victim",
            facts={"abuse_or_neglect_suspected": answer, "reliable_evidence": answer},
            records=records,
        )
        assert evaluation.status("cws_report").state == NOT_APPLICABLE
        assert evaluation.status("le_trafficking_entry").state == DONE


def test_it_closes_a_suspected_victim_case_when_nothing_is_pending_or_waiting(shipped: Protocol):
    facts = {"abuse_or_neglect_suspected": False, "reliable_evidence": False}
    resolved = ["police_involved", "campus_impact", "service_referral", "regular_contact"]
    records = [record(step_id) for step_id in resolved]
    evaluation = run(shipped, "suspected_victim", facts=facts, records=records)
    assert evaluation.unresolved == ("parent_contact",)
    assert not evaluation.closable
    records.append(record("parent_contact", "not_applicable"))
    evaluation = run(shipped, "suspected_victim", facts=facts, records=records)
    assert evaluation.closable
    assert states(evaluation)["parent_contact"] == NOT_APPLICABLE


# Pathway C -------------------------------------------------------------------------


def test_it_requires_the_cws_report_and_police_entry_always_for_a_confirmed_victim(
    shipped: Protocol,
):
    facts = {"abuse_or_neglect_suspected": False, "reliable_evidence": False}
    evaluation = run(shipped, "confirmed_victim", facts=facts)
    assert states(evaluation) == {
        "police_involved": PENDING,
        "cws_report": PENDING,
        "campus_impact": PENDING,
        "police_investigation": WAITING,
        "le_trafficking_entry": WAITING,
        "parent_contact": PENDING,
        "placement_review": PENDING,
        "service_referral": PENDING,
    }
    assert evaluation.status("police_investigation").waiting_on == ("police_involved",)


def test_it_closes_a_confirmed_victim_case_when_every_step_is_resolved(shipped: Protocol):
    pathway = shipped.pathway("confirmed_victim")
    records = [record(step_id) for step_id in pathway.step_ids if step_id != "placement_review"]
    evaluation = run(shipped, "confirmed_victim", records=records)
    assert evaluation.unresolved == ("placement_review",)
    evaluation = run(shipped, "confirmed_victim", records=[*records, record("placement_review")])
    assert evaluation.closable
    assert evaluation.overdue == ()


def test_it_ignores_records_of_steps_outside_the_pathway(shipped: Protocol):
    evaluation = run(shipped, "confirmed_victim", records=[record("regular_contact")])
    assert "regular_contact" not in states(evaluation)
    assert all(status.record is None for status in evaluation.steps)


# Records, anchors, time ------------------------------------------------------------


def test_it_picks_the_latest_recorded_then_the_greatest_key(shipped: Protocol):
    older = record("parent_contact", "not_applicable", recorded_at=T0, key="b")
    newer = record("parent_contact", "done", recorded_at=T0 + timedelta(minutes=5), key="a")
    tie = record("parent_contact", "not_applicable", recorded_at=T0 + timedelta(minutes=5), key="c")
    for records in ([older, newer], [newer, older]):
        status = run(shipped, "suspected_victim", records=records).status("parent_contact")
        assert status.record == newer
    for records in ([older, newer, tie], [tie, newer, older]):
        status = run(shipped, "suspected_victim", records=records).status("parent_contact")
        assert status.record == tie
        assert status.state == NOT_APPLICABLE


def test_it_counts_a_deadline_from_another_steps_record():
    text = MINI.replace(
        "    depends_on: [first]\n",
        "    depends_on: [first]\n    deadline: {from: 'step:first', within: PT4H}\n",
    )
    protocol = load_protocol_text(text, "t.yaml")
    before = run(protocol, "two")
    assert before.status("second").due_at is None  # the anchor step has not happened
    happened = T0 + timedelta(minutes=30)
    after = run(protocol, "two", records=[record("first", at=happened)])
    assert after.status("second").due_at == happened + timedelta(hours=4)


def test_it_leaves_the_due_date_unknown_without_its_anchor(shipped: Protocol):
    evaluation = evaluate(
        shipped,
        "suspected_victim",
        facts={"abuse_or_neglect_suspected": True},
        records=[],
        now=T0,
        anchors={"case_opened_at": T0},
    )
    assert evaluation.status("cws_report").due_at is None
    assert not evaluation.status("cws_report").overdue


def test_it_uses_the_given_time_zone_for_calendar_days(shipped: Protocol):
    # On the spring-forward weekend a day is 23 hours long in Los Angeles, while
    # Tokyo (no daylight saving) keeps 24: the zone decides what "one day" means.
    dst_eve = datetime(2026, 3, 7, 18, 0, tzinfo=UTC)  # 10:00 PST on Saturday
    anchors = {"case_opened_at": dst_eve}
    here = evaluate(
        shipped, "recruitment_by_student", facts={}, records=[], now=dst_eve, anchors=anchors
    )
    tokyo = evaluate(
        shipped,
        "recruitment_by_student",
        facts={},
        records=[],
        now=dst_eve,
        anchors=anchors,
        tz="Asia/Tokyo",
    )
    assert here.status("police_involved").due_at == dst_eve + timedelta(hours=23)
    assert tokyo.status("police_involved").due_at == dst_eve + timedelta(hours=24)


def test_it_refuses_naive_datetimes(shipped: Protocol):
    naive = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(ValueError, match="now"):
        evaluate(shipped, "suspected_victim", facts={}, records=[], now=naive, anchors={})
    with pytest.raises(ValueError, match="anchor"):
        evaluate(
            shipped,
            "suspected_victim",
            facts={},
            records=[],
            now=T0,
            anchors={"case_opened_at": naive},
        )
    with pytest.raises(ValueError, match="occurred_at"):
        evaluate(
            shipped,
            "suspected_victim",
            facts={},
            now=T0,
            anchors={},
            records=[RecordInput("cws_report", "done", naive, T0, "k")],
        )


def test_it_raises_for_an_unknown_step_or_pathway(shipped: Protocol):
    with pytest.raises(KeyError):
        run(shipped, "suspected_victim").status("placement_review")
    with pytest.raises(KeyError):
        run(shipped, "victim")


# Escalation ------------------------------------------------------------------------


def test_it_plans_an_escalation_that_keeps_all_shared_work(shipped: Protocol):
    records = [
        record("regular_contact"),
        record("service_referral"),
        record("cws_report"),
        record("parent_contact", "not_applicable"),
        record("police_involved"),
        record("le_trafficking_entry"),
        record("campus_impact"),
    ]
    plan = plan_escalation(shipped, "suspected_victim", "confirmed_victim", records)
    assert [r.step_id for r in plan.carried] == [
        "police_involved",
        "cws_report",
        "campus_impact",
        "le_trafficking_entry",
        "parent_contact",
        "service_referral",
    ]
    assert [r.step_id for r in plan.left_behind] == ["regular_contact"]
    assert plan.new_step_ids == ("police_investigation", "placement_review")
    assert plan.escalation.carries == (
        "police_involved",
        "cws_report",
        "campus_impact",
        "le_trafficking_entry",
        "parent_contact",
        "service_referral",
    )
    after = run(shipped, "confirmed_victim", records=list(plan.carried))
    assert after.unresolved == ("police_investigation", "placement_review")


def test_it_moves_a_case_down_to_a_pathway_no_escalation_declares(shipped: Protocol):
    records = [
        record("police_involved"),
        record("cws_report"),
        record("police_investigation"),
        record("placement_review"),
        record("parent_contact", "not_applicable"),
    ]
    plan = plan_escalation(shipped, "confirmed_victim", "suspected_victim", records)
    assert plan.escalation.title == "Moved to Suspected victim of CSEC"
    assert not plan.escalation.declared
    # The same carry rules as any escalation: every shared step's work goes along.
    assert plan.escalation.carries == (
        "police_involved",
        "cws_report",
        "campus_impact",
        "le_trafficking_entry",
        "parent_contact",
        "service_referral",
    )
    assert [r.step_id for r in plan.carried] == ["police_involved", "cws_report", "parent_contact"]
    assert [r.step_id for r in plan.left_behind] == ["police_investigation", "placement_review"]
    assert plan.reasked == ()
    assert plan.new_step_ids == ("regular_contact",)
    assert plan.lowers


def test_it_moves_a_case_between_pathways_that_share_only_some_steps(shipped: Protocol):
    records = [record("campus_impact"), record("cws_report"), record("school_consequences")]
    up = plan_escalation(shipped, "recruitment_by_student", "confirmed_victim", records)
    assert (up.escalation.title, up.lowers) == ("Moved to Confirmed victim of CSEC", False)
    assert [r.step_id for r in up.carried] == ["cws_report", "campus_impact"]
    assert [r.step_id for r in up.left_behind] == ["school_consequences"]
    assert up.new_step_ids == (
        "cws_report",
        "police_investigation",
        "le_trafficking_entry",
        "parent_contact",
        "placement_review",
        "service_referral",
    )
    down = plan_escalation(shipped, "suspected_victim", "recruitment_by_student", records)
    assert (down.escalation.title, down.lowers) == (
        "Moved to Suspected recruitment or actual exploitation by a student",
        True,
    )
    assert [r.step_id for r in down.carried] == ["campus_impact", "school_consequences"]
    assert down.new_step_ids == ("school_consequences",)


def test_it_keeps_the_declared_title_of_a_declared_escalation(shipped: Protocol):
    plan = plan_escalation(shipped, "suspected_victim", "confirmed_victim", [])
    assert plan.escalation == shipped.escalations[0]
    assert plan.escalation.declared
    assert plan.escalation.title == "The student is confirmed as a victim"
    assert not plan.lowers


@pytest.mark.parametrize(
    ("from_pathway", "to_pathway", "message"),
    [
        (
            "suspected_victim",
            "suspected_victim",
            "a case on pathway 'suspected_victim' cannot move to the same pathway",
        ),
        (
            "suspected_victim",
            "victim",
            "protocol 'sdusd-csec' has no pathway 'victim' (its pathways are: "
            "recruitment_by_student, suspected_victim, confirmed_victim)",
        ),
        (
            "nowhere",
            "confirmed_victim",
            "protocol 'sdusd-csec' has no pathway 'nowhere' (its pathways are: "
            "recruitment_by_student, suspected_victim, confirmed_victim)",
        ),
    ],
)
def test_it_refuses_a_move_to_the_same_or_an_unknown_pathway(
    shipped: Protocol, from_pathway, to_pathway, message
):
    with pytest.raises(EscalationNotAllowed) as caught:
        plan_escalation(shipped, from_pathway, to_pathway, [])
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


# In progress -------------------------------------------------------------------------

IN_PROGRESS = StepState.IN_PROGRESS
CWS_DUE = SUSPICION + timedelta(hours=36)
ABUSE = {"abuse_or_neglect_suspected": True}


def test_it_keeps_a_phoned_in_report_open_until_the_written_report_is_sent(shipped: Protocol):
    others = [
        record(step_id)
        for step_id in shipped.pathway("suspected_victim").step_ids
        if step_id not in ("cws_report", "le_trafficking_entry")
    ]
    phoned = record("cws_report", "in_progress", at=T0)
    evaluation = run(
        shipped,
        "suspected_victim",
        facts={**ABUSE, "reliable_evidence": False},
        records=[*others, phoned],
    )
    status = evaluation.status("cws_report")
    assert (status.state, status.record, status.is_open) == (IN_PROGRESS, phoned, True)
    assert not status.is_resolved
    assert evaluation.unresolved == ("cws_report",)
    assert not evaluation.closable
    written = record("cws_report", at=T0 + timedelta(hours=2))
    evaluation = run(
        shipped,
        "suspected_victim",
        facts={**ABUSE, "reliable_evidence": False},
        records=[*others, phoned, written],
    )
    assert evaluation.status("cws_report").state == DONE
    assert evaluation.closable


def test_it_marks_a_report_only_phoned_in_overdue_after_36_hours(shipped: Protocol):
    phoned = [record("cws_report", "in_progress")]
    at_deadline = run(shipped, "suspected_victim", facts=ABUSE, records=phoned, now=CWS_DUE)
    assert not at_deadline.status("cws_report").overdue
    past = run(
        shipped,
        "suspected_victim",
        facts=ABUSE,
        records=phoned,
        now=CWS_DUE + timedelta(seconds=1),
    )
    assert past.status("cws_report").overdue
    assert past.overdue == ("police_involved", "cws_report")
    assert not past.status("cws_report").late  # late is said of resolved steps only


def test_it_shows_work_in_progress_even_when_the_facts_no_longer_require_it(shipped: Protocol):
    evaluation = run(
        shipped,
        "suspected_victim",
        facts={"abuse_or_neglect_suspected": False},
        records=[record("cws_report", "in_progress")],
    )
    assert evaluation.status("cws_report").state == IN_PROGRESS
    assert "cws_report" in evaluation.unresolved


MINI_WITH_PROGRESS = MINI.replace(
    "    deadline: {from: case_opened_at, within: P1D}\n",
    "    deadline: {from: case_opened_at, within: P1D}\n"
    "    progress: {title: Started, fields: [agency]}\n",
).replace(
    "    depends_on: [first]\n",
    "    depends_on: [first]\n    deadline: {from: 'step:first', within: PT4H}\n",
)


def test_it_keeps_a_step_waiting_while_its_dependency_is_in_progress():
    protocol = load_protocol_text(MINI_WITH_PROGRESS, "t.yaml")
    started = record("first", "in_progress", at=T0 + timedelta(minutes=10))
    evaluation = run(protocol, "two", records=[started])
    second = evaluation.status("second")
    assert (second.state, second.waiting_on) == (WAITING, ("first",))
    # Partial progress is not "the step happened": no clock starts from it.
    assert second.due_at is None
    finished = record("first", at=T0 + timedelta(minutes=30), key="first-finished")
    evaluation = run(protocol, "two", records=[started, finished])
    assert evaluation.status("second").state == PENDING
    assert evaluation.status("second").due_at == T0 + timedelta(minutes=30, hours=4)


# Late ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done_at", "late"),
    [
        pytest.param(CWS_DUE - timedelta(hours=1), False, id="early"),
        pytest.param(CWS_DUE, False, id="exactly-on-time"),
        pytest.param(CWS_DUE + timedelta(seconds=1), True, id="a-second-late"),
    ],
)
def test_it_says_a_step_was_resolved_late_when_its_record_is_after_the_due_time(
    shipped: Protocol, done_at: datetime, late: bool
):
    for resolution in ("done", "not_applicable"):
        records = [record("cws_report", resolution, at=done_at)]
        # Whenever the case is looked at, the answer is the same: it comes from the record.
        for now in (done_at, done_at + timedelta(days=30)):
            evaluation = run(shipped, "suspected_victim", facts=ABUSE, records=records, now=now)
            status = evaluation.status("cws_report")
            assert status.late is late, (resolution, now)
            assert not status.overdue
            assert evaluation.late == (("cws_report",) if late else ())


def test_it_never_calls_a_step_without_a_due_time_late(shipped: Protocol):
    evaluation = run(
        shipped,
        "suspected_victim",
        facts=ABUSE,
        records=[record("campus_impact", at=T0 + timedelta(days=90))],
        now=T0 + timedelta(days=91),
    )
    assert not evaluation.status("campus_impact").late
    assert evaluation.late == ()


# "Does not apply" where a pathway always requires the step -----------------------------


def test_it_ignores_does_not_apply_on_a_step_the_pathway_always_requires(shipped: Protocol):
    decided = record("cws_report", "not_applicable")
    in_b = run(shipped, "suspected_victim", facts=ABUSE, records=[decided])
    assert in_b.status("cws_report").state == NOT_APPLICABLE
    in_c = run(shipped, "confirmed_victim", records=[decided], now=CWS_DUE + timedelta(hours=1))
    status = in_c.status("cws_report")
    assert (status.state, status.record, status.overdue) == (PENDING, None, True)
    # An earlier record still counts: the step reads as if the decision did not exist.
    phoned = record("cws_report", "in_progress", at=T0 - timedelta(hours=1))
    in_c = run(shipped, "confirmed_victim", records=[phoned, decided])
    assert (in_c.status("cws_report").state, in_c.status("cws_report").record) == (
        IN_PROGRESS,
        phoned,
    )


def test_it_asks_again_on_escalation_what_the_target_pathway_always_requires(
    shipped: Protocol,
):
    records = [
        record("parent_contact", "not_applicable"),
        record("cws_report", "not_applicable"),
        record("police_involved"),
        record("campus_impact"),
        record("regular_contact"),
    ]
    plan = plan_escalation(shipped, "suspected_victim", "confirmed_victim", records)
    assert [(r.step_id, r.resolution) for r in plan.carried] == [
        ("police_involved", "done"),
        ("campus_impact", "done"),
        ("parent_contact", "not_applicable"),  # C6 may still be marked "does not apply"
    ]
    assert [r.step_id for r in plan.reasked] == ["cws_report"]
    assert [r.step_id for r in plan.left_behind] == ["regular_contact"]
    after = run(shipped, "confirmed_victim", records=[*plan.carried, *plan.reasked])
    assert after.status("cws_report").state == PENDING
    # A report phoned in but not yet written up goes along as work in progress.
    phoned = record("cws_report", "in_progress")
    plan = plan_escalation(shipped, "suspected_victim", "confirmed_victim", [phoned])
    assert (plan.carried, plan.reasked, plan.left_behind) == ((phoned,), (), ())

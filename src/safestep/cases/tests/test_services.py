"""The rules every write obeys, enforced in the services whatever the front end."""

from __future__ import annotations

import pytest
from django.utils import timezone

from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Case, CaseStatus, Concern, Review, StepRecord
from safestep.cases.selectors import case_evaluation
from safestep.core.errors import Conflict, PermissionDenied, StaleVersion, ValidationFailed
from safestep.testing import ago, complete


def test_it_writes_one_event_per_service_call_in_the_same_transaction(district, open_case):
    case = open_case()
    before = Event.objects.count()
    # School Police are the district's own: no disclosure outside the school, one event.
    complete(district, case, "police_involved", {"agency": "school_police"})
    assert Event.objects.count() == before + 1
    event = Event.objects.order_by("-seq")[0]
    assert (event.action, event.case_id, event.step_id) == (
        "step.complete",
        case.pk,
        "police_involved",
    )


def test_it_refuses_a_report_to_school_police_citing_the_law(district, open_case):
    case = open_case("confirmed_victim")
    with pytest.raises(ValidationFailed) as refused:
        complete(
            district,
            case,
            "cws_report",
            {
                "agency": "school_police",
                "phoned_at": ago(hours=1).isoformat(),
                "written_submitted_at": ago(minutes=40).isoformat(),
            },
        )
    assert "PC 11165.9" in refused.value.errors["details.agency"][0]
    assert not StepRecord.objects.exists()


def test_it_refuses_an_occurrence_in_the_future(district, open_case):
    case = open_case()
    with pytest.raises(ValidationFailed) as refused:
        complete(
            district,
            case,
            "police_involved",
            {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
            hours_ago=-1,
        )
    assert list(refused.value.errors) == ["occurred_at"]


def test_it_refuses_a_stale_version(district, open_case):
    case = open_case()
    with pytest.raises(StaleVersion):
        services.step_complete(
            acting_user=district["site_admin"],
            case_id=case.pk,
            step_id="police_involved",
            occurred_at=ago(minutes=5),
            details={
                "agency": "sdpd",
                "threat": "An adult outside school is exploiting the student.",
            },
            expected_version=case.version + 1,
        )


def test_it_lets_only_the_steps_actors_resolve_it(district, open_case):
    case = open_case("confirmed_victim")
    complete(district, case, "police_involved", {"agency": "school_police"}, by="school_police")
    with pytest.raises(PermissionDenied):
        complete(district, case, "le_trafficking_entry", {}, by="site_admin")
    complete(district, case, "le_trafficking_entry", {"le_reference": "HT-1"}, by="school_police")


def test_it_keeps_police_steps_waiting_until_police_are_involved(district, open_case):
    case = open_case("confirmed_victim")
    with pytest.raises(Conflict, match="waits on: police_involved"):
        complete(district, case, "police_investigation", {"agency": "sdpd"}, by="school_police")


def test_it_refuses_a_second_resolution_of_the_same_step(district, open_case):
    case = open_case()
    complete(
        district,
        case,
        "police_involved",
        {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
    )
    with pytest.raises(Conflict, match="already resolved"):
        complete(
            district,
            case,
            "police_involved",
            {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
        )


def test_it_needs_a_reason_to_mark_a_step_not_applicable(district, open_case):
    case = open_case()
    with pytest.raises(ValidationFailed) as refused:
        services.step_mark_not_applicable(
            acting_user=district["counselor"],
            case_id=case.pk,
            step_id="parent_contact",
            reason="   ",
            details={"victim_consulted": True},
            expected_version=case.version,
        )
    assert "reason" in refused.value.errors


def test_it_refuses_not_applicable_on_a_step_that_must_be_done(district, open_case):
    case = open_case()
    with pytest.raises(Conflict, match="must be done"):
        services.step_mark_not_applicable(
            acting_user=district["site_admin"],
            case_id=case.pk,
            step_id="campus_impact",
            reason="Nothing to investigate",
            expected_version=case.version,
        )


def test_it_opens_a_review_when_a_cws_report_is_marked_not_applicable(district, open_case):
    case = open_case()
    services.step_mark_not_applicable(
        acting_user=district["counselor"],
        case_id=case.pk,
        step_id="cws_report",
        reason="CWS already has an open referral.",
        expected_version=case.version,
    )
    case.refresh_from_db()
    assert case.needs_review
    review = Review.objects.get(case=case)
    assert (review.kind, review.status, review.reason) == (
        "report_waived",
        "open",
        "CWS already has an open referral.",
    )


def test_it_needs_a_reason_and_opens_a_review_when_abuse_is_not_suspected(district, open_case):
    case = open_case()
    with pytest.raises(ValidationFailed) as refused:
        services.case_facts_set(
            acting_user=district["site_admin"],
            case_id=case.pk,
            facts={"abuse_or_neglect_suspected": False},
            expected_version=case.version,
        )
    assert "reason" in refused.value.errors
    services.case_facts_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        facts={"abuse_or_neglect_suspected": False},
        reason="Student is 19; adult services referral made.",
        expected_version=case.version,
    )
    case.refresh_from_db()
    assert case.needs_review
    assert Review.objects.get(case=case).kind == "abuse_not_suspected"
    assert case_evaluation(case).status("cws_report").state == "not_required"


def test_it_keeps_a_done_step_done_when_a_fact_changes(district, open_case):
    case = open_case()
    services.case_facts_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        facts={"abuse_or_neglect_suspected": True},
        expected_version=case.version,
    )
    complete(
        district,
        case,
        "cws_report",
        {
            "agency": "cws",
            "phoned_at": ago(hours=1).isoformat(),
            "written_submitted_at": ago(minutes=50).isoformat(),
        },
        by="counselor",
    )
    case.refresh_from_db()
    services.case_facts_set(
        acting_user=district["site_admin"],
        case_id=case.pk,
        facts={"abuse_or_neglect_suspected": False},
        reason="Re-assessed.",
        expected_version=case.version,
    )
    case.refresh_from_db()
    assert case_evaluation(case).status("cws_report").state == "done"


def test_it_reopens_a_step_keeping_the_old_record(district, open_case):
    case = open_case()
    complete(
        district,
        case,
        "police_involved",
        {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
    )
    case.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.step_reopen(
            acting_user=district["counselor"],
            case_id=case.pk,
            step_id="police_involved",
            reason="typo",
            expected_version=case.version,
        )
    services.step_reopen(
        acting_user=district["site_admin"],
        case_id=case.pk,
        step_id="police_involved",
        reason="Wrong agency recorded.",
        expected_version=case.version,
    )
    case.refresh_from_db()
    assert case_evaluation(case).status("police_involved").state == "pending"
    old = StepRecord.objects.get(case=case, step_id="police_involved")
    assert old.reopened_at is not None and old.reopen_reason == "Wrong agency recorded."
    complete(district, case, "police_involved", {"agency": "school_police"})
    assert StepRecord.objects.filter(case=case, step_id="police_involved").count() == 2


def test_it_refuses_to_close_with_unresolved_steps_and_lists_them(district, open_case):
    case = open_case("recruitment_by_student")
    with pytest.raises(Conflict) as refused:
        services.case_close(
            acting_user=district["site_admin"],
            case_id=case.pk,
            outcome="x",
            expected_version=case.version,
        )
    assert refused.value.extra["unresolved"] == [
        "police_involved",
        "campus_impact",
        "school_consequences",
    ]
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_it_refuses_writes_to_a_closed_case_until_reopened(district, open_case):
    case = open_case("recruitment_by_student")
    complete(
        district,
        case,
        "police_involved",
        {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
    )
    complete(
        district, case, "campus_impact", {"findings": "none", "other_students_involved": False}
    )
    complete(
        district,
        case,
        "school_consequences",
        {
            "consequence": "none: first offence",
            "expulsion_recommended": False,
            "referred_for_criminal_investigation": True,
        },
    )
    case.refresh_from_db()
    services.case_close(
        acting_user=district["site_admin"],
        case_id=case.pk,
        outcome="Done.",
        expected_version=case.version,
    )
    with pytest.raises(Conflict, match="closed"):
        services.note_add(acting_user=district["site_admin"], case_id=case.pk, text="x")
    case.refresh_from_db()
    services.case_reopen(
        acting_user=district["site_admin"],
        case_id=case.pk,
        reason="New disclosure.",
        expected_version=case.version,
    )
    services.note_add(acting_user=district["site_admin"], case_id=case.pk, text="New disclosure.")


def test_it_escalates_keeping_every_resolved_record(district, open_case):
    case = open_case()
    complete(
        district,
        case,
        "police_involved",
        {"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
    )
    case.refresh_from_db()
    services.step_mark_not_applicable(
        acting_user=district["counselor"],
        case_id=case.pk,
        step_id="parent_contact",
        reason="Parent involved.",
        details={"victim_consulted": True},
        expected_version=case.version,
    )
    case.refresh_from_db()
    services.checkin_plan_set(
        acting_user=district["counselor"],
        case_id=case.pk,
        every_days=7,
        assignee="counselor",
        expected_version=case.version,
    )
    case.refresh_from_db()
    services.case_escalate(
        acting_user=district["site_admin"],
        case_id=case.pk,
        pathway="confirmed_victim",
        reason="Confirmed.",
        expected_version=case.version,
    )
    case.refresh_from_db()
    evaluation = case_evaluation(case)
    assert evaluation.pathway.id == "confirmed_victim"
    assert evaluation.status("police_involved").state == "done"
    assert evaluation.status("parent_contact").state == "not_applicable"
    # regular_contact is not a step of C, but its record and the plan are kept.
    assert StepRecord.objects.filter(case=case, step_id="regular_contact").exists()
    event = Event.objects.filter(action="case.escalate").get()
    assert set(event.payload["carried"]) == {"police_involved", "parent_contact"}
    assert event.payload["left_behind"] == ["regular_contact"]


def test_it_refuses_to_move_a_case_to_the_pathway_it_is_on(district, open_case):
    case = open_case("confirmed_victim")
    with pytest.raises(ValidationFailed) as refused:
        services.case_escalate(
            acting_user=district["site_admin"],
            case_id=case.pk,
            pathway="confirmed_victim",
            reason="x",
            expected_version=case.version,
        )
    assert "pathway" in refused.value.errors
    case.refresh_from_db()
    assert case.version == 1


def test_it_dismisses_a_concern_with_a_reason_and_keeps_it(district):
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        student=services.StudentInput(sis_id="X1", first_name="A", last_name="B"),
        observed_at=ago(hours=1),
        description="Saw something.",
        indicators=[],
    )
    with pytest.raises(ValidationFailed):
        services.concern_dismiss(
            acting_user=district["site_admin"], concern_id=concern.pk, reason=""
        )
    services.concern_dismiss(
        acting_user=district["site_admin"],
        concern_id=concern.pk,
        reason="Student is a sibling visiting; no indicators.",
    )
    concern.refresh_from_db()
    assert concern.status == "dismissed"
    with pytest.raises(Conflict):
        services.concern_dismiss(
            acting_user=district["site_admin"], concern_id=concern.pk, reason="again"
        )
    assert Concern.objects.count() == 1


def test_it_refuses_a_reporters_own_report_to_school_police(district):
    with pytest.raises(ValidationFailed) as refused:
        services.concern_submit(
            acting_user=district["reporter"],
            school_code="LIN",
            student=services.StudentInput(sis_id="X1", first_name="A", last_name="B"),
            observed_at=ago(hours=1),
            description="Saw something.",
            indicators=[],
            own_report={"agency": "school_police", "phoned_at": ago(minutes=5).isoformat()},
        )
    assert "PC 11165.9" in refused.value.errors["own_report.agency"][0]
    assert not Concern.objects.exists()


def test_it_never_lets_a_reporter_spelling_overwrite_the_student_record(district):
    for first in ("Ana", "Anna"):
        services.concern_submit(
            acting_user=district["reporter"],
            school_code="LIN",
            student=services.StudentInput(sis_id="X1", first_name=first, last_name="Lopez"),
            observed_at=ago(hours=1),
            description="Saw something.",
            indicators=[],
        )
    assert [c.student.first_name for c in Concern.objects.all()] == ["Ana", "Ana"]


def test_it_numbers_cases_per_year_without_gaps(district, open_case):
    first, second = open_case(sis_id="A"), open_case(sis_id="B")
    year = timezone.now().year
    assert (first.reference, second.reference) == (f"CSEC-{year}-0001", f"CSEC-{year}-0002")

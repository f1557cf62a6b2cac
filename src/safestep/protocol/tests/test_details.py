"""Checking the details recorded when a step is resolved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from safestep.protocol import (
    DetailIs,
    FieldSpec,
    Protocol,
    Step,
    is_field_required,
    validate_details,
)
from safestep.protocol.details import FUTURE_ALLOWANCE
from safestep.protocol.tests.support import T0

NOW = T0
EARLIER = "2026-03-02T08:15:00-08:00"


def test_it_cleans_a_complete_cws_report(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    cleaned, errors = validate_details(
        step,
        {
            "agency": "cws",
            "phoned_at": EARLIER,
            "written_submitted_at": datetime(2026, 3, 2, 16, 30, tzinfo=UTC),
            "reference": "  CWS-123 ",
        },
        resolution="done",
        now=NOW,
    )
    assert errors == {}
    assert cleaned == {
        "agency": "cws",
        "phoned_at": "2026-03-02T08:15:00-08:00",
        "written_submitted_at": "2026-03-02T16:30:00+00:00",
        "reference": "CWS-123",
    }


def test_it_requires_required_fields_to_mark_a_step_done(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    cleaned, errors = validate_details(
        step, {"agency": "", "reference": "x"}, resolution="done", now=NOW
    )
    assert errors == {
        "agency": ["This field is required."],
        "phoned_at": ["This field is required."],
        "written_submitted_at": ["This field is required."],
    }
    assert cleaned == {"reference": "x"}


def test_it_refuses_a_report_to_school_police_citing_the_law(shipped: Protocol):
    step = shipped.step("confirmed_victim", "cws_report")
    _, errors = validate_details(
        step,
        {"agency": "school_police", "phoned_at": EARLIER, "written_submitted_at": EARLIER},
        resolution="done",
        now=NOW,
    )
    assert list(errors) == ["agency"]
    assert errors["agency"][0].startswith(
        "A report to School Police alone does not satisfy the law: PC 11165.9"
    )


def test_it_names_the_allowed_choices(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    _, errors = validate_details(step, {"agency": "foo"}, resolution="not_applicable", now=NOW)
    assert errors == {"agency": ["'foo' is not one of: cws, sdpd, sheriff, other_law_enforcement."]}


def test_it_reports_unknown_fields_on_their_own_key(shipped: Protocol):
    step = shipped.step("recruitment_by_student", "police_involved")
    _, errors = validate_details(
        step, {"agency": "sdpd", "badge": "123"}, resolution="done", now=NOW
    )
    assert errors == {
        "badge": [
            "Unknown field. This step records: agency, agency_name, officer, "
            "police_report_number, threat."
        ]
    }


def test_it_requires_only_record_either_way_fields_when_not_applicable(shipped: Protocol):
    step = shipped.step("suspected_victim", "parent_contact")
    _, errors = validate_details(step, {}, resolution="not_applicable", now=NOW)
    assert errors == {"victim_consulted": ["This field is required."]}
    cleaned, errors = validate_details(
        step, {"victim_consulted": False}, resolution="not_applicable", now=NOW
    )
    assert (cleaned, errors) == ({"victim_consulted": False}, {})
    # Marked done, the same field is required, and False is an answer, not a blank.
    _, errors = validate_details(step, {}, resolution="done", now=NOW)
    assert errors == {"victim_consulted": ["This field is required."]}


def test_it_still_checks_optional_fields_given_when_not_applicable(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    cleaned, errors = validate_details(
        step, {"reference": "R-1", "phoned_at": "yesterday"}, resolution="not_applicable", now=NOW
    )
    assert cleaned == {"reference": "R-1"}
    assert list(errors) == ["phoned_at"]


def test_it_refuses_a_datetime_without_an_offset_or_in_the_future(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    base = {"agency": "cws", "written_submitted_at": EARLIER}
    _, errors = validate_details(
        step, {**base, "phoned_at": "2026-03-02T08:15:00"}, resolution="done", now=NOW
    )
    assert errors == {
        "phoned_at": ["Include the time zone offset, e.g. 2026-03-01T14:30:00-08:00."]
    }
    # A few minutes ahead is a client's clock running fast; more is the future.
    future = (NOW + FUTURE_ALLOWANCE + timedelta(minutes=1)).isoformat()
    both_future = {"phoned_at": future, "written_submitted_at": future}
    _, errors = validate_details(step, {**base, **both_future}, resolution="done", now=NOW)
    assert errors == {
        "phoned_at": ["This time is in the future."],
        "written_submitted_at": ["This time is in the future."],
    }
    nearly = (NOW + FUTURE_ALLOWANCE).isoformat()
    _, errors = validate_details(
        step,
        {**base, "phoned_at": nearly, "written_submitted_at": nearly},
        resolution="done",
        now=NOW,
    )
    assert errors == {}
    at_now = {"phoned_at": NOW.isoformat(), "written_submitted_at": NOW.isoformat()}
    _, errors = validate_details(step, {**base, **at_now}, resolution="done", now=NOW)
    assert errors == {}


def test_it_accepts_yes_and_no_from_forms_but_not_other_words(shipped: Protocol):
    step = shipped.step("recruitment_by_student", "campus_impact")
    cleaned, errors = validate_details(
        step,
        {"findings": "Two students approached.", "other_students_involved": "yes"},
        resolution="done",
        now=NOW,
    )
    assert errors == {}
    assert cleaned["other_students_involved"] is True
    _, errors = validate_details(
        step, {"findings": "x", "other_students_involved": "perhaps"}, resolution="done", now=NOW
    )
    assert errors == {"other_students_involved": ["Answer yes or no."]}


def test_it_checks_the_check_in_plan_fields(shipped: Protocol):
    step = shipped.step("suspected_victim", "regular_contact")
    cleaned, errors = validate_details(
        step, {"every_days": "7", "assignee": "couns_lin"}, resolution="done", now=NOW
    )
    assert (cleaned, errors) == ({"every_days": 7, "assignee": "couns_lin"}, {})
    _, errors = validate_details(
        step, {"every_days": 0, "assignee": "no spaces allowed"}, resolution="done", now=NOW
    )
    assert errors == {"every_days": ["Must be at least 1."], "assignee": ["Enter a username."]}
    _, errors = validate_details(
        step, {"every_days": True, "assignee": "a"}, resolution="done", now=NOW
    )
    assert errors == {"every_days": ["Enter a whole number."]}
    _, errors = validate_details(
        step, {"every_days": 91, "assignee": "a"}, resolution="done", now=NOW
    )
    assert errors == {"every_days": ["Must be at most 90."]}


def test_it_cleans_lists_and_requires_at_least_one_entry(shipped: Protocol):
    step = shipped.step("confirmed_victim", "service_referral")
    cleaned, errors = validate_details(
        step,
        {
            "offered_to": "both",
            "services": ["Social services", " Victim advocacy ", "Social services"],
            "response": "accepted",
        },
        resolution="done",
        now=NOW,
    )
    assert errors == {}
    assert cleaned["services"] == ["Social services", "Victim advocacy"]
    _, errors = validate_details(
        step,
        {"offered_to": "both", "services": [], "response": "accepted"},
        resolution="done",
        now=NOW,
    )
    assert errors == {"services": ["This field is required."]}
    _, errors = validate_details(
        step,
        {"offered_to": "both", "services": ["ok", " "], "response": "accepted"},
        resolution="done",
        now=NOW,
    )
    assert errors == {"services": ["Entries must not be empty."]}


def test_it_checks_placement_decisions(shipped: Protocol):
    step = shipped.step("confirmed_victim", "placement_review")
    cleaned, errors = validate_details(
        step,
        {
            "decision": "transfer",
            "reason": "Safety: the recruiter attends this school.",
            "new_school": "ROO",
            "transfer_completed_at": "2026-03-01T10:00:00-08:00",
        },
        resolution="done",
        now=NOW,
    )
    assert errors == {}
    assert cleaned["new_school"] == "ROO"
    _, errors = validate_details(
        step,
        {"decision": "moved", "reason": "x", "new_school": "no such school!"},
        resolution="done",
        now=NOW,
    )
    assert errors == {
        "decision": ["'moved' is not one of: stays, transfer."],
        "new_school": ["Enter a school code."],
    }


def custom_step(*fields: FieldSpec) -> Step:
    return Step(
        id="custom",
        number=1,
        code="Z1",
        title="Custom",
        guidance="",
        actor_roles=("a",),
        fields=fields,
    )


def test_it_checks_multi_choice_and_date_fields():
    step = custom_step(
        FieldSpec(
            "ways",
            "Ways",
            "multi_choice",
            choices=("phone", "letter"),
            refused={"fax": "Fax is not used."},
        ),
        FieldSpec("on", "On", "date"),
        FieldSpec("ref", "Ref", "string"),
    )
    cleaned, errors = validate_details(
        step,
        {"ways": ["phone", "phone", "letter"], "on": date(2026, 3, 1), "ref": 42},
        resolution="done",
        now=NOW,
    )
    assert errors == {}
    assert cleaned == {"ways": ["phone", "letter"], "on": "2026-03-01", "ref": "42"}
    _, errors = validate_details(
        step, {"ways": ["fax"], "on": "1 March", "ref": "two\nlines"}, resolution="done", now=NOW
    )
    assert errors == {
        "ways": ["Fax is not used."],
        "on": ["Enter a date, e.g. 2026-03-01."],
        "ref": ["Enter this on a single line."],
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("HT-\x00-7", "Null characters are not allowed."),
        ("HT-\ud800", "Surrogate characters are not allowed."),
    ],
)
def test_it_refuses_text_no_database_or_page_can_keep(value: str, message: str):
    # JSON carries both (\u0000, a lone \ud800): a reference with a lone surrogate failed
    # to encrypt, and the step's record answered 500.
    step = custom_step(FieldSpec("ref", "Ref", "string"), FieldSpec("notes", "Notes", "text"))
    _, errors = validate_details(
        step, {"ref": value, "notes": f"before {value} after"}, resolution="done", now=NOW
    )
    assert errors == {"ref": [message], "notes": [message]}


def test_it_refuses_a_naive_now_and_an_unknown_resolution(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_details(step, {}, resolution="done", now=datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="resolution"):
        validate_details(step, {}, resolution="skipped", now=NOW)  # type: ignore[arg-type]


def test_it_compares_times_in_different_offsets_correctly(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    # 18:30 in UTC+2 is 16:30 UTC, before NOW (17:00 UTC).
    plus_two = datetime(2026, 3, 2, 18, 30, tzinfo=timezone(timedelta(hours=2)))
    _, errors = validate_details(
        step,
        {"agency": "sheriff", "phoned_at": plus_two, "written_submitted_at": plus_two},
        resolution="done",
        now=NOW,
    )
    assert errors == {}


def test_it_answers_details_that_are_not_named_fields_with_an_error(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    cleaned, errors = validate_details(
        step,
        ["cws"],  # type: ignore[arg-type]
        resolution="done",
        now=NOW,
    )
    assert cleaned == {}
    assert errors == {"details": ["Send the details as named fields (a JSON object)."]}


# Recording progress ------------------------------------------------------------------


def test_it_requires_exactly_the_progress_fields_to_record_a_report_phoned_in(
    shipped: Protocol,
):
    step = shipped.step("suspected_victim", "cws_report")
    _, errors = validate_details(step, {}, resolution="in_progress", now=NOW)
    assert errors == {
        "agency": ["This field is required."],
        "phoned_at": ["This field is required."],
    }
    cleaned, errors = validate_details(
        step, {"agency": "cws", "phoned_at": EARLIER}, resolution="in_progress", now=NOW
    )
    assert (cleaned, errors) == ({"agency": "cws", "phoned_at": EARLIER}, {})
    # The other fields are optional now, but still checked when given.
    _, errors = validate_details(
        step,
        {"agency": "school_police", "phoned_at": EARLIER, "written_submitted_at": "soon"},
        resolution="in_progress",
        now=NOW,
    )
    assert list(errors) == ["agency", "written_submitted_at"]
    assert is_field_required(step.field("phoned_at"), "in_progress", step=step)
    assert not is_field_required(step.field("written_submitted_at"), "in_progress", step=step)
    assert is_field_required(step.field("written_submitted_at"), "done")


def test_it_refuses_progress_for_a_step_that_declares_none(shipped: Protocol):
    step = shipped.step("suspected_victim", "campus_impact")
    with pytest.raises(ValueError, match="declares no progress"):
        validate_details(step, {}, resolution="in_progress", now=NOW)
    with pytest.raises(ValueError, match="declares no progress"):
        is_field_required(step.field("findings"), "in_progress", step=step)
    with pytest.raises(ValueError, match="pass the step"):
        is_field_required(step.field("findings"), "in_progress")


# Times that contradict each other ----------------------------------------------------

SUSPICION = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 07:00 in San Diego
ANCHORS = {"suspicion_formed_at": SUSPICION, "case_opened_at": SUSPICION}


def report(phoned_at: str, written_at: str) -> dict[str, object]:
    return {"agency": "cws", "phoned_at": phoned_at, "written_submitted_at": written_at}


def test_it_refuses_a_written_report_sent_before_the_phone_call(shipped: Protocol):
    step = shipped.step("confirmed_victim", "cws_report")
    cleaned, errors = validate_details(
        step,
        report(phoned_at="2026-03-02T08:15:00-08:00", written_at="2026-03-02T08:10:00-08:00"),
        resolution="done",
        now=NOW,
        anchors=ANCHORS,
    )
    assert errors == {"written_submitted_at": ["May not be before when the report was phoned in."]}
    assert "written_submitted_at" in cleaned  # the value itself is well formed
    # The same moment in another offset is not "before".
    _, errors = validate_details(
        step,
        report(phoned_at="2026-03-02T08:15:00-08:00", written_at="2026-03-02T16:15:00+00:00"),
        resolution="done",
        now=NOW,
        anchors=ANCHORS,
    )
    assert errors == {}


def test_it_refuses_a_report_made_before_the_suspicion_was_formed(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    early = "2026-03-02T06:59:00-08:00"  # a minute before the suspicion was formed
    _, errors = validate_details(
        step, report(phoned_at=early, written_at=early), resolution="done", now=NOW, anchors=ANCHORS
    )
    message = "May not be before the suspicion was formed (2026-03-02 15:00 UTC)."
    assert errors == {"phoned_at": [message], "written_submitted_at": [message]}
    # Only the times that are known are compared.
    _, errors = validate_details(
        step, report(phoned_at=early, written_at=early), resolution="done", now=NOW
    )
    assert errors == {}
    _, errors = validate_details(
        step,
        {"agency": "cws", "written_submitted_at": EARLIER},
        resolution="in_progress",
        now=NOW,
        anchors={"case_opened_at": NOW},
    )
    assert errors == {"phoned_at": ["This field is required."]}


def test_it_compares_only_times_that_were_given_correctly(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    _, errors = validate_details(
        step,
        report(phoned_at="after lunch", written_at=EARLIER),
        resolution="done",
        now=NOW,
        anchors=ANCHORS,
    )
    assert list(errors) == ["phoned_at"]
    assert errors["phoned_at"][0].startswith("Enter a date and time in ISO 8601 form")


def test_it_keeps_an_abbreviation_at_the_start_of_a_label():
    step = custom_step(
        FieldSpec("sent_at", "SS 8572 sent", "datetime"),
        FieldSpec("filed_at", "Filed", "datetime", not_before=("sent_at",)),
    )
    _, errors = validate_details(
        step,
        {"sent_at": "2026-03-02T09:00:00+00:00", "filed_at": "2026-03-02T08:00:00+00:00"},
        resolution="done",
        now=NOW,
    )
    assert errors == {"filed_at": ["May not be before SS 8572 sent."]}


def test_it_refuses_a_naive_anchor(shipped: Protocol):
    step = shipped.step("suspected_victim", "cws_report")
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_details(
            step,
            {},
            resolution="done",
            now=NOW,
            anchors={"suspicion_formed_at": datetime(2026, 3, 2, 9, 0)},
        )


# --- hostile values: nothing stored that a page cannot later show ---------------------


def hostile_step():
    return custom_step(
        FieldSpec("at", "At", "datetime"),
        FieldSpec("on", "On", "date"),
        FieldSpec("count", "Count", "integer", maximum=90),
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # Year 1 at +14:00 is year 0 in UTC: every page that showed it failed.
        ("0001-01-01T00:00:00+14:00", "May not be before 1 January 1990."),
        ("1989-12-31T09:59:59+00:00", "May not be before 1 January 1990."),
        ("9999-12-31T23:59:59-12:00", "This time is in the future."),
        ("2026-03-02T09:00:00+23:59", "Give a real time zone offset, between -14:00 and +14:00."),
        ("2026-03-02T09:00:00+99:00", "Enter a date and time in ISO 8601 form"),
        ("+99999-01-01T00:00:00+00:00", "Enter a date and time in ISO 8601 form"),
        ("²⁰²⁶-03-02T09:00:00+00:00", "Enter a date and time in ISO 8601 form"),
        ("2026-03-02T09:00:00+00:00" * 100, "Enter a date and time in ISO 8601 form"),
    ],
)
def test_it_refuses_times_no_page_could_show(value, message):
    _, errors = validate_details(hostile_step(), {"at": value}, resolution="done", now=NOW)
    assert list(errors) == ["at"]
    assert errors["at"][0].startswith(message)


def test_it_accepts_the_first_moment_of_1990_anywhere():
    cleaned, errors = validate_details(
        hostile_step(), {"at": "1990-01-01T00:00:00+14:00"}, resolution="done", now=NOW
    )
    assert errors == {}
    assert cleaned == {"at": "1990-01-01T00:00:00+14:00"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-01-01", "May not be before 1 January 1990."),
        (date(1989, 12, 31), "May not be before 1 January 1990."),
        ("9999-12-31", "May not be more than ten years ahead."),
        ("\uff12\uff10\uff12\uff16-03-01", "Enter a date, e.g. 2026-03-01."),  # full-width digits
    ],
)
def test_it_bounds_dates(value, message):
    _, errors = validate_details(hostile_step(), {"on": value}, resolution="done", now=NOW)
    assert errors == {"on": [message]}


@pytest.mark.parametrize("value", ["²", "\u0661\u0662", "9" * 5000, 10**30, "-" + "9" * 30])
def test_it_refuses_whole_numbers_int_cannot_read_or_a_database_cannot_hold(value):
    # "²".isdigit() is True but int("²") raises: this was a 500.
    _, errors = validate_details(hostile_step(), {"count": value}, resolution="done", now=NOW)
    assert errors == {"count": ["Enter a whole number."]}


# Fields required when another field has a value --------------------------------------


def test_it_requires_the_new_school_for_a_transfer_only(shipped: Protocol):
    step = shipped.step("confirmed_victim", "placement_review")
    reason = "Safety: the recruiter attends this school."
    _, errors = validate_details(
        step, {"decision": " transfer ", "reason": reason}, resolution="done", now=NOW
    )
    assert errors == {"new_school": ["This field is required."]}
    cleaned, errors = validate_details(
        step, {"decision": "stays", "reason": reason}, resolution="done", now=NOW
    )
    assert (cleaned, errors) == ({"decision": "stays", "reason": reason}, {})
    # A decision that is not valid decides nothing: only its own error is reported.
    _, errors = validate_details(
        step, {"decision": "transferred", "reason": reason}, resolution="done", now=NOW
    )
    assert list(errors) == ["decision"]


def test_it_requires_a_field_when_a_yes_no_field_says_so_and_only_to_mark_it_done():
    step = custom_step(
        FieldSpec("follow_up", "Follow-up planned?", "yes_no", record_either_way=True),
        FieldSpec("on", "Follow-up date", "date", required_when=DetailIs("follow_up", True)),
    )
    _, errors = validate_details(step, {"follow_up": "yes"}, resolution="done", now=NOW)
    assert errors == {"on": ["This field is required."]}
    _, errors = validate_details(step, {"follow_up": False}, resolution="done", now=NOW)
    assert errors == {}
    # "Does not apply" asks only for the fields recorded either way.
    _, errors = validate_details(step, {"follow_up": True}, resolution="not_applicable", now=NOW)
    assert errors == {}
    cleaned, errors = validate_details(
        step, {"follow_up": "on", "on": "2026-03-09"}, resolution="done", now=NOW
    )
    assert (cleaned, errors) == ({"follow_up": True, "on": "2026-03-09"}, {})


def test_it_says_a_conditional_field_is_required_from_cleaned_or_posted_details(
    shipped: Protocol,
):
    new_school = shipped.step("confirmed_victim", "placement_review").field("new_school")
    # Without the details, a blank form: not required (the check comes on submission).
    assert not is_field_required(new_school, "done")
    assert is_field_required(new_school, "done", details={"decision": "transfer"})
    assert is_field_required(new_school, "done", details={"decision": " transfer\n"})
    assert not is_field_required(new_school, "done", details={"decision": "stays"})
    assert not is_field_required(new_school, "done", details={})
    assert not is_field_required(new_school, "not_applicable", details={"decision": "transfer"})
    follow = FieldSpec("on", "On", "date", required_when=DetailIs("follow_up", True))
    assert is_field_required(follow, "done", details={"follow_up": True})
    assert is_field_required(follow, "done", details={"follow_up": "yes"})
    assert not is_field_required(follow, "done", details={"follow_up": "no"})
    assert not is_field_required(follow, "done", details={"follow_up": 1})


# People on the case ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(12, 12), ("12", 12), (" 7 ", 7), ("007", 7)])
def test_it_takes_a_person_on_the_case_by_id(shipped: Protocol, value, expected):
    step = shipped.step("suspected_victim", "parent_contact")
    cleaned, errors = validate_details(
        step, {"victim_consulted": True, "contact": value}, resolution="done", now=NOW
    )
    assert errors == {}
    assert cleaned == {"victim_consulted": True, "contact": expected}
    assert type(cleaned["contact"]) is int


@pytest.mark.parametrize(
    "value",
    [
        0,
        -3,
        "0",
        "-3",
        "+3",
        "3.0",
        3.0,
        True,
        "Ana Ruiz",
        "\u0661\u0662",
        "²",
        "9" * 19,
        10**18,
        [3],
    ],
)
def test_it_refuses_what_is_not_the_id_of_a_person(shipped: Protocol, value):
    step = shipped.step("suspected_victim", "parent_contact")
    _, errors = validate_details(
        step, {"victim_consulted": True, "contact": value}, resolution="done", now=NOW
    )
    assert errors == {"contact": ["Choose a person on the case."]}

"""Step forms drawn from the protocol's declared fields, and read back into step details."""

from __future__ import annotations

from datetime import datetime

from django.http import QueryDict
from django.utils import timezone

from safestep.protocol import FieldSpec, Step, validate_details
from safestep.web.forms import details_from_post, field_from_spec, format_detail, step_fields

EVERY_TYPE = Step(
    id="every_type",
    number=1,
    code="X1",
    title="A step with one field of each type",
    guidance="",
    actor_roles=("site_admin",),
    may_not_apply=True,
    fields=(
        FieldSpec(name="story", label="Story", type="text", required=True),
        FieldSpec(name="number", label="Report number", type="string"),
        FieldSpec(
            name="consulted",
            label="Consulted?",
            type="yes_no",
            required=True,
            record_either_way=True,
        ),
        FieldSpec(
            name="agency",
            label="Agency",
            type="choice",
            choices=("cws", "sdpd"),
            choice_labels={
                "cws": "Child Welfare Services (CWS)",
                "sdpd": "San Diego Police Department (SDPD)",
            },
        ),
        FieldSpec(name="kinds", label="Kinds", type="multi_choice", choices=("a", "b", "c")),
        FieldSpec(name="services", label="Services", type="list", choices=("Counseling",)),
        FieldSpec(name="called_at", label="Called at", type="datetime"),
        FieldSpec(name="on", label="On", type="date"),
        FieldSpec(name="days", label="Days", type="integer", minimum=1, maximum=90),
        FieldSpec(name="person", label="Person", type="user"),
        FieldSpec(name="school", label="School", type="school"),
    ),
)


def form(**values: str | list[str]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in values.items():
        if isinstance(value, list):
            data.setlist(name, value)
        else:
            data[name] = value
    return data


def test_it_draws_a_control_for_every_field_type():
    controls = {item.name: item for item in step_fields(EVERY_TYPE, prefix="x", resolution="done")}
    assert controls["story"].widget == "textarea" and controls["story"].required
    assert controls["number"].widget == "input" and controls["number"].input_type == "text"
    assert controls["consulted"].widget == "radios"
    assert [option.value for option in controls["consulted"].options] == ["yes", "no"]
    assert controls["agency"].widget == "radios"
    assert [option.label for option in controls["agency"].options] == [
        "Child Welfare Services (CWS)",
        "San Diego Police Department (SDPD)",
    ]
    assert controls["kinds"].widget == "checkboxes"
    assert controls["services"].widget == "list"
    assert controls["called_at"].input_type == "datetime-local"
    assert controls["on"].input_type == "date"
    assert controls["days"].input_type == "number"
    assert (controls["days"].minimum, controls["days"].maximum) == (1, 90)
    assert controls["person"].widget == "input"
    assert controls["school"].widget == "input"
    assert controls["story"].id == "x-story"


def test_it_asks_only_what_must_be_recorded_either_way_when_a_step_does_not_apply():
    controls = step_fields(EVERY_TYPE, prefix="na", resolution="not_applicable", only_required=True)
    assert [item.name for item in controls] == ["consulted"]


def test_it_reads_a_submitted_form_into_details_the_protocol_accepts():
    posted = form(
        story="Seen twice after school.",
        number="",
        consulted="yes",
        agency="sdpd",
        kinds=["a", "c"],
        services=["Counseling"],
        **{"services-other": "Youth shelter\n\n  Food bank  "},
        called_at="2026-03-02T09:30",
        on="2026-03-01",
        days="7",
        person="counselor",
        school="LIN",
    )
    details, problems = details_from_post(EVERY_TYPE, posted)
    assert problems == {}
    assert "number" not in details  # blank is absent, so "required" is the protocol's call
    assert details["services"] == ["Counseling", "Youth shelter", "Food bank"]
    called_at = datetime.fromisoformat(str(details["called_at"]))
    assert called_at.tzinfo is not None
    assert timezone.localtime(called_at).strftime("%H:%M") == "09:30"
    cleaned, errors = validate_details(EVERY_TYPE, details, resolution="done", now=timezone.now())
    assert errors == {}
    assert cleaned["consulted"] is True and cleaned["days"] == 7


def test_it_names_an_unreadable_time_as_a_problem_of_its_field():
    _, problems = details_from_post(EVERY_TYPE, form(called_at="yesterday-ish"))
    assert list(problems) == ["details.called_at"]


def test_it_shows_what_was_sent_again_after_a_refusal():
    posted = form(agency="sdpd", kinds=["b"], consulted="no", story="Kept text")
    controls = {
        item.name: item
        for item in step_fields(
            EVERY_TYPE,
            prefix="x",
            resolution="done",
            posted=posted,
            errors={"details.days": ["Must be at least 1."]},
        )
    }
    assert controls["story"].value == "Kept text"
    assert [option.checked for option in controls["agency"].options] == [False, True]
    assert [option.checked for option in controls["kinds"].options] == [False, True, False]
    assert [option.checked for option in controls["consulted"].options] == [False, True]
    assert controls["days"].errors == ["Must be at least 1."]
    assert controls["days"].described_by == "x-days-error"


def test_it_offers_people_to_choose_from_for_a_user_field_when_given():
    spec = EVERY_TYPE.field("person")
    control = field_from_spec(
        spec, prefix="plan", required=True, choices_override=[("counselor", "Counselor")]
    )
    assert control.widget == "select"
    assert control.options[0].value == "counselor"


def test_it_shows_recorded_details_in_words():
    assert format_detail(EVERY_TYPE.field("consulted"), True) == "Yes"
    assert format_detail(EVERY_TYPE.field("agency"), "sdpd") == "San Diego Police Department (SDPD)"
    assert format_detail(EVERY_TYPE.field("number"), "sdpd") == "sdpd"
    assert format_detail(EVERY_TYPE.field("services"), ["A", "B"]) == "A, B"
    shown = format_detail(EVERY_TYPE.field("called_at"), "2026-03-02T17:30:00+00:00")
    assert shown == "Mon 2 Mar 2026, 09:30"  # in the district's time zone
    # Stored before times were checked: one without a zone, or not a time, shows as entered.
    assert format_detail(EVERY_TYPE.field("called_at"), "2026-03-02T17:30") == "2026-03-02T17:30"
    assert format_detail(EVERY_TYPE.field("called_at"), "soon") == "soon"

"""The definition model: conditions, durations, lookups and the content hash."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools

import pytest

from safestep.protocol import (
    AllOf,
    AnyOf,
    DetailIs,
    Duration,
    DurationError,
    Escalation,
    FactIs,
    FieldSpec,
    Not,
    Protocol,
    condition_to_data,
    describe_condition,
    evaluate_condition,
    iter_condition_facts,
    load_protocol_text,
    parse_duration,
)
from safestep.protocol.tests.support import MINI

ANSWERS = (True, False, None)


def kleene_and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


@pytest.mark.parametrize(("x", "y"), list(itertools.product(ANSWERS, ANSWERS)))
def test_it_combines_facts_with_kleene_logic(x, y):
    facts = {"x": x, "y": y}
    both = AllOf((FactIs("x"), FactIs("y")))
    either = AnyOf((FactIs("x"), FactIs("y")))
    assert evaluate_condition(both, facts) == kleene_and(x, y)
    assert evaluate_condition(either, facts) == kleene_or(x, y)
    assert evaluate_condition(Not(FactIs("x")), facts) == (None if x is None else not x)


def test_it_treats_a_missing_fact_as_unanswered():
    assert evaluate_condition(FactIs("danger", True), {}) is None
    assert evaluate_condition(FactIs("danger", False), {"danger": False}) is True
    assert evaluate_condition(FactIs("danger", False), {"danger": True}) is False


def test_it_lists_and_describes_the_facts_a_condition_uses():
    condition = AllOf((FactIs("a"), Not(AnyOf((FactIs("b", False), FactIs("c"))))))
    assert list(iter_condition_facts(condition)) == ["a", "b", "c"]
    assert describe_condition(condition) == "a is yes and not (b is no or c is yes)"


def test_it_turns_conditions_back_into_definition_data():
    condition = AllOf((FactIs("a"), Not(AnyOf((FactIs("b", False),)))))
    assert condition_to_data(condition) == {
        "all": [{"fact": "a", "is": True}, {"not": {"any": [{"fact": "b", "is": False}]}}]
    }
    assert condition_to_data(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT36H", Duration(hours=36)),
        ("P1D", Duration(days=1)),
        ("P2W", Duration(weeks=2)),
        ("P1Y2M3DT4H5M6S", Duration(1, 2, 0, 3, 4, 5, 6)),
        ("PT90M", Duration(minutes=90)),
    ],
)
def test_it_parses_iso_8601_durations_keeping_their_parts(text, expected):
    assert parse_duration(text) == expected
    assert expected.isoformat() == text


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "1D", "P1.5D", "P-1D", "PT36h", "P1H"])
def test_it_refuses_what_is_not_a_whole_iso_8601_duration(text):
    with pytest.raises(DurationError):
        parse_duration(text)


def test_it_describes_durations_in_words():
    assert Duration(hours=36).describe() == "36 hours"
    assert Duration(days=1).describe() == "1 day"
    assert Duration(weeks=1, days=2).describe() == "1 week and 2 days"


def test_it_finds_pathways_steps_facts_and_escalations():
    protocol = load_protocol_text(MINI, "mini.yaml")
    assert protocol.pathway("two").step("third").number == 3
    assert protocol.step("one", "second").condition == FactIs("danger", True)
    assert protocol.fact("danger").question == "Is there danger?"
    escalation = protocol.escalation("one", "two")
    assert escalation is not None
    assert escalation.carries == ("first", "second")
    assert escalation.title == "Move to: Pathway two"  # the default title
    assert protocol.escalation("two", "one") is None
    assert protocol.all_step_ids() == ("first", "second", "third")
    with pytest.raises(KeyError):
        protocol.pathway("three")
    with pytest.raises(KeyError):
        protocol.step("one", "third")
    with pytest.raises(KeyError):
        protocol.step("one", "first").field("nothing")


def test_it_hashes_the_canonical_source_text():
    protocol = load_protocol_text(MINI, "mini.yaml")
    assert protocol.content_hash == hashlib.sha256(MINI.encode("utf-8")).hexdigest()
    # Windows line endings and a byte-order mark do not make a different version.
    windows = load_protocol_text("\ufeff" + MINI.replace("\n", "\r\n"), "mini.yaml")
    assert windows.content_hash == protocol.content_hash
    assert windows.source_text == MINI
    changed = load_protocol_text(MINI.replace("Pathway two", "Pathway 2"), "mini.yaml")
    assert changed.content_hash != protocol.content_hash


def test_it_keeps_the_model_immutable_and_hashable():
    protocol = load_protocol_text(MINI, "mini.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        protocol.id = "other"  # type: ignore[misc]
    refusals = {"school_police": "No."}
    spec = FieldSpec("agency", "Agency", "choice", choices=("cws",), refused=refusals)
    refusals["cws"] = "changed after the fact"
    assert dict(spec.refused) == {"school_police": "No."}
    with pytest.raises(TypeError):
        spec.refused["x"] = "y"  # type: ignore[index]
    assert isinstance(hash(protocol), int)
    assert load_protocol_text(MINI, "again.yaml") == protocol


def test_it_marks_every_field_of_a_police_only_step_police_only():
    text = MINI.replace(
        "    depends_on: [first]\n", "    depends_on: [first]\n    police_only: true\n"
    )
    text = text.replace(
        "    depends_on: [first]\n    police_only: true\n",
        "    depends_on: [first]\n    police_only: true\n"
        "    fields:\n      - {name: note, label: Note, type: text}\n",
    )
    step = load_protocol_text(text, "t.yaml").step("two", "second")
    assert step.police_only
    assert step.field("note").police_only


def test_it_gives_integer_fields_a_minimum_of_one_by_default():
    text = MINI.replace(
        "choices: [a, b]}\n", "choices: [a, b]}\n      - {name: n, label: N, type: integer}\n"
    )
    field = load_protocol_text(text, "t.yaml").step("one", "first").field("n")
    assert (field.minimum, field.maximum) == (1, None)


def test_it_reads_a_protocol_equal_to_one_built_by_hand():
    protocol = load_protocol_text(MINI, "mini.yaml")
    rebuilt = Protocol(
        id=protocol.id,
        version=protocol.version,
        title=protocol.title,
        jurisdiction=protocol.jurisdiction,
        time_zone=protocol.time_zone,
        roles=protocol.roles,
        facts=protocol.facts,
        pathways=protocol.pathways,
        escalations=protocol.escalations,
        indicators=protocol.indicators,
        source_text=protocol.source_text,
    )
    assert rebuilt == protocol
    assert protocol.roles == ("admin", "police")


def test_it_lets_a_case_move_between_any_two_pathways():
    protocol = load_protocol_text(MINI, "mini.yaml")
    declared = protocol.move("one", "two")
    assert declared == protocol.escalation("one", "two")
    assert declared.declared
    back = protocol.move("two", "one")
    assert back == Escalation(
        from_pathway="two",
        to_pathway="one",
        title="Moved to Pathway one",
        carries=("first", "second"),
        declared=False,
    )
    assert protocol.moves_from("one") == (declared,)
    assert protocol.moves_from("two") == (back,)
    with pytest.raises(ValueError, match="cannot move to the same pathway"):
        protocol.move("one", "one")
    with pytest.raises(KeyError):
        protocol.move("one", "three")


def test_it_calls_a_pathway_listed_earlier_lower():
    protocol = load_protocol_text(MINI, "mini.yaml")
    assert protocol.is_lower("two", "one")
    assert not protocol.is_lower("one", "two")
    assert not protocol.is_lower("one", "one")
    with pytest.raises(KeyError, match="'three'"):
        protocol.is_lower("three", "one")
    with pytest.raises(KeyError, match="'three'"):
        protocol.is_lower("one", "three")


def test_it_finds_the_field_that_fills_each_form_field():
    text = MINI.replace(
        "choices: [a, b]}\n",
        "choices: [a, b], form_field: B.agency}\n"
        "      - {name: note, label: Note, type: text, form_field: E.narrative}\n"
        "      - {name: other, label: Other, type: text}\n",
    )
    protocol = load_protocol_text(text, "t.yaml")
    found = protocol.fields_for_form()
    first = protocol.step("one", "first")
    assert found == {
        "B.agency": (first, first.field("agency")),
        "E.narrative": (first, first.field("note")),
    }
    assert load_protocol_text(MINI, "mini.yaml").fields_for_form() == {}


def test_it_keeps_field_conditions_and_form_fields_hashable():
    spec = FieldSpec(
        "new_school",
        "New school",
        "school",
        required_when=DetailIs("decision", "transfer"),
        form_field="B.school",
    )
    same = FieldSpec(
        "new_school",
        "New school",
        "school",
        required_when=DetailIs("decision", "transfer"),
        form_field="B.school",
    )
    assert hash(spec) == hash(same) and spec == same
    assert spec != dataclasses.replace(spec, required_when=DetailIs("decision", "stays"))
    assert spec != dataclasses.replace(spec, form_field=None)

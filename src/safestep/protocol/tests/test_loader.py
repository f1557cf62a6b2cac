"""The loader: a strict schema, every error at once, each at its exact line and column.

Each test breaks a small valid definition (``MINI``) or the shipped one in a single
place and checks the message and its position. Expected positions come from
``locate`` (the 1-based line and column where a piece of text starts) so the tests
say *what* should be pointed at, not just a number.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from safestep.protocol import (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    STEP_ROLE_PLACEMENT_REVIEW,
    DetailIs,
    Issue,
    Progress,
    ProtocolInvalid,
    load_protocol_file,
    load_protocol_text,
)
from safestep.protocol.tests.loading import assert_issue, issues_for, only_issue
from safestep.protocol.tests.support import MINI, SHIPPED_TEXT, edit, locate


def test_it_loads_the_small_fixture():
    protocol = load_protocol_text(MINI, "mini.yaml")
    assert protocol.pathway("one").step_ids == ("first", "second")
    assert protocol.step("two", "third").code == "B3"


def test_it_formats_an_issue_as_path_line_column_message():
    issue = Issue("district.yaml", 12, 5, "unknown key 'x'")
    assert str(issue) == "district.yaml:12:5: unknown key 'x'"


# YAML itself -----------------------------------------------------------------------


def test_it_reports_a_yaml_syntax_error_at_the_problem_mark():
    text = edit(MINI, "  title: Test protocol", "  title: Test: protocol")
    issue = only_issue(text)
    assert (issue.line, issue.column) == (4, 14)
    assert issue.message == "YAML syntax error: mapping values are not allowed here"


def test_it_reports_a_tab_used_for_indentation():
    text = edit(MINI, "    title: Third step", "\ttitle: Third step")
    issue = only_issue(text)
    assert (issue.line, issue.column) == locate(text, "\ttitle")
    assert issue.message.startswith("YAML syntax error: found character '\\t'")


def test_it_reports_an_empty_file():
    assert_issue(only_issue(""), (1, 1), "the file is empty")


def test_it_reports_a_duplicate_yaml_key():
    text = edit(MINI, "    title: Third step\n", "    title: Third step\n    title: Again\n")
    assert_issue(
        only_issue(text),
        locate(text, "title: Again"),
        "duplicate key 'title' (first at line 23)",
    )


def test_it_refuses_yaml_merge_keys():
    text = edit(MINI, "    title: Third step\n", "    title: Third step\n    <<: {guidance: x}\n")
    assert_issue(
        only_issue(text),
        locate(text, "<<"),
        "YAML merge keys (<<) are not supported; write the keys out",
    )


def test_it_names_the_file_and_the_position_of_bad_utf8(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_bytes(b"protocol:\n  title: caf\xe9\n")
    with pytest.raises(ProtocolInvalid) as caught:
        load_protocol_file(path)
    assert [str(issue) for issue in caught.value.issues] == [
        f"{path}:2:13: the file is not valid UTF-8 text"
    ]


# Keys and types --------------------------------------------------------------------


def test_it_suggests_the_closest_key_for_an_unknown_key():
    text = edit(MINI, "        condition:", "        condtion:")
    assert_issue(
        only_issue(text),
        locate(text, "condtion"),
        "unknown key 'condtion' (did you mean 'condition'?)",
    )


def test_it_lists_the_valid_keys_when_nothing_is_close():
    text = edit(MINI, "    actors: [police]", "    actors: [police]\n    colour: red")
    issue = only_issue(text)
    assert (issue.line, issue.column) == locate(text, "colour")
    assert issue.message.startswith("unknown key 'colour'; step keys are: id, title, actors")


def test_it_reports_a_wrong_type():
    text = edit(MINI, "    actors: [police]", "    actors: [police]\n    police_only: maybe")
    assert_issue(
        only_issue(text),
        locate(text, "maybe"),
        "police_only: expected true or false, got the text 'maybe'",
    )


def test_it_asks_to_quote_a_number_where_text_is_expected():
    text = edit(MINI, 'version: "1"', "version: 1")
    assert_issue(
        only_issue(text),
        (3, 12),
        "protocol version: expected text, got the number '1' (put it in quotes to make it text)",
    )


def test_it_reports_a_list_expected():
    text = edit(MINI, "roles: [admin, police]", "roles: admin")
    # Roles cannot be read, so the actors lists are not called unknown on top of it.
    assert_issue(only_issue(text), (7, 8), "roles: expected a list, got the text 'admin'")


def test_it_reports_a_missing_required_key_at_the_mapping_that_lacks_it():
    text = edit(MINI, "    title: Second step\n", "")
    assert_issue(
        only_issue(text),
        locate(text, "id: second"),
        "step: missing required key 'title'",
    )


def test_it_reports_a_missing_top_level_section_at_the_start():
    text = MINI[: MINI.index("escalations:")].replace("roles: [admin, police]\n", "")
    issues = issues_for(text)
    assert [(i.line, i.column, i.message) for i in issues] == [
        (1, 1, "protocol file: missing required key 'roles'")
    ]


def test_it_reports_an_unknown_time_zone():
    text = edit(MINI, "America/Los_Angeles", "America/San_Diego")
    assert_issue(
        only_issue(text),
        (6, 14),
        "unknown time zone 'America/San_Diego' (use an IANA name such as America/Los_Angeles)",
    )


def test_it_reports_an_id_that_is_not_an_identifier():
    text = edit(MINI, "  - id: third", "  - id: Third-Step")
    issues = issues_for(text)
    assert (issues[0].line, issues[0].column) == locate(text, "Third-Step")
    assert issues[0].message == (
        "step id 'Third-Step' must be lower-case letters, digits and underscores, "
        "starting with a letter"
    )


# Duplicates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "occurrence", "message"),
    [
        pytest.param(
            "escalations:",
            "  - {id: one, code: C, title: Again, steps: [third]}\nescalations:",
            "one, code: C",
            1,
            "duplicate pathway id 'one' (first at line 26)",
            id="pathway",
        ),
        pytest.param(
            "  - id: third\n    title: Third step\n    actors: [admin]\n",
            "  - id: third\n    title: Third step\n    actors: [admin]\n"
            "  - id: third\n    title: Again\n    actors: [admin]\n",
            "third\n    title: Again",
            1,
            "duplicate step id 'third' (first at line 22)",
            id="library-step",
        ),
        pytest.param(
            "    question: Is there danger?\n",
            "    question: Is there danger?\n  - id: danger\n    question: Again?\n",
            "danger\n    question: Again",
            1,
            "duplicate fact id 'danger' (first at line 9)",
            id="fact",
        ),
        pytest.param(
            "choices: [a, b]}\n",
            "choices: [a, b]}\n      - {name: agency, label: Again, type: text}\n",
            "agency",
            2,
            "duplicate field name 'agency' (first at line 17)",
            id="field",
        ),
        pytest.param(
            "roles: [admin, police]",
            "roles: [admin, police, admin]",
            "admin",
            2,
            "duplicate role 'admin' (first at line 7)",
            id="role",
        ),
    ],
)
def test_it_reports_duplicate_ids(old, new, needle, occurrence, message):
    text = edit(MINI, old, new)
    assert_issue(only_issue(text), locate(text, needle, occurrence), message)


def test_it_reports_a_step_listed_twice_in_one_pathway():
    text = edit(MINI, "steps: [first, second, third]", "steps: [first, second, first]")
    assert_issue(
        only_issue(text),
        locate(text, "first]", 2),
        "step 'first' appears twice in pathway 'two' (first at line 36)",
    )


def test_it_reports_duplicate_indicator_ids():
    text = MINI + (
        "indicators:\n"
        "  - {id: absences, group: school, text: Misses school.}\n"
        "  - {id: absences, group: school, text: Again.}\n"
    )
    assert_issue(
        only_issue(text),
        locate(text, "absences", 2),
        "duplicate indicator id 'absences' (first at line 42)",
    )


# Same id, same step ----------------------------------------------------------------

INLINE = """\
protocol: {id: inline, version: "1", title: T, jurisdiction: J, time_zone: UTC}
roles: [admin, police]
pathways:
  - id: one
    code: A
    title: One
    steps:
      - id: shared
        title: Shared step
        actors: [admin]
  - id: two
    code: B
    title: Two
    steps:
      - id: shared
        title: Shared step, in other words
        actors: [admin, police]
"""


def test_it_lets_a_pathway_define_a_step_inline_and_reuse_it_unchanged():
    text = edit(INLINE, "actors: [admin, police]", "actors: [admin]")
    protocol = load_protocol_text(text, "inline.yaml")
    # Title may differ per pathway; actors and fields may not.
    assert protocol.step("two", "shared").title == "Shared step, in other words"


def test_it_reports_a_step_id_reused_with_different_actors():
    assert_issue(
        only_issue(INLINE),
        locate(INLINE, "shared", 2),
        "step 'shared' differs from its definition in pathway 'one' (line 8) in: actors; "
        "the same step id must be the same step in every pathway (define it once under 'steps')",
    )


def test_it_reports_a_library_key_set_in_a_pathway():
    text = edit(MINI, "        condition:", "        actors: [admin]\n        condition:")
    assert_issue(
        only_issue(text),
        locate(text, "actors: [admin]\n        condition"),
        "'actors' cannot be set here: step 'second' comes from the step library (line 18), "
        "which defines it once for every pathway; a pathway may set only: number, title, "
        "guidance, condition, deadline, may_not_apply",
    )


# References ------------------------------------------------------------------------


def test_it_reports_an_unknown_role():
    text = edit(MINI, "actors: [police]", "actors: [polce]")
    assert_issue(
        only_issue(text), locate(text, "polce"), "unknown role 'polce' (did you mean 'police'?)"
    )


def test_it_lists_the_roles_when_an_unknown_role_is_not_close_to_any():
    text = edit(MINI, "actors: [police]", "actors: [janitor]")
    assert_issue(
        only_issue(text),
        locate(text, "janitor"),
        "unknown role 'janitor'; roles are: admin, police",
    )


def test_it_reports_an_unknown_fact_in_a_condition():
    text = edit(MINI, "{fact: danger, is: true}", "{fact: dangr, is: true}")
    assert_issue(
        only_issue(text), locate(text, "dangr"), "unknown fact 'dangr' (did you mean 'danger'?)"
    )


def test_it_reports_an_unknown_fact_nested_in_all_any_not():
    text = edit(
        MINI,
        "{fact: danger, is: true}",
        "{all: [{fact: danger}, {not: {any: [{fact: danger, is: false}, {fact: risk}]}}]}",
    )
    assert_issue(only_issue(text), locate(text, "risk"), "unknown fact 'risk'; facts are: danger")


def test_it_reports_a_malformed_condition():
    text = edit(MINI, "{fact: danger, is: true}", "{fact: danger, any: []}")
    assert_issue(
        only_issue(text),
        locate(text, "{fact: danger, any"),
        "a condition needs exactly one of: fact, all, any, not (found fact, any)",
    )


def test_it_reports_an_unknown_step_in_depends_on():
    text = edit(MINI, "depends_on: [first]", "depends_on: [frist]")
    assert_issue(
        only_issue(text), locate(text, "frist"), "unknown step 'frist' (did you mean 'first'?)"
    )


def test_it_reports_an_unknown_step_in_a_deadline_anchor():
    text = edit(MINI, "from: case_opened_at", "from: step:nothing")
    assert_issue(only_issue(text), locate(text, "step:nothing"), "unknown step 'nothing'")


def test_it_reports_an_unknown_deadline_anchor():
    text = edit(MINI, "from: case_opened_at", "from: case_opened")
    assert_issue(
        only_issue(text),
        locate(text, "case_opened,"),
        "unknown deadline anchor 'case_opened' (did you mean 'case_opened_at'?); use one of: "
        "suspicion_formed_at, case_opened_at, step:<step id>",
    )


def test_it_reports_an_unknown_step_in_a_pathway():
    text = edit(MINI, "steps: [first, second, third]", "steps: [first, second, thrid]")
    assert_issue(
        only_issue(text), locate(text, "thrid"), "unknown step 'thrid' (did you mean 'third'?)"
    )


def test_it_reports_an_unknown_step_in_carries():
    text = edit(MINI, "carries: [first, second]", "carries: [first, second, fourth]")
    assert_issue(only_issue(text), locate(text, "fourth"), "unknown step 'fourth'")


def test_it_reports_a_dependency_missing_from_the_pathway():
    text = edit(MINI, "steps: [first, second, third]", "steps: [second, third]")
    text = edit(text, "carries: [first, second]", "carries: [second]")
    assert_issue(
        only_issue(text),
        locate(text, "second, third"),
        "step 'second' depends on 'first', which pathway 'two' does not include",
    )


def test_it_reports_a_deadline_counted_from_the_step_itself():
    text = edit(MINI, "from: case_opened_at", "from: step:first")
    assert_issue(
        only_issue(text),
        locate(text, "step:first"),
        "a step's deadline cannot count from the step itself",
    )


# Durations, cycles, fields, numbering ----------------------------------------------


def test_it_reports_a_bad_iso_8601_duration():
    text = edit(MINI, "within: P1D", "within: P1X")
    assert_issue(
        only_issue(text),
        locate(text, "P1X"),
        "'P1X' is not an ISO 8601 duration (examples: PT36H, P1D, P2W, P1DT12H)",
    )


def test_it_reports_a_zero_duration():
    text = edit(MINI, "within: P1D", "within: PT0S")
    assert_issue(only_issue(text), locate(text, "PT0S"), "a deadline must be longer than zero")


def test_it_names_a_depends_on_cycle():
    text = edit(
        MINI,
        "    actors: [admin]\n    deadline",
        "    actors: [admin]\n    depends_on: [second]\n    deadline",
    )
    assert_issue(
        only_issue(text),
        locate(text, "second]"),
        "depends_on cycle: first -> second -> first",
    )


def test_it_names_a_step_that_depends_on_itself():
    text = edit(MINI, "depends_on: [first]", "depends_on: [first, second]")
    assert_issue(only_issue(text), locate(text, "second]"), "depends_on cycle: second -> second")


def test_it_reports_a_choice_field_without_choices():
    text = edit(MINI, "required: true, choices: [a, b]}", "required: true}")
    assert_issue(
        only_issue(text),
        locate(text, "{name: agency"),
        "a choice field needs a non-empty 'choices' list",
    )


def test_it_reports_a_choice_field_with_an_empty_choices_list():
    text = edit(MINI, "choices: [a, b]}", "choices: []}")
    assert_issue(
        only_issue(text), locate(text, "[]}"), "a choice field needs a non-empty 'choices' list"
    )


def test_it_reports_an_unknown_field_type():
    text = edit(MINI, "type: choice", "type: chioce")
    issue = only_issue(text)
    assert (issue.line, issue.column) == locate(text, "chioce")
    assert issue.message.startswith("unknown field type 'chioce' (did you mean 'choice'?)")


def test_it_reports_a_refused_value_that_is_also_a_choice():
    text = edit(
        MINI,
        "choices: [a, b]}",
        "choices: [a, b], refused: {b: Not b.}}",
    )
    assert_issue(
        only_issue(text),
        locate(text, "b: Not"),
        "'b' is both a choice and refused; a refused value must not be offered as a choice",
    )


def test_it_accepts_refused_values_that_are_not_choices():
    text = edit(MINI, "choices: [a, b]}", "choices: [a, b], refused: {c: Not c.}}")
    field = load_protocol_text(text, "t.yaml").step("one", "first").field("agency")
    assert field.refused == {"c": "Not c."}


def test_it_reports_step_numbers_out_of_order():
    text = edit(MINI, "      - id: second\n", "      - id: second\n        number: 3\n")
    assert_issue(
        only_issue(text),
        locate(text, "3\n"),
        "step number 3 is out of order: this is step 2 of pathway 'one' "
        "(steps are numbered 1, 2, 3 ... in order)",
    )


def test_it_accepts_step_numbers_that_match_their_place():
    text = edit(MINI, "      - id: second\n", "      - id: second\n        number: 2\n")
    assert load_protocol_text(text, "t.yaml").step("one", "second").code == "A2"


def test_it_reports_review_without_may_not_apply():
    text = edit(
        MINI,
        "    title: Third step\n",
        "    title: Third step\n    review_when_not_applicable: true\n",
    )
    issue = only_issue(text)
    assert (issue.line, issue.column) == locate(text, "true\n")
    assert issue.message.startswith("review_when_not_applicable needs may_not_apply: true")


# Escalations -----------------------------------------------------------------------


def test_it_reports_an_escalation_to_a_missing_pathway():
    text = edit(MINI, "    to: two", "    to: three")
    assert_issue(only_issue(text), locate(text, "three"), "unknown pathway 'three'")


def test_it_reports_an_escalation_from_a_missing_pathway():
    text = edit(MINI, "  - from: one", "  - from: zero")
    assert_issue(only_issue(text), locate(text, "zero"), "unknown pathway 'zero'")


def test_it_reports_carries_that_omit_a_shared_step():
    text = edit(MINI, "carries: [first, second]", "carries: [first]")
    assert_issue(
        only_issue(text),
        locate(text, "[first]", 2),
        "carries must include 'second': the step is in both pathways, and an escalation "
        "never drops work already done",
    )


def test_it_reports_a_carried_step_that_is_not_in_both_pathways():
    text = edit(MINI, "carries: [first, second]", "carries: [first, second, third]")
    assert_issue(
        only_issue(text),
        locate(text, "third]", 2),
        "'third' cannot be carried: pathway 'one' does not include it",
    )


def test_it_reports_an_escalation_to_the_same_pathway():
    text = edit(MINI, "    to: two", "    to: one")
    assert_issue(
        only_issue(text),
        locate(text, "one", text.count("one")),
        "an escalation must lead to a different pathway",
    )


def test_it_reports_a_duplicate_escalation():
    text = MINI + "  - from: one\n    to: two\n    carries: [first, second]\n"
    assert_issue(
        only_issue(text),
        locate(text, "from: one", 2),
        "duplicate escalation from 'one' to 'two' (first at line 38)",
    )


def test_it_reports_a_duplicate_pathway_code():
    text = edit(MINI, "    code: B", "    code: A")
    line, column = locate(text, "code: A", 2)
    assert_issue(
        only_issue(text),
        (line, column + len("code: ")),
        "duplicate pathway code 'A' (first at line 27)",
    )


def test_it_lets_a_pathway_override_title_guidance_condition_and_deadline():
    text = edit(
        MINI,
        "    steps: [first, second, third]",
        "    steps:\n"
        "      - id: first\n"
        "        title: First, in pathway two\n"
        "        guidance: Do it now.\n"
        "        deadline: null\n"
        "      - id: second\n"
        "        deadline: {from: 'step:first', within: PT2H}\n"
        "      - third",
    )
    protocol = load_protocol_text(text, "t.yaml")
    first_in_one, first_in_two = protocol.step("one", "first"), protocol.step("two", "first")
    assert (first_in_one.title, first_in_two.title) == ("First step", "First, in pathway two")
    assert (first_in_one.guidance, first_in_two.guidance) == ("", "Do it now.")
    assert first_in_one.deadline is not None and first_in_two.deadline is None
    assert protocol.step("two", "second").deadline.anchor == "step:first"  # type: ignore[union-attr]
    assert protocol.step("two", "second").condition is None
    assert protocol.step("one", "second").condition is not None


def test_it_lets_a_pathway_remove_a_library_condition():
    text = edit(
        MINI,
        "    actors: [admin]\n    deadline",
        "    actors: [admin]\n    condition: {fact: danger}\n    deadline",
    )
    text = edit(
        text,
        "steps: [first, second, third]",
        "steps: [{id: first, condition: null}, second, third]",
    )
    protocol = load_protocol_text(text, "t.yaml")
    assert protocol.step("one", "first").condition is not None
    assert protocol.step("two", "first").condition is None


# All at once -----------------------------------------------------------------------


def test_it_reports_every_error_at_once_sorted_by_position_and_loads_nothing():
    text = edit(SHIPPED_TEXT, "within: PT36H", "within: 36 hours")
    text = edit(
        text,
        "    actors: [school_police]\n    depends_on: [police_involved]\n    police_only: true\n    fields:\n      - name: le_reference",
        "    actors: [school_polce]\n    depends_on: [police_involved]\n    police_only: true\n    fields:\n      - name: le_reference",
    )
    text = edit(
        text,
        "condition: {fact: reliable_evidence, is: true}",
        "condtion: {fact: reliable_evidence, is: true}",
    )
    text = edit(
        text,
        "      - regular_contact                       # B7",
        "      - regular_contact                       # B7\n      - regular_contact",
    )
    with pytest.raises(ProtocolInvalid) as caught:
        load_protocol_text(text, "sdusd-csec.yaml")
    issues = caught.value.issues
    within_line, within_column = locate(text, "within: 36 hours")
    assert [(i.line, i.column) for i in issues] == sorted((i.line, i.column) for i in issues)
    assert [(i.line, i.column, i.message) for i in issues] == [
        (
            within_line,
            within_column + len("within: "),
            "'36 hours' is not an ISO 8601 duration (examples: PT36H, P1D, P2W, P1DT12H)",
        ),
        (
            *locate(text, "school_polce"),
            "unknown role 'school_polce' (did you mean 'school_police'?)",
        ),
        (*locate(text, "condtion"), "unknown key 'condtion' (did you mean 'condition'?)"),
        (
            *locate(text, "regular_contact", text.count("regular_contact")),
            "step 'regular_contact' appears twice in pathway 'suspected_victim' "
            f"(first at line {locate(text, 'regular_contact                       # B7')[0]})",
        ),
    ]
    # The exception's text is the full report, one line per issue.
    assert str(caught.value).splitlines() == [str(issue) for issue in issues]
    assert str(caught.value).startswith("sdusd-csec.yaml:")


# The format documentation ------------------------------------------------------------

FORMAT_DOC = Path(__file__).resolve().parents[4] / "docs" / "protocol-format.md"


@pytest.mark.skipif(not FORMAT_DOC.exists(), reason="runs from a source checkout only")
def test_it_loads_the_minimal_example_of_the_format_documentation():
    doc = FORMAT_DOC.read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    protocol = load_protocol_text(example, "protocol-format.md")
    assert protocol.id == "example-district"
    assert protocol.pathway("suspected_victim").step("cws_report").code == "B2"


# Partial progress, done_at, not_before, step roles, pathway may_not_apply, fact actors --

# MINI's first step with two datetime fields to name.
DATED = edit(
    MINI,
    "choices: [a, b]}\n",
    "choices: [a, b]}\n"
    "      - {name: called_at, label: When they were called, type: datetime}\n"
    "      - {name: sent_at, label: When it was sent, type: datetime}\n",
)


def with_first_step_keys(yaml_lines: str, text: str = DATED) -> str:
    """Add keys (already indented by four spaces) to MINI's first library step."""
    return edit(
        text, "    actors: [admin]\n    deadline", f"    actors: [admin]\n{yaml_lines}    deadline"
    )


def test_it_reads_progress_done_at_and_not_before():
    text = with_first_step_keys(
        "    progress: {title: Called, fields: [agency, called_at]}\n    done_at: sent_at\n"
    )
    text = edit(
        text,
        "label: When it was sent, type: datetime}",
        "label: When it was sent, type: datetime, not_before: [called_at, suspicion_formed_at]}",
    )
    step = load_protocol_text(text, "t.yaml").step("two", "first")
    assert step.progress == Progress("Called", ("agency", "called_at"))
    assert step.done_at_field == "sent_at"
    assert step.field("sent_at").not_before == ("called_at", "suspicion_formed_at")
    assert step.field("called_at").not_before == ()
    # Steps that declare none of it.
    other = load_protocol_text(text, "t.yaml").step("two", "third")
    assert (other.progress, other.done_at_field, other.role) == (None, None, None)


@pytest.mark.parametrize(
    ("keys", "needle", "message"),
    [
        pytest.param(
            "    progress: {title: Called, fields: [agncy]}\n",
            "agncy",
            "progress fields: step 'first' has no field 'agncy' (did you mean 'agency'?); "
            "its fields are: agency, called_at, sent_at",
            id="unknown-field",
        ),
        pytest.param(
            "    progress: {title: Called, fields: []}\n",
            "[]}",
            "progress fields: list at least one field of the step",
            id="no-fields",
        ),
        pytest.param(
            "    progress: {title: Called, fields: [agency, agency]}\n",
            "agency]}",
            "progress fields: 'agency' is listed twice",
            id="listed-twice",
        ),
        pytest.param(
            "    progress: {fields: [agency]}\n",
            "{fields: [agency]}",
            "progress: missing required key 'title'",
            id="no-title",
        ),
        pytest.param(
            "    progress: Called\n",
            "Called",
            "progress: expected a mapping, got the text 'Called'",
            id="not-a-mapping",
        ),
        pytest.param(
            "    done_at: sent\n",
            "sent\n",
            "done_at: step 'first' has no field 'sent' (did you mean 'sent_at'?); "
            "its fields are: agency, called_at, sent_at",
            id="done-at-unknown",
        ),
        pytest.param(
            "    done_at: agency\n",
            "agency\n",
            "done_at: field 'agency' is a choice field; done_at must name a datetime field "
            "(when the step was done)",
            id="done-at-not-datetime",
        ),
        pytest.param(
            "    role: placement\n",
            "placement\n",
            "unknown step role 'placement' (did you mean 'placement_review'?); "
            "step roles are: child_abuse_report, placement_review, police_involvement, "
            "parent_contact",
            id="unknown-role",
        ),
    ],
)
def test_it_reports_bad_progress_done_at_and_role(keys, needle, message):
    text = with_first_step_keys(keys)
    assert_issue(only_issue(text), locate(text, needle), message)


def test_it_reports_a_broken_field_once_not_again_where_progress_names_it():
    text = with_first_step_keys("    progress: {title: Called, fields: [called_at]}\n")
    text = edit(
        text, "label: When they were called, type: datetime}", "label: When, type: dattime}"
    )
    issue = only_issue(text)
    assert (issue.line, issue.column) == locate(text, "dattime")
    assert issue.message.startswith("unknown field type 'dattime' (did you mean 'datetime'?)")


def test_it_suggests_fields_for_a_misspelt_progress_key():
    text = with_first_step_keys("    progress: {title: Called, feilds: [agency]}\n")
    issues = issues_for(text)
    assert [(i.line, i.column, i.message) for i in issues] == [
        (*locate(text, "{title: Called"), "progress: missing required key 'fields'"),
        (*locate(text, "feilds"), "unknown key 'feilds' (did you mean 'fields'?)"),
    ]


@pytest.mark.parametrize(
    ("not_before", "needle", "message"),
    [
        pytest.param(
            "[caled_at]",
            "caled_at",
            "not_before: unknown field or case time 'caled_at' (did you mean 'called_at'?); "
            "name another datetime field of this step or one of: suspicion_formed_at, "
            "case_opened_at",
            id="unknown-name",
        ),
        pytest.param(
            "[suspicion_formed]",
            "suspicion_formed]",
            "not_before: unknown field or case time 'suspicion_formed' (did you mean "
            "'suspicion_formed_at'?); name another datetime field of this step or one of: "
            "suspicion_formed_at, case_opened_at",
            id="unknown-anchor",
        ),
        pytest.param(
            "[agency]",
            "agency]",
            "not_before: field 'agency' is a choice field; only datetime fields can be compared",
            id="not-a-datetime-field",
        ),
        pytest.param(
            "[sent_at]",
            "sent_at]",
            "not_before: field 'sent_at' cannot be compared with itself",
            id="itself",
        ),
        pytest.param(
            "[called_at, called_at]",
            "called_at]",
            "not_before: 'called_at' is listed twice",
            id="listed-twice",
        ),
        pytest.param(
            "called_at",
            "called_at}",
            "not_before: expected a list, got the text 'called_at'",
            id="not-a-list",
        ),
    ],
)
def test_it_reports_a_bad_not_before(not_before, needle, message):
    text = edit(
        DATED,
        "label: When it was sent, type: datetime}",
        f"label: When it was sent, type: datetime, not_before: {not_before}}}",
    )
    assert_issue(only_issue(text), locate(text, needle), message)


def test_it_reports_not_before_on_a_field_that_is_not_a_datetime():
    text = edit(DATED, "choices: [a, b]}", "choices: [a, b], not_before: [called_at]}")
    assert_issue(
        only_issue(text),
        locate(text, "not_before"),
        "'not_before' applies only to datetime fields",
    )


def test_it_gives_each_step_role_to_one_step_only():
    text = with_first_step_keys("    role: child_abuse_report\n", MINI)
    text = edit(
        text,
        "    title: Third step\n",
        "    title: Third step\n    role: child_abuse_report\n",
    )
    assert_issue(
        only_issue(text),
        locate(text, "child_abuse_report", 2),
        "role 'child_abuse_report' is already the role of step 'first' (line 12); "
        "a step role belongs to one step",
    )
    # One step may carry one role and another step the other.
    text = edit(
        text, "Third step\n    role: child_abuse_report", "Third step\n    role: placement_review"
    )
    protocol = load_protocol_text(text, "t.yaml")
    assert protocol.step_id_with_role(STEP_ROLE_CHILD_ABUSE_REPORT) == "first"
    assert protocol.step_id_with_role(STEP_ROLE_PLACEMENT_REVIEW) == "third"
    assert load_protocol_text(MINI, "t.yaml").step_id_with_role("placement_review") is None


def test_it_reports_a_role_progress_or_done_at_set_in_a_pathway_entry():
    text = edit(MINI, "        condition:", "        role: placement_review\n        condition:")
    issue = only_issue(text)
    assert (issue.line, issue.column) == locate(text, "role: placement_review")
    assert issue.message.startswith("'role' cannot be set here: step 'second' comes from the step")


def test_it_lets_a_pathway_say_whether_a_step_may_be_marked_not_applicable():
    text = edit(
        MINI,
        "    title: Third step\n",
        "    title: Third step\n    may_not_apply: true\n    review_when_not_applicable: true\n",
    )
    text = edit(
        text,
        "steps: [first, second, third]",
        "steps: [{id: first, may_not_apply: true}, second, {id: third, may_not_apply: false}]",
    )
    protocol = load_protocol_text(text, "t.yaml")
    assert protocol.step("one", "first").may_not_apply is False  # the library's default
    assert protocol.step("two", "first").may_not_apply is True
    third = protocol.step("two", "third")
    # Where the step may not be marked "does not apply", there is nothing to review.
    assert (third.may_not_apply, third.review_when_not_applicable) == (False, False)


@pytest.mark.parametrize(
    ("entry", "needle", "message"),
    [
        pytest.param(
            "{id: first, may_not_apply: sometimes}",
            "sometimes",
            "may_not_apply: expected true or false, got the text 'sometimes'",
            id="not-a-bool",
        ),
        pytest.param(
            "{id: first, may_not_aply: false}",
            "may_not_aply",
            "unknown key 'may_not_aply' (did you mean 'may_not_apply'?)",
            id="misspelt",
        ),
    ],
)
def test_it_reports_a_bad_may_not_apply_in_a_pathway_entry(entry, needle, message):
    text = edit(MINI, "steps: [first, second, third]", f"steps: [{entry}, second, third]")
    assert_issue(only_issue(text), locate(text, needle), message)


def test_it_reads_who_answers_a_fact():
    text = edit(
        MINI,
        "    question: Is there danger?\n",
        "    question: Is there danger?\n    actors: [police]\n",
    )
    protocol = load_protocol_text(text, "t.yaml")
    assert protocol.fact("danger").actor_roles == ("police",)
    assert load_protocol_text(MINI, "t.yaml").fact("danger").actor_roles == ()


@pytest.mark.parametrize(
    ("actors", "needle", "message"),
    [
        pytest.param(
            "[polce]", "polce", "unknown role 'polce' (did you mean 'police'?)", id="unknown"
        ),
        pytest.param(
            "[]",
            "[]",
            "actors: list at least one role, or leave the key out to let the application "
            "decide who answers",
            id="empty",
        ),
        pytest.param(
            "[police, police]",
            "police]\nsteps",
            "actors: 'police' is listed twice",
            id="listed-twice",
        ),
    ],
)
def test_it_reports_bad_fact_actors(actors, needle, message):
    text = edit(
        MINI,
        "    question: Is there danger?\n",
        f"    question: Is there danger?\n    actors: {actors}\n",
    )
    assert_issue(only_issue(text), locate(text, needle), message)


def test_it_reports_an_inline_step_reused_with_a_different_role():
    text = edit(
        INLINE, "actors: [admin, police]", "actors: [admin]\n        role: placement_review"
    )
    assert_issue(
        only_issue(text),
        locate(text, "shared", 2),
        "step 'shared' differs from its definition in pathway 'one' (line 8) in: role; "
        "the same step id must be the same step in every pathway (define it once under 'steps')",
    )


# Fields required when another field has a value ----------------------------------------

CONDITIONAL = edit(
    DATED,
    "      - {name: sent_at, label: When it was sent, type: datetime}\n",
    "      - {name: sent_at, label: When it was sent, type: datetime}\n"
    "      - {name: urgent, label: Urgent, type: yes_no}\n"
    "      - {name: note, label: Note, type: text}\n",
)


def with_note_keys(keys: str) -> str:
    """Give the ``note`` field of CONDITIONAL's first step more keys (flow style)."""
    return edit(CONDITIONAL, "label: Note, type: text}", f"label: Note, type: text, {keys}}}")


def test_it_reads_required_when_on_a_choice_or_a_yes_no_field():
    text = with_note_keys("required_when: {field: agency, is: b}")
    note = load_protocol_text(text, "t.yaml").step("two", "first").field("note")
    assert (note.required, note.required_when) == (False, DetailIs("agency", "b"))
    text = with_note_keys("required_when: {field: urgent, is: true}")
    note = load_protocol_text(text, "t.yaml").step("two", "first").field("note")
    assert note.required_when == DetailIs("urgent", True)
    # Fields that declare none.
    assert (
        load_protocol_text(text, "t.yaml").step("two", "first").field("agency").required_when
        is None
    )


@pytest.mark.parametrize(
    ("keys", "needle", "message"),
    [
        pytest.param(
            "required_when: {field: agncy, is: a}",
            "agncy",
            "required_when field: step 'first' has no field 'agncy' (did you mean 'agency'?); "
            "its fields are: agency, called_at, sent_at, urgent, note",
            id="unknown-field",
        ),
        pytest.param(
            "required_when: {field: called_at, is: a}",
            "called_at, is",
            "required_when field: field 'called_at' is a datetime field; name a choice or "
            "yes_no field of the step",
            id="not-a-choice-or-yes-no",
        ),
        pytest.param(
            "required_when: {field: agency, is: c}",
            "c}",
            "is: 'c' is not a choice of field 'agency'; its choices are: a, b",
            id="not-a-choice",
        ),
        pytest.param(
            "required_when: {field: urgent, is: maybe}",
            "maybe",
            "is: expected true or false, got the text 'maybe'",
            id="not-a-yes-or-no",
        ),
        pytest.param(
            "required_when: {field: agency}",
            "{field: agency}",
            "required_when: missing required key 'is'",
            id="no-value",
        ),
        pytest.param(
            "required_when: agency",
            "agency}",
            "required_when: expected a mapping, got the text 'agency'",
            id="not-a-mapping",
        ),
        pytest.param(
            "required: true, required_when: {field: agency, is: a}",
            "required_when",
            "'required_when' is for a field that is not always required; this field has "
            "required: true",
            id="always-required",
        ),
    ],
)
def test_it_reports_a_bad_required_when(keys, needle, message):
    text = with_note_keys(keys)
    assert_issue(only_issue(text), locate(text, needle), message)


def test_it_reports_a_field_required_when_it_has_a_value_itself():
    text = edit(
        CONDITIONAL,
        "label: Urgent, type: yes_no}",
        "label: Urgent, type: yes_no, required_when: {field: urgent, is: true}}",
    )
    assert_issue(
        only_issue(text),
        locate(text, "urgent, is"),
        "required_when field: 'urgent' is the field itself",
    )


# Person fields and form fields ------------------------------------------------------


def test_it_reads_a_person_field():
    text = with_note_keys("form_field: E.narrative")
    text = edit(text, "type: yes_no}", "type: person}")
    step = load_protocol_text(text, "t.yaml").step("two", "first")
    assert step.field("urgent").type == "person"
    assert step.field("note").form_field == "E.narrative"
    assert step.field("agency").form_field is None


@pytest.mark.parametrize(
    "value", ["F.narrative", "b.narrative", "B.Narrative", "B.", "B.official-phone", "narrative"]
)
def test_it_reports_a_form_field_not_shaped_as_a_section_and_a_name(value):
    text = with_note_keys(f"form_field: {value}")
    assert_issue(
        only_issue(text),
        locate(text, value + "}"),
        f"form_field {value!r} must name a field of the SS 8572 as a section letter A to E, "
        "a dot and a lower-case name with underscores (e.g. B.official_phone)",
    )


def test_it_reports_a_form_field_that_is_not_text():
    text = with_note_keys("form_field: 8572")
    assert_issue(
        only_issue(text),
        locate(text, "8572}"),
        "form_field: expected text, got the number '8572' (put it in quotes to make it text)",
    )


def test_it_fills_each_form_field_from_one_field_only():
    text = with_note_keys("form_field: E.narrative")
    text = edit(
        text,
        "    title: Third step\n",
        "    title: Third step\n"
        "    fields:\n"
        "      - {name: story, label: Story, type: text, form_field: E.narrative}\n",
    )
    assert_issue(
        only_issue(text),
        locate(text, "E.narrative", 2),
        "form field 'E.narrative' is already filled by field 'note' of step 'first' "
        f"(line {locate(text, 'E.narrative')[0]}); each field of the form is filled from one "
        "field",
    )
    # Two fields of one step are no better.
    text = edit(
        with_note_keys("form_field: E.narrative"),
        "type: yes_no}",
        "type: yes_no, form_field: E.narrative}",
    )
    issue = only_issue(text)
    assert (issue.line, issue.column) == locate(text, "E.narrative", 2)
    assert issue.message.startswith(
        "form field 'E.narrative' is already filled by field 'urgent' of step 'first'"
    )

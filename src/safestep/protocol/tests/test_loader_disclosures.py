"""The loader: choice labels, the new step roles, and a step's ``discloses`` declaration.

Like ``test_loader``, each test breaks a small valid definition in one place and checks
the message and its exact position.
"""

from __future__ import annotations

import pytest

from safestep.protocol import (
    STEP_ROLE_PARENT_CONTACT,
    STEP_ROLE_POLICE_INVOLVEMENT,
    DetailIs,
    RecipientValue,
    load_protocol_text,
)
from safestep.protocol.tests.loading import assert_issue, issues_for, only_issue
from safestep.protocol.tests.support import MINI, edit, locate

# Choice labels ------------------------------------------------------------------------

LABELLED = edit(
    MINI,
    "choices: [a, b]}\n",
    "choices: [a, b]}\n"
    "      - name: method\n"
    "        label: How\n"
    "        type: choice\n"
    "        choices:\n"
    "          - {value: phone, label: Phone, report_label: by phone}\n"
    "          - {value: in_person, label: In person}\n"
    "          - letter\n",
)


def test_it_reads_labels_given_to_choices_and_keeps_the_plain_list_valid():
    step = load_protocol_text(LABELLED, "t.yaml").step("two", "first")
    method = step.field("method")
    assert method.choices == ("phone", "in_person", "letter")
    assert dict(method.choice_labels) == {"phone": "Phone", "in_person": "In person"}
    assert dict(method.report_labels) == {"phone": "by phone"}
    assert (method.choice_label("phone"), method.report_label("phone")) == ("Phone", "by phone")
    assert (method.choice_label("letter"), method.report_label("in_person")) == (None, None)
    # The plain list form: values only.
    assert step.field("agency").choices == ("a", "b")
    assert dict(step.field("agency").choice_labels) == {}


def test_it_labels_multi_choice_values_too():
    text = edit(
        LABELLED,
        "        type: choice\n        choices:\n",
        "        type: multi_choice\n        choices:\n",
    )
    method = load_protocol_text(text, "t.yaml").step("two", "first").field("method")
    assert method.type == "multi_choice"
    assert method.choice_label("in_person") == "In person"


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        pytest.param(
            "{value: in_person, label: In person}",
            "{value: in_person}",
            "{value: in_person}",
            "choice: missing required key 'label'",
            id="label-missing",
        ),
        pytest.param(
            "{value: in_person, label: In person}",
            "{value: in_person, label: In person, lable: In person}",
            "lable",
            "unknown key 'lable' (did you mean 'label'?)",
            id="unknown-key",
        ),
        pytest.param(
            "{value: in_person, label: In person}",
            "{value: phone, label: Again}",
            "phone, label: Again",
            "choice 'phone' is listed twice",
            id="duplicate-value",
        ),
        pytest.param(
            "{value: in_person, label: In person}",
            "{value: In Person, label: In person}",
            "In Person",
            "choice 'In Person' must be lower-case letters, digits and underscores, "
            "starting with a letter",
            id="value-not-an-id",
        ),
        pytest.param(
            "{value: in_person, label: In person}",
            "{value: in_person, label: 3}",
            "3}",
            "choice label: expected text, got the number '3' (put it in quotes to make it text)",
            id="label-not-text",
        ),
        pytest.param(
            "report_label: by phone}",
            "report_label: ''}",
            "''}",
            "report_label: must not be empty",
            id="report-label-empty",
        ),
        pytest.param(
            "        type: choice\n        choices:\n",
            "        type: list\n        choices:\n",
            "{value: phone",
            "a list field's choices are suggestions, each written as the text itself; labels "
            "are for choice and multi_choice fields",
            id="labels-on-a-list",
        ),
    ],
)
def test_it_reports_a_bad_labelled_choice(old, new, needle, message):
    text = edit(LABELLED, old, new)
    issues = issues_for(text)
    if needle == "{value: phone":  # a list field: each labelled choice is refused
        assert [i.message for i in issues] == [message, message]
    else:
        assert len(issues) == 1, "\n".join(map(str, issues))
    assert_issue(issues[0], locate(text, needle), message)


# Step roles ---------------------------------------------------------------------------


def test_it_knows_the_police_involvement_and_parent_contact_roles():
    text = edit(
        MINI,
        "    actors: [admin]\n    deadline",
        "    actors: [admin]\n    role: police_involvement\n    deadline",
    )
    text = edit(
        text, "    title: Third step\n", "    title: Third step\n    role: parent_contact\n"
    )
    protocol = load_protocol_text(text, "t.yaml")
    assert protocol.step_id_with_role(STEP_ROLE_POLICE_INVOLVEMENT) == "first"
    assert protocol.step_id_with_role(STEP_ROLE_PARENT_CONTACT) == "third"
    assert protocol.step_with_role(STEP_ROLE_PARENT_CONTACT) == protocol.step("two", "third")
    assert protocol.pathways_with_role(STEP_ROLE_PARENT_CONTACT) == ("two",)
    assert protocol.pathways_with_role(STEP_ROLE_POLICE_INVOLVEMENT) == ("one", "two")


def test_it_gives_the_parent_contact_role_to_one_step_only():
    text = edit(
        MINI,
        "    actors: [admin]\n    deadline",
        "    actors: [admin]\n    role: parent_contact\n    deadline",
    )
    text = edit(
        text, "    title: Third step\n", "    title: Third step\n    role: parent_contact\n"
    )
    assert_issue(
        only_issue(text),
        locate(text, "parent_contact", 2),
        "role 'parent_contact' is already the role of step 'first' (line 12); "
        "a step role belongs to one step",
    )


# Disclosures --------------------------------------------------------------------------

# MINI's first step with the fields a disclosure can name, and a declaration that uses
# every key. The tests break it in one place.
FIELDS = (
    "choices: [a, b]}\n"
    "      - {name: agency_name, label: Name of the agency, type: string}\n"
    "      - {name: threat, label: The threat, type: text}\n"
    "      - {name: referred, label: Was it referred, type: yes_no}\n"
    "      - {name: person, label: Person, type: string}\n"
    "      - {name: called_at, label: When, type: datetime}\n"
)
DISCLOSES = (
    "    discloses:\n"
    "      basis: ferpa_99_36\n"
    "      categories: [identity, suspected exploitation]\n"
    "      threat_field: threat\n"
    "      when: {field: referred, is: true}\n"
    "      recipient:\n"
    "        field: agency\n"
    "        named_by: agency_name\n"
    "        inside: [a]\n"
    "        values:\n"
    "          b: {type: law_enforcement, name: The B agency}\n"
)
DISCLOSING = edit(
    edit(MINI, "choices: [a, b]}\n", FIELDS),
    "    actors: [admin]\n    deadline",
    f"    actors: [admin]\n{DISCLOSES}    deadline",
)


def disclosing(old: str, new: str) -> str:
    return edit(DISCLOSING, old, new)


def test_it_reads_a_disclosure_declaration():
    protocol = load_protocol_text(DISCLOSING, "t.yaml")
    declared = protocol.step("two", "first").discloses
    assert declared is not None
    assert declared.basis == "ferpa_99_36"
    assert declared.categories == ("identity", "suspected exploitation")
    assert declared.threat_field == "threat"
    assert declared.when == DetailIs("referred", True)
    recipient = declared.recipient
    assert (recipient.field_name, recipient.type) == ("agency", None)
    assert (recipient.named_by, recipient.inside) == ("agency_name", ("a",))
    assert dict(recipient.values) == {"b": RecipientValue("law_enforcement", "The B agency")}
    # The same declaration in every pathway; steps without one have none.
    assert protocol.step("one", "first").discloses == declared
    assert protocol.step("two", "third").discloses is None


def test_it_names_an_unnamed_choice_recipient_by_its_label_else_its_value():
    text = disclosing("b: {type: law_enforcement, name: The B agency}", "b: {type: other}")
    values = load_protocol_text(text, "t.yaml").step("two", "first").discloses
    assert values is not None and values.recipient.values["b"].name == "b"
    text = edit(text, "choices: [a, b]}", "choices: [a, {value: b, label: Bee County}]}")
    values = load_protocol_text(text, "t.yaml").step("two", "first").discloses
    assert values is not None and values.recipient.values["b"].name == "Bee County"


def test_it_reads_a_recipient_named_by_a_text_field():
    text = disclosing(
        "      basis: ferpa_99_36\n",
        "      basis: parent_of_minor\n",
    )
    text = edit(text, "      threat_field: threat\n", "")
    text = edit(
        text,
        "        field: agency\n        named_by: agency_name\n        inside: [a]\n"
        "        values:\n          b: {type: law_enforcement, name: The B agency}\n",
        "        field: person\n        type: parent\n        if_blank: a parent\n"
        "        qualifier: agency_name\n",
    )
    declared = load_protocol_text(text, "t.yaml").step("two", "first").discloses
    assert declared is not None
    recipient = declared.recipient
    assert (recipient.field_name, recipient.type, recipient.if_blank) == (
        "person",
        "parent",
        "a parent",
    )
    assert (recipient.qualifier, dict(recipient.values)) == ("agency_name", {})


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        pytest.param(
            "basis: ferpa_99_36",
            "basis: ferpa_99_63",
            "ferpa_99_63",
            "unknown legal basis 'ferpa_99_63' (did you mean 'ferpa_99_36'?); legal bases are: "
            "canra_report, ferpa_99_36, consent, court_order, law_enforcement_unit, "
            "parent_of_minor, school_transfer",
            id="unknown-basis",
        ),
        pytest.param(
            "categories: [identity, suspected exploitation]",
            "categories: []",
            "[]",
            "categories: list at least one kind of information released",
            id="no-categories",
        ),
        pytest.param(
            "categories: [identity, suspected exploitation]",
            "categories: [identity, identity]",
            "identity]",
            "categories: 'identity' is listed twice",
            id="category-twice",
        ),
        pytest.param(
            "      threat_field: threat\n",
            "",
            "basis: ferpa_99_36",
            "discloses: basis ferpa_99_36 needs 'threat_field': the text field of the step where "
            "the threat to the student's health or safety is recorded (34 CFR 99.32(a)(5))",
            id="threat-field-missing",
        ),
        pytest.param(
            "threat_field: threat",
            "threat_field: called_at",
            "called_at\n",
            "threat_field: field 'called_at' is a datetime field; name a string or text field "
            "of the step",
            id="threat-field-not-text",
        ),
        pytest.param(
            "basis: ferpa_99_36",
            "basis: consent",
            "threat_field",
            "'threat_field' applies only to basis ferpa_99_36, whose disclosures record the "
            "threat they answer",
            id="threat-field-other-basis",
        ),
        pytest.param(
            "        field: agency\n",
            "        field: agncy\n",
            "agncy",
            "recipient field: step 'first' has no field 'agncy' (did you mean 'agency'?); its "
            "fields are: agency, agency_name, threat, referred, person, called_at",
            id="recipient-field-unknown",
        ),
        pytest.param(
            "        field: agency\n        named_by: agency_name\n        inside: [a]\n"
            "        values:\n          b: {type: law_enforcement, name: The B agency}\n",
            "        field: called_at\n        type: other\n",
            "called_at\n        type",
            "recipient field: field 'called_at' is a datetime field; name a choice, string, "
            "text, list or school field of the step",
            id="recipient-field-wrong-type",
        ),
        pytest.param(
            "b: {type: law_enforcement, name: The B agency}",
            "b: {type: police, name: The B agency}",
            "police, name",
            "unknown recipient type 'police'; recipient types are: child_welfare, "
            "law_enforcement, parent, school, service_provider, other",
            id="unknown-recipient-type",
        ),
        pytest.param(
            "b: {type: law_enforcement, name: The B agency}",
            "b: {name: The B agency}",
            "{name: The B agency}",
            "recipient of 'b': missing required key 'type'",
            id="recipient-value-without-type",
        ),
        pytest.param(
            "          b: {type: law_enforcement, name: The B agency}\n",
            "          b: {type: law_enforcement, name: The B agency}\n"
            "          c: {type: law_enforcement}\n",
            "c: {type",
            "values: 'c' is not a choice of field 'agency'; its choices are: a, b",
            id="values-not-a-choice",
        ),
        pytest.param(
            "        inside: [a]\n",
            "",
            "b: {type: law_enforcement",
            "values: choice 'a' of field 'agency' needs a recipient here, or a place under "
            "'inside' if nothing leaves the district",
            id="choice-not-covered",
        ),
        pytest.param(
            "inside: [a]",
            "inside: [a, b]",
            "b]",
            "inside: 'b' also has a recipient under 'values'; a value either stays inside the "
            "district or names who received the information",
            id="inside-and-values",
        ),
        pytest.param(
            "inside: [a]",
            "inside: [a, z]",
            "z]",
            "inside: 'z' is not a choice of field 'agency'; its choices are: a, b",
            id="inside-not-a-choice",
        ),
        pytest.param(
            "        field: agency\n",
            "        field: agency\n        type: law_enforcement\n",
            "type: law_enforcement\n",
            "'type' does not apply to a choice field: a choice field gives each value's recipient "
            "under 'values'",
            id="type-on-a-choice",
        ),
        pytest.param(
            "        inside: [a]\n        values:\n"
            "          b: {type: law_enforcement, name: The B agency}\n",
            "",
            "field: agency",
            "recipient: missing required key 'values' (a choice field's recipient of each value)",
            id="choice-without-values",
        ),
        pytest.param(
            "        field: agency\n        named_by: agency_name\n        inside: [a]\n"
            "        values:\n          b: {type: law_enforcement, name: The B agency}\n",
            "        field: person\n        type: parent\n        inside: [a]\n",
            "inside",
            "'inside' does not apply to a string field: 'values' and 'inside' are for a choice "
            "field; give the recipient's 'type'",
            id="values-on-a-text-field",
        ),
        pytest.param(
            "named_by: agency_name",
            "named_by: agency",
            "agency\n        inside",
            "named_by: field 'agency' is a choice field; name a string or text field of the step",
            id="named-by-not-text",
        ),
        pytest.param(
            "        field: agency\n        named_by: agency_name\n        inside: [a]\n"
            "        values:\n          b: {type: law_enforcement, name: The B agency}\n",
            "        field: person\n        type: parent\n        qualifier: person\n",
            "person\n    deadline",
            "qualifier: 'person' is the recipient field itself",
            id="qualifier-is-the-field",
        ),
        pytest.param(
            "when: {field: referred, is: true}",
            "when: {field: threat, is: true}",
            "threat, is",
            "when field: field 'threat' is a text field; name a choice or yes_no field of the step",
            id="when-on-text",
        ),
        pytest.param(
            "when: {field: referred, is: true}",
            "when: {field: referred, is: yes please}",
            "yes please",
            "is: expected true or false, got the text 'yes please'",
            id="when-yes-no-not-boolean",
        ),
        pytest.param(
            "when: {field: referred, is: true}",
            "when: {field: agency, is: c}",
            "c}",
            "is: 'c' is not a choice of field 'agency'; its choices are: a, b",
            id="when-not-a-choice",
        ),
        pytest.param(
            "when: {field: referred, is: true}",
            "when: {field: referred}",
            "{field: referred}",
            "when: missing required key 'is'",
            id="when-without-is",
        ),
        pytest.param(
            "      basis: ferpa_99_36\n",
            "      basis: ferpa_99_36\n      recipients: {}\n",
            "recipients",
            "unknown key 'recipients' (did you mean 'recipient'?)",
            id="unknown-key",
        ),
    ],
)
def test_it_reports_a_bad_disclosure_declaration(old, new, needle, message):
    text = disclosing(old, new)
    assert_issue(only_issue(text), locate(text, needle), message)


def test_it_reports_a_missing_recipient_at_the_declaration():
    text = disclosing(
        "      recipient:\n        field: agency\n        named_by: agency_name\n"
        "        inside: [a]\n        values:\n"
        "          b: {type: law_enforcement, name: The B agency}\n",
        "",
    )
    assert_issue(
        only_issue(text),
        locate(text, "basis: ferpa"),
        "discloses: missing required key 'recipient'",
    )


def test_it_refuses_a_disclosure_set_by_a_pathway_on_a_library_step():
    text = edit(
        DISCLOSING,
        "      - first\n      - id: second\n",
        "      - id: first\n        discloses: {}\n      - id: second\n",
    )
    issue = only_issue(text)
    assert (issue.line, issue.column) == locate(text, "discloses: {}")
    assert issue.message.startswith(
        "'discloses' cannot be set here: step 'first' comes from the step library"
    )


def test_it_checks_a_disclosure_against_the_step_fields_only_when_they_all_read():
    # One broken field is reported once, not again through the declaration's names.
    text = disclosing("{name: threat, label: The threat, type: text}", "{name: threat, type: text}")
    assert [issue.message for issue in issues_for(text)] == ["field: missing required key 'label'"]

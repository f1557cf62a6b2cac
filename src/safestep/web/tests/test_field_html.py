"""Form controls drawn in Python: what a screen reader and a hostile value meet."""

from __future__ import annotations

from safestep.web.field_html import field_html
from safestep.web.forms import FormField, Option


def test_it_ties_help_and_errors_to_the_control_for_screen_readers():
    drawn = field_html(
        FormField(
            id="done-7-agency",
            name="agency",
            label="Agency",
            widget="input",
            required=True,
            help="Who took the call",
            errors=["Say which agency."],
        )
    )
    assert '<div class="field has-error"><label for="done-7-agency">Agency' in drawn
    assert '<span class="req">(required)</span>' in drawn
    assert '<p class="help" id="done-7-agency-help">Who took the call</p>' in drawn
    assert '<p class="error" id="done-7-agency-error">Say which agency.</p>' in drawn
    assert 'aria-describedby="done-7-agency-help done-7-agency-error"' in drawn
    assert 'aria-invalid="true"' in drawn and 'aria-required="true"' in drawn


def test_it_escapes_every_value_it_draws():
    hostile = '"><script>alert(1)</script>'
    drawn = field_html(
        FormField(
            id="f",
            name="summary",
            label=hostile,
            widget="select",
            value=hostile,
            options=[Option(hostile, hostile, checked=True)],
        )
    )
    assert "<script>" not in drawn
    assert "&lt;script&gt;" in drawn and 'value="&quot;&gt;&lt;script&gt;' in drawn
    assert "selected" in drawn and "Choose…" in drawn


def test_it_draws_a_group_as_a_fieldset_whose_first_choice_carries_the_id():
    drawn = field_html(
        FormField(
            id="na-3-who",
            name="who",
            label="Who was told",
            widget="list",
            options=[Option("parent", "Parent"), Option("guardian", "Guardian", checked=True)],
            other="Aunt",
        )
    )
    assert drawn.startswith('<fieldset class="field" id="na-3-who-group">')
    assert "<legend>Who was told</legend>" in drawn
    assert 'value="parent" id="na-3-who">' in drawn
    assert 'value="guardian" checked>' in drawn
    assert '<textarea id="na-3-who-other" name="who-other" rows="2">Aunt</textarea>' in drawn


def test_it_draws_a_checkbox_checked_when_its_option_is():
    drawn = field_html(
        FormField(
            id="c",
            name="agree",
            label="Parents told",
            widget="checkbox",
            options=[Option("yes", "Parents told", checked=True)],
        )
    )
    assert 'type="checkbox" id="c" name="agree" value="yes" checked>' in drawn

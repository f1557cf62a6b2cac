"""Words in other languages: ``title: {en: ..., es: ...}`` wherever people read a text.

English stays the canonical text (what ``.title`` holds, what the SS 8572, the API and
the audit trail use); the translations are kept beside it and picked with
``in_language``, falling back to English.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from safestep.protocol import (
    LANGUAGES,
    Protocol,
    Step,
    choice_label_in_language,
    in_language,
    load_protocol_text,
)
from safestep.protocol.tests.loading import assert_issue, only_issue
from safestep.protocol.tests.support import (
    MINI,
    SHIPPED_TEXT,
    edit,
    locate,
    shipped_protocol,
)

TRANSLATED = (
    MINI.replace(
        "  title: Test protocol",
        "  title: {en: Test protocol, es: Protocolo de prueba}",
    )
    .replace(
        "    question: Is there danger?",
        '    question: {en: "Is there danger?", es: "¿Hay peligro?"}\n'
        "    help: {en: Think of the student., es: Piense en el estudiante.}",
    )
    .replace(
        "    title: First step\n",
        "    title:\n      en: First step\n      es: Primer paso\n"
        "    guidance: {en: Do it now., es: Hágalo ahora.}\n",
    )
    .replace(
        "      - {name: agency, label: Agency, type: choice, required: true, choices: [a, b]}",
        "      - name: agency\n"
        "        label: {en: Agency, es: Agencia}\n"
        "        help: {en: Who was called., es: A quién se llamó.}\n"
        "        type: choice\n"
        "        required: true\n"
        "        choices:\n"
        "          - {value: a, label: {en: Agency A, es: Agencia A}}\n"
        "          - {value: b, label: Agency B}\n",
    )
    .replace(
        "    title: Pathway one\n",
        "    title: {en: Pathway one, es: Vía uno}\n"
        "    description: {en: The first., es: La primera.}\n",
    )
)


def test_it_keeps_english_as_the_text_and_spanish_beside_it():
    protocol = load_protocol_text(TRANSLATED, "test.yaml")
    step = protocol.step("one", "first")
    assert step.title == "First step"
    assert step.guidance == "Do it now."
    assert in_language(step, "title", "es") == "Primer paso"
    assert in_language(step, "guidance", "es") == "Hágalo ahora."
    assert protocol.title == "Test protocol"
    assert in_language(protocol, "title", "es") == "Protocolo de prueba"
    pathway = protocol.pathway("one")
    assert (pathway.title, in_language(pathway, "title", "es")) == ("Pathway one", "Vía uno")
    assert in_language(pathway, "description", "es") == "La primera."
    fact = protocol.fact("danger")
    assert (fact.question, in_language(fact, "question", "es")) == (
        "Is there danger?",
        "¿Hay peligro?",
    )
    assert in_language(fact, "help", "es") == "Piense en el estudiante."


def test_it_translates_field_labels_help_and_choice_labels():
    spec = load_protocol_text(TRANSLATED, "test.yaml").step("one", "first").field("agency")
    assert (spec.label, in_language(spec, "label", "es")) == ("Agency", "Agencia")
    assert in_language(spec, "help", "es") == "A quién se llamó."
    assert spec.choice_label("a") == "Agency A"
    assert choice_label_in_language(spec, "a", "es") == "Agencia A"
    # A label given only in English is English in every language.
    assert choice_label_in_language(spec, "b", "es") == "Agency B"
    # A choice without a label has none to translate.
    assert choice_label_in_language(spec, "c", "es") is None


@pytest.mark.parametrize("language", ["en", "en-us", None, "fr", "", "de-DE"])
def test_it_falls_back_to_english_for_any_other_language(language):
    step = load_protocol_text(TRANSLATED, "test.yaml").step("one", "first")
    assert in_language(step, "title", language) == "First step"


@pytest.mark.parametrize("language", ["es", "es-mx", "es-419", "ES", "es_MX"])
def test_it_reads_a_regional_spanish_as_spanish(language):
    step = load_protocol_text(TRANSLATED, "test.yaml").step("one", "first")
    assert in_language(step, "title", language) == "Primer paso"


def test_it_shows_an_untranslated_text_in_english():
    protocol = load_protocol_text(TRANSLATED, "test.yaml")
    third = protocol.step("two", "third")
    assert in_language(third, "title", "es") == "Third step"
    assert in_language(protocol.pathway("two"), "title", "es") == "Pathway two"


def test_it_loads_a_definition_without_translations_as_before():
    protocol = load_protocol_text(MINI, "test.yaml")
    assert protocol.step("one", "first").title == "First step"
    assert in_language(protocol.step("one", "first"), "title", "es") == "First step"


def test_it_hashes_the_text_so_an_untranslated_file_keeps_its_hash():
    # Stored versions are identified by the SHA-256 of their text: adding translations
    # makes a new text (a new version or revision); loading the old text again is the
    # same version as before.
    before = load_protocol_text(MINI, "test.yaml")
    again = load_protocol_text(MINI, "other-name.yaml")
    translated = load_protocol_text(TRANSLATED, "test.yaml")
    assert before.content_hash == again.content_hash
    assert translated.content_hash != before.content_hash


def test_it_refuses_an_unknown_language_at_its_position():
    text = edit(
        MINI, "    title: First step\n", "    title: {en: First step, fr: Première étape}\n"
    )
    assert_issue(
        only_issue(text),
        locate(text, "fr:"),
        "title: unknown language 'fr'; SafeStep's languages are: en, es",
    )


def test_it_suggests_the_closest_language():
    text = edit(MINI, "    title: First step\n", "    title: {en: First step, ess: Primer paso}\n")
    assert_issue(
        only_issue(text),
        locate(text, "ess:"),
        "title: unknown language 'ess' (did you mean 'es'?); SafeStep's languages are: en, es",
    )


def test_it_refuses_translations_without_english():
    text = edit(MINI, "    title: Pathway one\n", "    title: {es: Vía uno}\n")
    assert_issue(
        only_issue(text),
        locate(text, "{es: Vía uno}"),
        "title: missing required key 'en' (English is always given)",
    )


def test_it_refuses_an_empty_translation_of_a_required_text():
    text = edit(
        MINI, "    question: Is there danger?", '    question: {en: "Is there danger?", es: ""}'
    )
    assert_issue(only_issue(text), locate(text, '""'), "question (es): must not be empty")


def test_it_refuses_a_language_given_twice():
    text = edit(
        MINI,
        "    title: Third step\n",
        "    title:\n      en: Third step\n      es: Tercer paso\n      es: Otro\n",
    )
    first_line = locate(text, "es: Tercer paso")[0]
    assert_issue(
        only_issue(text),
        locate(text, "es: Otro"),
        f"duplicate language 'es' (first at line {first_line})",
    )


def test_it_refuses_a_translated_choice_label_on_a_list_suggestion():
    text = edit(
        MINI,
        "      - {name: agency, label: Agency, type: choice, required: true, choices: [a, b]}",
        "      - {name: agency, label: Agency, type: choice, required: true,"
        " choices: [{value: a, label: {en: A, xx: B}}, b]}",
    )
    assert_issue(
        only_issue(text),
        locate(text, "xx:"),
        "choice label: unknown language 'xx'; SafeStep's languages are: en, es",
    )


def test_it_lists_the_languages_safestep_knows():
    assert LANGUAGES == ("en", "es")


def _translated(item: object, attribute: str, key: str | None = None) -> bool:
    """Whether ITEM's ATTRIBUTE (or the choice KEY's label) has Spanish words."""
    translations = getattr(item, "choice_label_translations" if key else "translations")
    return "es" in translations.get(key or attribute, {})


def _untranslated_in_step(step: Step) -> Iterator[str]:
    for attribute in ("title", "guidance"):
        if not _translated(step, attribute):
            yield f"{step.code}.{attribute}"
    if step.progress and not _translated(step.progress, "title"):
        yield f"{step.code}.progress"
    for spec in step.fields:
        if not _translated(spec, "label"):
            yield f"{step.code}.{spec.name}.label"
        if spec.help and not _translated(spec, "help"):
            yield f"{step.code}.{spec.name}.help"
        for value in spec.choice_labels:
            if not _translated(spec, "label", value):
                yield f"{step.code}.{spec.name}.{value}"


def _untranslated(protocol: Protocol) -> Iterator[str]:
    """Every word of PROTOCOL people read that has no Spanish, named by where it is."""
    for pathway in protocol.pathways:
        for attribute in ("title", "description"):
            if not _translated(pathway, attribute):
                yield f"{pathway.code}.{attribute}"
        for step in pathway.steps:
            yield from _untranslated_in_step(step)
    for fact in protocol.facts:
        for attribute in ("question", "help"):
            if getattr(fact, attribute) and not _translated(fact, attribute):
                yield f"{fact.id}.{attribute}"
    for escalation in protocol.escalations:
        if not _translated(escalation, "title"):
            yield f"escalation {escalation.from_pathway} -> {escalation.to_pathway}"
    for indicator in protocol.indicators:
        if not _translated(indicator, "text"):
            yield f"indicator {indicator.id}"


def test_it_ships_spanish_for_every_step_field_choice_and_pathway():
    assert list(_untranslated(shipped_protocol())) == []


def test_it_finds_a_shipped_text_left_in_english():
    # The check above can fail: drop one Spanish label and it is named.
    text = SHIPPED_TEXT.replace('\n          es: "Hallazgos"', "", 1)
    assert text != SHIPPED_TEXT
    assert list(_untranslated(load_protocol_text(text, "shipped.yaml"))) == [
        "A2.findings.label",
        "B3.findings.label",
        "C3.findings.label",
    ]


def test_it_keeps_the_shipped_definitions_english_words_and_ss_8572_wording():
    protocol = shipped_protocol()
    report = protocol.step("suspected_victim", "cws_report")
    assert report.title == "Submit a Child Welfare Services report (SS 8572)"
    agency = report.field("agency")
    assert agency.choice_label("cws") == "Child Welfare Services (CWS)"
    # The SS 8572 stays in English: its words have no translations.
    assert agency.report_label("cws") == "Child Welfare Services (county)"
    assert choice_label_in_language(agency, "cws", "es") == "Servicios de Bienestar Infantil (CWS)"

"""The protocol's own words on the case page follow the page's language.

The shipped definition gives its step titles, guidance, questions, field labels and choice
labels in English and Spanish. A Spanish page shows the Spanish; an English page, and the
API, show the English, which stays the protocol's canonical text.
"""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from safestep.accounts.testing import signed_in_client
from safestep.protocol import load_shipped_protocols

pytestmark = pytest.mark.django_db


def test_it_shows_the_step_titles_guidance_and_labels_in_spanish(district, open_case):
    case = open_case()
    person = district["site_admin"]
    person.language = "es"  # chosen on "My account"
    person.save(update_fields=["language"])
    page = signed_in_client(person).get(f"/cases/{case.pk}/").content.decode()
    assert '<html lang="es">' in page
    # A step title and its guidance, a field label, a choice label and a question.
    assert "Presentar un informe a los Servicios de Bienestar Infantil (SS 8572)" in page
    assert "Llame de inmediato a los Servicios de Bienestar Infantil" in page
    assert "Agencia a la que se envió el informe" in page
    assert "Servicios de Bienestar Infantil (CWS)" in page
    assert "¿Se sospecha abuso o negligencia infantil?" in page
    assert "Presunta víctima de explotación sexual comercial de menores (CSEC)" in page
    assert "Submit a Child Welfare Services report (SS 8572)" not in page


def test_it_shows_the_english_words_on_an_english_page(district, open_case):
    case = open_case()
    page = (
        signed_in_client(district["site_admin"])
        .get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "Submit a Child Welfare Services report (SS 8572)" in page
    assert "Agency the report went to" in page
    assert "Presentar un informe" not in page


def test_it_keeps_the_api_in_english(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").get(f"/api/v1/cases/{case.pk}", HTTP_ACCEPT_LANGUAGE="es")
    assert answer.status_code == 200, answer.content
    titles = [step["title"] for step in answer.json()["steps"]]
    assert "Submit a Child Welfare Services report (SS 8572)" in titles


def test_it_gives_the_filter_the_active_language():
    step = load_shipped_protocols()[0].step("suspected_victim", "campus_impact")
    drawn = Template('{% load protocol_text %}{{ step|in_language:"title" }}')
    with translation.override("es"):
        assert (
            drawn.render(Context({"step": step})) == "Investigar el posible impacto en la escuela"
        )
    with translation.override("en"):
        assert drawn.render(Context({"step": step})) == "Investigate possible campus impact"
    # Anything else is drawn as it is, never failing the page.
    assert drawn.render(Context({"step": {"title": "As given"}})) == "As given"
    assert drawn.render(Context({"step": None})) == ""

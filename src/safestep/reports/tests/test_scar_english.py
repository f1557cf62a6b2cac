"""The SS 8572 is the State of California's form: it prints in English for a Spanish reader."""

from __future__ import annotations

import io

from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from safestep.accounts.models import Language
from safestep.accounts.testing import signed_in_client
from safestep.reports.scar import render_scar_pdf, scar_form


def text_of(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_it_fills_and_draws_the_form_in_english_while_the_pages_are_in_spanish(district, open_case):
    case = open_case("suspected_victim")
    counselor = district["counselor"]
    now = timezone.now()
    with translation.override("en"):
        english = text_of(render_scar_pdf(scar_form(case, user=counselor, now=now)))
    with translation.override("es"):
        spanish_request = text_of(render_scar_pdf(scar_form(case, user=counselor, now=now)))
        # The language the pages were in comes back once the form is made.
        assert translation.get_language() == "es"
    assert spanish_request == english
    assert "Name of mandated reporter" in english
    assert "Suspected Child Abuse Report" in english


def test_it_hands_a_spanish_reader_the_english_form_from_the_case_page(district, open_case):
    case = open_case("suspected_victim")
    counselor = district["counselor"]
    counselor.language = Language.SPANISH
    counselor.save()
    client = signed_in_client(counselor)

    page = client.get(reverse("web:case", args=[case.pk]))
    form = client.get(reverse("web:case-scar", args=[case.pk]))

    # The page is in Spanish, the form it offers in English.
    assert "Descargar el SS 8572 (prellenado)" in page.content.decode()
    assert form.status_code == 200
    text = text_of(form.content)
    assert "Name of mandated reporter" in text
    assert "Nombre" not in text

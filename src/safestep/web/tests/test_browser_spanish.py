"""One journey in Spanish: a teacher files a concern, the site administrator opens the case.

Both chose Spanish on "My account" and sign in from a browser set to English: their own
choice wins. Each page is checked with axe-core, which also checks the page's language.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from safestep.accounts.models import Language, User
from safestep.cases.models import Case
from safestep.web.tests.browser import assert_accessible, local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_takes_a_concern_to_an_open_case_in_spanish(people, district):
    User.objects.filter(username__in=["reporter", "site_admin"]).update(language=Language.SPANISH)

    teacher = people.page("reporter")
    expect(teacher.locator("html")).to_have_attribute("lang", "es")
    teacher.get_by_role("link", name="Informar una preocupación").first.click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Informar una preocupación")
    teacher.get_by_label("Id del SIS del estudiante", exact=True).fill("900001")
    teacher.get_by_label("Nombre", exact=True).fill("Ana")
    teacher.get_by_label("Apellido", exact=True).fill("Lopez")
    teacher.get_by_label("¿Cuándo lo vio u oyó?").fill(local(90))
    # A forgotten description is caught next to its field, in Spanish.
    teacher.get_by_role("button", name="Enviar al administrador del plantel").click()
    expect(teacher.get_by_role("alert")).to_contain_text("Lo que vio u oyó")
    assert_accessible(teacher, "concern form with a problem, in Spanish")
    teacher.get_by_label("¿Qué vio u oyó?").fill(
        "Un hombre mayor la espera después de clases; tiene un teléfono nuevo."
    )
    teacher.get_by_role("button", name="Enviar al administrador del plantel").click()
    expect(teacher.locator("#live")).to_contain_text("Gracias.")
    expect(teacher.locator("#live")).to_contain_text("está en manos del administrador")
    assert_accessible(teacher, "concern sent, in Spanish")

    principal = people.page("site_admin")
    expect(principal.locator("html")).to_have_attribute("lang", "es")
    principal.get_by_role("link", name=re.compile("espera clasificación")).click()
    expect(principal.get_by_role("heading", level=1)).to_have_text(
        "Preocupaciones en espera de clasificación"
    )
    assert_accessible(principal, "triage, in Spanish")
    principal.locator("input[name=pathway][value=suspected_victim]").check()
    # Before the teacher saw it, as the form asks, whatever minute the test reaches here.
    principal.get_by_label("¿Cuándo se formó la sospecha por primera vez?").fill(local(100))
    principal.get_by_role("button", name="Abrir el caso").click()
    expect(principal.locator("#live")).to_contain_text("está abierto")

    case = Case.objects.get()
    expect(principal.get_by_role("heading", level=1)).to_contain_text(case.reference)
    expect(
        principal.locator("#top").get_by_role("link", name="Descargar el SS 8572 (prellenado)")
    ).to_be_visible()
    expect(principal.get_by_role("button", name="Guardar las respuestas")).to_be_visible()
    assert_accessible(principal, "case page, in Spanish")

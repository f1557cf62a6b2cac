"""problem+json in the client's language: ``title`` and ``detail`` follow Accept-Language
(else the token user's own choice), while ``type``, ``status`` and the field names under
``errors`` never change."""

from __future__ import annotations

import pytest

from safestep.audit.models import Event

pytestmark = pytest.mark.django_db


def test_it_answers_a_missing_case_in_spanish(api_as):
    answer = api_as("site_admin").get("/api/v1/cases/999999", HTTP_ACCEPT_LANGUAGE="es")
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"] == "about:blank"
    assert body["title"] == "No encontrado"
    assert body["detail"] == "no hay ningún caso 999999"


def test_it_keeps_the_field_names_and_translates_the_messages(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/close",
        {"version": case.version, "outcome": ""},
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["title"] == "Datos no válidos"
    # Django's and DRF's own Spanish share this msgid ("requerido"), SafeStep's says
    # "obligatorio": whichever catalogue Django ranks first, it is Spanish.
    [message] = body["errors"]["outcome"]
    assert message.startswith("Este campo es ")
    assert body["detail"] == f"outcome: {message}"


def test_it_translates_a_conflict_and_keeps_its_extra_members(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/close",
        {"version": case.version, "outcome": "Done."},
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert answer.status_code == 409
    body = answer.json()
    assert body["title"] == "Conflicto"
    assert body["detail"].startswith(f"el caso {case.reference} tiene pasos sin resolver: ")
    assert "police_involved" in body["unresolved"]


def test_it_answers_in_english_by_default(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").post(
        f"/api/v1/cases/{case.pk}/close",
        {"version": case.version, "outcome": ""},
        format="json",
    )
    body = answer.json()
    assert (body["title"], body["errors"]) == (
        "Invalid input",
        {"outcome": ["This field is required."]},
    )


def test_it_keeps_the_audit_trail_in_english_whatever_the_language(api_as, open_case):
    case = open_case()
    api_as("site_admin").get(f"/api/v1/cases/{case.pk}", HTTP_ACCEPT_LANGUAGE="es")
    actions = set(Event.objects.filter(case_id=case.pk).values_list("action", flat=True))
    assert {"case.open", "case.read"} <= actions


def test_it_answers_a_token_without_accept_language_in_its_users_language(api_as, district):
    reader = district["site_admin"]
    reader.language = "es"
    reader.save(update_fields=["language"])
    answer = api_as("site_admin").get("/api/v1/cases/999999")
    assert answer.json()["detail"] == "no hay ningún caso 999999"
    assert answer["Content-Language"] == "es"
    # A client that names a language gets the one it names.
    answer = api_as("site_admin").get("/api/v1/cases/999999", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.json()["detail"] == "no case 999999"

"""The audit trail in Spanish: the sentences people read are translated when shown, and the
events themselves (action names, payloads, the chain) stay exactly as they were written."""

from __future__ import annotations

import pytest

from safestep.accounts.testing import signed_in_client
from safestep.audit.models import Event

pytestmark = pytest.mark.django_db


def test_it_tells_the_events_in_the_readers_language(district, open_case):
    case = open_case()
    stored = list(Event.objects.values_list("pk", "action", "payload_json", "hash"))
    auditor = district["auditor"]
    auditor.language = "es"  # chosen on "My account"
    auditor.save(update_fields=["language"])
    body = signed_in_client(auditor).get("/audit/").content.decode()
    assert '<html lang="es">' in body
    assert "Registro de auditoría" in body
    assert "Abrió el caso en la ruta" in body
    assert "Opened the case on pathway" not in body
    # Reading the page changed nothing that was recorded (it only adds its own event).
    assert (
        list(
            Event.objects.filter(pk__in=[pk for pk, *_ in stored]).values_list(
                "pk", "action", "payload_json", "hash"
            )
        )
        == stored
    )
    assert Event.objects.filter(case_id=case.pk, action="case.open").exists()


def test_it_tells_them_in_english_to_an_english_reader(district, open_case):
    open_case()
    body = signed_in_client(district["auditor"]).get("/audit/").content.decode()
    assert "Opened the case on pathway" in body
    assert "Abrió el caso" not in body

"""The case page's steps, drawn in Python (web/templatetags/case_steps.py): what a reader
sees of each step, in their language, with everything typed into a case escaped."""

from __future__ import annotations

import re

import pytest

from safestep.accounts.testing import signed_in_client
from safestep.cases import services

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror="alert(1)"> & done'


def page(client, case) -> str:
    answer = client.get(f"/cases/{case.pk}/")
    assert answer.status_code == 200
    return answer.content.decode()


def no_parent_contact(district, case, reason: str):
    """Parent contact recorded as not applying (the victim consulted), for REASON."""
    return services.step_mark_not_applicable(
        acting_user=district["site_admin"],
        case_id=case.pk,
        step_id="parent_contact",
        reason=reason,
        details={"victim_consulted": True},
        expected_version=case.version,
    )


def test_it_shows_a_reason_typed_into_a_step_as_text_not_markup(district, open_case):
    case = no_parent_contact(district, open_case("suspected_victim"), HOSTILE)
    drawn = page(signed_in_client(district["site_admin"]), case)
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; done" in drawn
    assert "<img src=x" not in drawn
    # The step is folded to its heading, with what was recorded and a way to reopen it.
    assert 'id="step-parent_contact" class="step state-not_applicable"' in drawn
    assert "Recorded as not applying" in drawn and "Reopen" in drawn


def test_it_keeps_a_refused_reopen_open_with_its_error_tied_to_the_field(district, open_case):
    case = no_parent_contact(
        district, open_case("suspected_victim"), "The student asked that the parents not be called."
    )
    client = signed_in_client(district["site_admin"])
    refused = client.post(
        f"/cases/{case.pk}/steps/parent_contact/reopen/", {"version": case.version, "reason": ""}
    )
    assert refused.status_code == 400
    drawn = refused.content.decode()
    assert '<details class="reopen no-print" open>' in drawn
    assert 'id="reopen-parent_contact-reason-error"' in drawn
    assert 'aria-invalid="true" aria-describedby="reopen-parent_contact-reason-error"' in drawn


def test_it_speaks_the_readers_language(district, open_case):
    case = open_case("suspected_victim")
    reader = district["site_admin"]
    reader.language = "es"
    reader.save(update_fields=["language"])
    drawn = page(signed_in_client(reader), case)
    assert "Quién actúa:" in drawn and "Who acts:" not in drawn
    assert "<span>Vence <time" in drawn  # the police and report steps' due times
    assert re.search(r"Registrar B\d como hecho", drawn)
    assert not re.search(r"Record B\d as done", drawn)

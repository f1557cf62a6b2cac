"""E-mails are written in the language their recipient chose for the pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone, translation

from safestep.accounts.models import Language
from safestep.cases import services as case_services
from safestep.conftest import District
from safestep.notify.tests.test_notices import DESCRIPTION, FIRST, LAST, SIS_ID, SUBMITTED


@pytest.fixture
def staff(district: District) -> District:
    """Everyone can be e-mailed; the site administrator reads SafeStep in Spanish."""
    for user in district.users.values():
        user.email = f"{user.username}@district.example"
        user.language = Language.SPANISH if user.username == "site_admin" else Language.ENGLISH
        user.save()
    return district


def test_it_writes_a_notice_in_spanish_to_a_site_admin_who_reads_spanish(
    staff: District, django_capture_on_commit_callbacks: Any
) -> None:
    # The reporter's own pages are in English: the e-mail follows its recipient, not them.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        case_services.concern_submit(
            acting_user=staff["reporter"],
            school_code="LIN",
            students=[case_services.StudentInput(sis_id=SIS_ID, first_name=FIRST, last_name=LAST)],
            observed_at=timezone.now() - timedelta(hours=2),
            description=DESCRIPTION,
            indicators=[],
        )
        # Writing the e-mail leaves the sender's language as it was.
        assert translation.get_language() == "en"
    [message] = mail.outbox
    assert message.subject == "SafeStep: una preocupación en su escuela espera clasificación"
    assert message.subject != SUBMITTED
    assert message.body.startswith("Hola, site_admin:")
    assert "no nombra a ningún estudiante" in message.body
    assert "Clasifíquela en SafeStep" in message.body
    # The report's due time, with the day and month in Spanish too, in the district's zone.
    due = re.search(
        r"\(SS 8572\) vence el (\w+) \d{1,2} (\w+) \d{4}, \d\d:\d\d P[SD]T\.", str(message.body)
    )
    assert due is not None, message.body
    assert due[1] in {"lun", "mar", "mié", "jue", "vie", "sáb", "dom"}
    assert due[2] in {
        "Ene",
        "Feb",
        "Mar",
        "Abr",
        "May",
        "Jun",
        "Jul",
        "Ago",
        "Sep",
        "Oct",
        "Nov",
        "Dic",
    }
    assert FIRST not in message.body

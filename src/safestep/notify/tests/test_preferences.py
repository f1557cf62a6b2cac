"""Choosing between one e-mail per reminder and a daily digest."""

from __future__ import annotations

import pytest

from safestep.accounts.testing import signed_in_client
from safestep.audit.models import Event
from safestep.core.errors import ValidationFailed
from safestep.notify.models import ReminderPreference
from safestep.notify.services import reminder_preference_set


def test_it_saves_a_daily_digest_from_the_page(district):
    client = signed_in_client(district["counselor"])
    page = client.get("/reminders/")
    assert page.status_code == 200
    assert "One e-mail a day" in page.content.decode()
    answer = client.post("/reminders/", {"delivery": "digest", "digest_hour": "6"})
    assert answer.status_code == 302
    preference = ReminderPreference.objects.get(user=district["counselor"])
    assert (preference.daily_digest, preference.digest_hour) == (True, 6)
    assert Event.objects.filter(action="reminders.preference_set").count() == 1
    again = client.get(answer["Location"])
    assert "Saved." in again.content.decode()


def test_it_switches_back_to_one_e_mail_per_reminder(district):
    user = district["site_admin"]
    reminder_preference_set(acting_user=user, daily_digest=True, digest_hour=7)
    reminder_preference_set(acting_user=user, daily_digest=False, digest_hour=7)
    assert ReminderPreference.objects.get(user=user).daily_digest is False


@pytest.mark.parametrize("hour", [-1, 24, True])
def test_it_refuses_an_hour_that_does_not_exist(district, hour):
    with pytest.raises(ValidationFailed) as refused:
        reminder_preference_set(
            acting_user=district["counselor"], daily_digest=True, digest_hour=hour
        )
    assert list(refused.value.errors) == ["digest_hour"]
    assert not ReminderPreference.objects.exists()


def test_it_warns_a_person_without_an_e_mail_address(district):
    page = signed_in_client(district["reporter"]).get("/reminders/")
    assert "no e-mail address" in page.content.decode()


def test_it_asks_for_a_sign_in(client, district):
    assert client.get("/reminders/").status_code == 302

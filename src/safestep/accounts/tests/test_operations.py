"""An operator's account commands, and what the people on the other end notice.

Each command goes through one service that writes its audit event; a reset password or a
deactivated account takes its API token and web sessions with it.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from safestep.accounts.models import User
from safestep.accounts.testing import api_token_for, sign_in_client
from safestep.accounts.tests.test_signin import PASSWORD, post_password, signed_in
from safestep.audit.models import Event


def operator(*args: str) -> str:
    printed = io.StringIO()
    call_command("user", *args, stdout=printed, stderr=io.StringIO())
    return printed.getvalue().strip()


def api(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")


def last_event(action: str) -> dict[str, object]:
    event = Event.objects.filter(action=action).order_by("seq").last()
    assert event is not None, f"no {action} event"
    return dict(event.payload)


def test_it_ends_sessions_and_tokens_when_an_operator_resets_a_password(district):
    admin = district["site_admin"]
    browser, integration = sign_in_client(Client(), admin), api(admin)
    colleague = sign_in_client(Client(), district["counselor"])
    assert signed_in(browser) and integration.get("/api/v1/protocols").status_code == 200

    printed = operator("reset-password", "site_admin")

    assert printed.startswith("one-time password: ")
    assert not signed_in(browser)
    assert integration.get("/api/v1/protocols").status_code == 401
    assert signed_in(colleague)
    assert last_event("user.password_reset") == {
        "username": "site_admin",
        "tokens_revoked": 1,
        "sessions_ended": 1,
    }


def test_it_ends_a_sign_in_waiting_for_its_code_when_the_password_is_reset(district):
    half_way = Client()
    assert post_password(half_way, "auditor")["Location"] == "/signin/enrol/"
    operator("reset-password", "auditor")
    assert half_way.get("/signin/enrol/")["Location"] == "/signin/"


def test_it_deactivates_a_user_on_the_web_and_the_api_and_can_undo_it(district):
    reporter = district["reporter"]
    browser, integration = sign_in_client(Client(), reporter), api(reporter)

    printed = operator("deactivate", "reporter")

    assert printed == "reporter deactivated; its API token revoked, 1 session ended"
    assert not signed_in(browser)
    assert integration.get("/api/v1/protocols").status_code == 401
    assert post_password(Client(), "reporter").status_code == 400
    assert last_event("user.deactivate")["tokens_revoked"] == 1
    with pytest.raises(CommandError, match="already deactivated") as again:
        operator("deactivate", "reporter")
    assert again.value.returncode == 1

    assert operator("activate", "reporter") == "reporter may sign in again"
    assert post_password(Client(), "reporter", PASSWORD).status_code == 302
    assert last_event("user.activate") == {"username": "reporter"}


def test_it_gives_a_user_another_role_and_their_access_follows(district, open_case):
    at_roosevelt = open_case(school="ROO", by="outsider_admin", sis_id="S-9")
    integration = api(district["counselor"])
    assert integration.get(f"/api/v1/cases/{at_roosevelt.pk}").status_code == 404

    assert operator("role", "counselor", "district_coordinator") == (
        "counselor is now district_coordinator"
    )

    assert integration.get(f"/api/v1/cases/{at_roosevelt.pk}").status_code == 200
    assert last_event("user.role") == {
        "username": "counselor",
        "from": "counselor",
        "to": "district_coordinator",
    }
    assert operator("role", "counselor", "district_coordinator") == (
        "counselor is already district_coordinator"
    )


def test_it_refuses_a_school_role_for_a_user_without_a_school(district):
    with pytest.raises(CommandError, match="a site_admin needs at least one school") as refused:
        operator("role", "school_police", "site_admin")
    assert refused.value.returncode == 2
    assert User.objects.get(username="school_police").role == "school_police"


def test_it_moves_a_user_to_other_schools_and_their_cases_follow(district, open_case):
    at_lincoln = open_case()
    at_roosevelt = open_case(school="ROO", by="outsider_admin", sis_id="S-9")
    integration = api(district["counselor"])
    assert integration.get(f"/api/v1/cases/{at_lincoln.pk}").status_code == 200

    assert operator("schools", "counselor", "ROO") == "counselor works at ROO"

    assert integration.get(f"/api/v1/cases/{at_lincoln.pk}").status_code == 404
    assert integration.get(f"/api/v1/cases/{at_roosevelt.pk}").status_code == 200
    assert last_event("user.schools") == {"username": "counselor", "from": ["LIN"], "to": ["ROO"]}
    with pytest.raises(CommandError, match="unknown school code: NOPE") as refused:
        operator("schools", "counselor", "ROO", "NOPE")
    assert refused.value.returncode == 2


def test_it_ends_one_users_sessions_or_everyones(district):
    first, second = (sign_in_client(Client(), district["reporter"]) for _ in range(2))
    colleague = sign_in_client(Client(), district["counselor"])

    assert operator("revoke-sessions", "reporter") == "ended 2 sessions (reporter's)"
    assert not signed_in(first) and not signed_in(second)
    assert signed_in(colleague)
    assert last_event("session.revoke") == {"username": "reporter", "all": False, "sessions": 2}

    assert operator("revoke-sessions", "--all") == "ended 1 session (every user's)"
    assert not signed_in(colleague)
    for wrong in ([], ["reporter", "--all"]):
        with pytest.raises(CommandError, match="give a USERNAME or --all") as refused:
            operator("revoke-sessions", *wrong)
        assert refused.value.returncode == 2


@pytest.mark.parametrize("action", ["revoke-tokens", "revoke-token"])
def test_it_revokes_a_token_by_either_name(district, action):
    integration = api(district["auditor"])
    assert integration.get("/api/v1/protocols").status_code == 200
    assert operator(action, "auditor") == "token revoked"
    assert integration.get("/api/v1/protocols").status_code == 401
    assert operator(action, "auditor") == "no token to revoke"
    assert last_event("token.revoke") == {"username": "auditor"}


def test_it_says_which_user_does_not_exist(district):
    for args in (
        ["deactivate", "nobody"],
        ["role", "nobody", "auditor"],
        ["schools", "nobody", "LIN"],
        ["revoke-sessions", "nobody"],
        ["revoke-tokens", "nobody"],
    ):
        with pytest.raises(CommandError, match="no user nobody") as refused:
            operator(*args)
        assert refused.value.returncode == 1

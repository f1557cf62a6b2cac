"""Signing in on the web: password, second factor, lockout, idle timeout, first password.

These drive the real pages with Django's test client, as a browser would post them.
"""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from safestep.accounts.models import AuthenticatorDevice, BackupCodeDevice
from safestep.accounts.services import user_add
from safestep.accounts.testing import fresh_totp_code, sign_in_client, totp_code_for_secret
from safestep.accounts.views import LAST_SEEN_KEY
from safestep.audit.models import Event

PASSWORD = "a long test password"


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, pattern
    return match.group(1)


def post_password(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post("/signin/", {"username": username, "password": password}, **extra)


def enrol(client: Client, username: str) -> list[str]:
    """Sign in for the first time and set up the authenticator; return the backup codes."""
    answer = post_password(client, username)
    assert answer.status_code == 302 and answer["Location"] == "/signin/enrol/"
    page = client.get("/signin/enrol/").content.decode()
    secret = found(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', page)
    done = client.post("/signin/enrol/", {"code": totp_code_for_secret(secret)})
    assert done.status_code == 200
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())


def signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_it_signs_a_reporter_in_with_a_password_alone(district):
    client = Client()
    answer = post_password(client, "reporter")
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert signed_in(client)


def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(district):
    answer = post_password(Client(), "site_admin", "not it")
    assert answer.status_code == 400
    assert "did not match" in answer.content.decode()
    unknown = post_password(Client(), "nobody", "not it")
    assert "did not match" in unknown.content.decode()


def test_it_sets_up_a_second_factor_at_first_sign_in_with_qr_code_secret_and_backup_codes(
    district,
):
    client = Client()
    answer = post_password(client, "site_admin")
    assert answer["Location"] == "/signin/enrol/"
    # A correct password alone signs nobody in.
    assert not signed_in(client)
    page = client.get("/signin/enrol/").content.decode()
    assert "<svg" in page and "QR code" in page
    secret = found(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', page)
    assert len(secret) >= 32
    # Reloading shows the same secret: a QR code already scanned stays valid.
    assert secret in client.get("/signin/enrol/").content.decode()

    wrong = client.post("/signin/enrol/", {"code": "000000"})
    assert wrong.status_code == 400 and "did not match" in wrong.content.decode()
    done = client.post("/signin/enrol/", {"code": totp_code_for_secret(secret)})
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert signed_in(client)
    assert Event.objects.filter(action="mfa.enrol", actor=district["site_admin"]).exists()


def test_it_asks_for_a_code_at_every_later_sign_in(district):
    enrol(Client(), "counselor")
    client = Client()
    answer = post_password(client, "counselor")
    assert answer["Location"] == "/signin/code/"
    assert not signed_in(client)
    wrong = client.post("/signin/code/", {"code": "123456"})
    assert wrong.status_code == 400 and "did not work" in wrong.content.decode()
    # Guessing is slowed down: straight after a wrong code even the right one must wait.
    hurried = client.post("/signin/code/", {"code": fresh_totp_code("counselor")})
    assert hurried.status_code == 400 and "wait a few seconds" in hurried.content.decode()
    a_moment_later = timezone.now() - timedelta(seconds=10)
    AuthenticatorDevice.objects.filter(user=district["counselor"]).update(
        throttling_failure_timestamp=a_moment_later
    )
    right = client.post("/signin/code/", {"code": fresh_totp_code("counselor")})
    assert right.status_code == 302 and right["Location"] == "/"
    assert signed_in(client)


def test_it_accepts_each_backup_code_exactly_once(district):
    codes = enrol(Client(), "school_police")
    first = Client()
    post_password(first, "school_police")
    assert first.post("/signin/code/", {"code": codes[0].upper()}).status_code == 302
    again = Client()
    post_password(again, "school_police")
    assert again.post("/signin/code/", {"code": codes[0]}).status_code == 400
    assert BackupCodeDevice.objects.get(user=district["school_police"]).codes_left == 9


def test_it_forgets_a_password_step_that_is_not_finished_in_time(district):
    enrol(Client(), "auditor")
    client = Client()
    post_password(client, "auditor")
    session = client.session
    session["safestep_signin_pending"]["at"] = time.time() - 301
    session.save()
    answer = client.post("/signin/code/", {"code": fresh_totp_code("auditor")})
    assert answer.status_code == 302 and answer["Location"] == "/signin/"
    assert not signed_in(client)


def test_it_goes_where_the_user_was_going_but_never_off_site(district, open_case):
    case = open_case()
    enrol(Client(), "site_admin")
    client = Client()
    client.post(
        "/signin/", {"username": "site_admin", "password": PASSWORD, "next": f"/cases/{case.pk}/"}
    )
    answer = client.post("/signin/code/", {"code": fresh_totp_code("site_admin")})
    assert answer["Location"] == f"/cases/{case.pk}/"
    elsewhere = Client()
    answer = elsewhere.post(
        "/signin/", {"username": "reporter", "password": PASSWORD, "next": "https://evil.test/"}
    )
    assert answer["Location"] == "/"
    assert elsewhere.get("/signin/?next=https://evil.test/")["Location"] == "/"


def test_it_locks_a_username_and_address_out_after_five_failures_with_a_clear_message(district):
    client = Client()
    for _ in range(4):
        assert post_password(client, "site_admin", "wrong").status_code == 400
    locked = post_password(client, "site_admin", "wrong")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many failed attempts" in text and "15 minutes" in text
    # Even the right password is refused while locked.
    assert post_password(client, "site_admin").status_code == 429
    # Lockout is for this username from this address: others are not affected.
    assert post_password(Client(), "reporter").status_code == 302
    from_elsewhere = post_password(Client(), "site_admin", REMOTE_ADDR="192.0.2.7")
    assert from_elsewhere.status_code == 302


def test_it_counts_wrong_codes_towards_the_same_lockout(district):
    enrol(Client(), "district_coordinator")
    client = Client()
    post_password(client, "district_coordinator")
    statuses = [client.post("/signin/code/", {"code": "000000"}).status_code for _ in range(5)]
    assert statuses[:4] == [400, 400, 400, 400]
    assert statuses[4] == 429
    retry = Client()
    assert post_password(retry, "district_coordinator").status_code == 429


def test_it_ends_a_session_idle_for_15_minutes_and_says_why(district):
    client = sign_in_client(Client(), district["site_admin"])
    assert signed_in(client)
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 15 * 60 - 5
    session.save()
    answer = client.get("/concerns/new/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/signin/?") and "reason=idle" in answer["Location"]
    page = client.get(answer["Location"]).content.decode()
    assert "Your session ended after 15 minutes without activity; sign in again" in page
    assert not signed_in(client)


def test_it_keeps_an_active_session(district):
    client = sign_in_client(Client(), district["counselor"])
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 14 * 60
    session.save()
    assert signed_in(client)
    assert client.session[LAST_SEEN_KEY] > time.time() - 60


@override_settings(SESSION_IDLE_SECONDS=5 * 60)
def test_it_takes_the_idle_time_from_the_configuration(district):
    client = sign_in_client(Client(), district["reporter"])
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 6 * 60
    session.save()
    assert not signed_in(client)


def test_it_answers_401_to_an_idle_api_session(district, open_case):
    case = open_case()
    client = sign_in_client(Client(), district["site_admin"])
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 16 * 60
    session.save()
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 401


def test_it_ends_a_session_that_lacks_the_second_factor_its_role_needs(district):
    client = Client()
    client.force_login(district["site_admin"])
    answer = client.get("/")
    assert answer.status_code == 302 and "reason=second_factor" in answer["Location"]
    assert not signed_in(client)


def test_it_ends_sessions_when_an_operator_resets_the_second_factor(district):
    client = sign_in_client(Client(), district["counselor"])
    assert signed_in(client)
    call_command("user", "reset-mfa", "counselor")
    assert not AuthenticatorDevice.objects.filter(user=district["counselor"]).exists()
    assert not signed_in(client)
    assert post_password(Client(), "counselor")["Location"] == "/signin/enrol/"


def test_it_makes_a_new_user_choose_a_password_before_anything_else(district, open_case):
    case = open_case()
    user, one_time = user_add(username="new_admin", role="site_admin", school_codes=["LIN"])
    client = Client()
    post_password(client, "new_admin", one_time)
    page = client.get("/signin/enrol/").content.decode()
    secret = found(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', page)
    client.post("/signin/enrol/", {"code": totp_code_for_secret(secret)})

    held = client.get(f"/cases/{case.pk}/")
    assert held.status_code == 302 and held["Location"].startswith("/account/password/")
    api = client.get(f"/api/v1/cases/{case.pk}")
    assert api.status_code == 403 and "new password" in api.json()["detail"]
    form = client.get("/account/password/").content.decode()
    assert "one-time password" in form

    weak = client.post(
        "/account/password/",
        {"old_password": one_time, "new_password1": "short", "new_password2": "short"},
    )
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    mismatch = client.post(
        "/account/password/",
        {
            "old_password": one_time,
            "new_password1": "a brand new passphrase",
            "new_password2": "a different passphrase",
        },
    )
    assert "differ" in mismatch.content.decode()
    changed = client.post(
        "/account/password/",
        {
            "old_password": one_time,
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )
    assert changed.status_code == 302
    user.refresh_from_db()
    assert user.must_change_password is False
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    assert post_password(Client(), "new_admin", one_time).status_code == 400
    assert Event.objects.filter(action="user.password_change", actor=user).exists()


def test_it_leaves_api_tokens_made_on_the_command_line_alone(district, open_case):
    case = open_case()
    printed = io.StringIO()
    call_command("user", "token", "site_admin", stdout=printed, stderr=io.StringIO())
    api = Client(HTTP_AUTHORIZATION=f"Token {printed.getvalue().strip()}")
    assert api.get(f"/api/v1/cases/{case.pk}").status_code == 200
    call_command("user", "revoke-token", "site_admin", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert api.get(f"/api/v1/cases/{case.pk}").status_code == 401


def test_it_offers_no_way_to_make_a_token_on_the_web_or_the_api(district):
    client = sign_in_client(Client(), district["district_coordinator"])
    for path in ("/api/v1/tokens", "/api/v1/token", "/api-token-auth/", "/account/token/"):
        assert client.post(path).status_code == 404


def test_it_refuses_a_sign_in_post_without_its_csrf_token(district):
    client = Client(enforce_csrf_checks=True)
    assert post_password(client, "reporter").status_code == 403
    page = client.get("/signin/")
    token = page.cookies["csrftoken"].value
    answer = client.post(
        "/signin/", {"username": "reporter", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302


def test_it_sets_secure_http_only_same_site_session_cookies(district):
    answer = post_password(Client(), "reporter")
    cookie = answer.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    # Not kept after the browser closes; idle sessions end on the server anyway.
    assert not cookie["max-age"] and not cookie["expires"]
    assert answer.cookies["csrftoken"]["secure"] is True


def test_it_records_a_sign_in_only_once_the_second_factor_is_accepted(district):
    enrol(Client(), "site_admin")
    before = Event.objects.filter(action="signin.success").count()
    client = Client()
    post_password(client, "site_admin")
    assert Event.objects.filter(action="signin.success").count() == before
    client.post("/signin/code/", {"code": fresh_totp_code("site_admin")})
    assert Event.objects.filter(action="signin.success").count() == before + 1
    verified = Event.objects.filter(action="mfa.verify", actor=district["site_admin"]).last()
    assert verified is not None and verified.payload == {"second_factor": "totp"}


@pytest.mark.parametrize("path", ["/signin/code/", "/signin/enrol/"])
def test_it_sends_anyone_without_a_fresh_password_step_back_to_sign_in(district, path):
    answer = Client().get(path)
    assert answer.status_code == 302 and answer["Location"] == "/signin/"


def test_it_signs_out_only_by_post(district):
    client = sign_in_client(Client(), district["reporter"])
    assert client.get("/signout/").status_code == 405
    assert signed_in(client)
    assert client.post("/signout/")["Location"] == "/signin/"
    assert not signed_in(client)

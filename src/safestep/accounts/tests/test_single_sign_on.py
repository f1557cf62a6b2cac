"""Signing in through the district's identity provider (OpenID Connect single sign-on).

End to end against a real OpenID provider started by the test (accounts/tests/conftest.py):
SafeStep's pages are driven with Django's test client, the provider over HTTP as a browser
would, and SafeStep itself reads the provider's discovery document and keys and redeems
the code at its token endpoint.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from django.test import Client

from safestep import config
from safestep.accounts.models import User
from safestep.accounts.services import user_deactivate
from safestep.accounts.sessions import LAST_SEEN_KEY
from safestep.accounts.testing import fresh_totp_code, verified_device
from safestep.audit.models import Event
from safestep.config import ConfigError, OidcSettings

PASSWORD = "a long test password"
DISTRICT = "Lincoln Unified"


def provider_knows(issuer: str, sub: str, **claims: object) -> None:
    """Tell the provider what the ID token of the person SUB says."""
    answer = httpx.put(f"{issuer}/users/{quote(sub)}", json=claims)
    assert answer.status_code == 204, answer.text


def to_provider(client: Client, next_url: str = "") -> str:
    """Click "Sign in with ..." on SafeStep; return where the browser is sent."""
    answer = client.get("/signin/oidc/", {"next": next_url} if next_url else {})
    assert answer.status_code == 302, answer.content
    return answer["Location"]


def approve(authorization_url: str, sub: str) -> str:
    """Approve the sign-in on the provider's page as SUB; return SafeStep's callback URL."""
    answer = httpx.post(authorization_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def back_to_safestep(client: Client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in_with_district(client: Client, issuer: str, sub: str, next_url: str = ""):
    return back_to_safestep(client, approve(to_provider(client, next_url), sub))


def signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def with_changed_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode(query | changes)))


def sso_events() -> list[tuple[str, dict]]:
    return [
        (event.action, event.payload)
        for event in Event.objects.filter(action__startswith="signin").order_by("seq")
    ]


def district_account(settings, issuer: str, *, trust_mfa: bool = False) -> OidcSettings:
    settings.SAFESTEP_OIDC = OidcSettings(
        issuer=issuer,
        client_id="safestep-lincoln",
        client_secret="a client secret from the provider",
        name=DISTRICT,
        trust_mfa=trust_mfa,
    )
    return settings.SAFESTEP_OIDC


@pytest.fixture
def sso(settings, district_provider, district) -> str:
    """Single sign-on configured against the real provider; staff have district e-mails."""
    district_account(settings, district_provider)
    for username in ("reporter", "counselor", "site_admin"):
        User.objects.filter(username=username).update(email=f"{username}@lincoln.example")
    return district_provider


# --- accepted ------------------------------------------------------------------------------


def test_it_offers_the_district_account_beside_the_password(sso):
    page = Client().get("/signin/?next=/concerns/").content.decode()
    assert f"Sign in with {DISTRICT}" in page
    assert 'href="/signin/oidc/?next=/concerns/"' in page
    assert 'name="password"' in page


def test_it_signs_a_reporter_in_through_the_provider(sso):
    provider_knows(sso, "r-1", email="Reporter@Lincoln.EXAMPLE", email_verified=True)
    client = Client()
    client.get("/signin/")
    session_before = client.session.session_key
    authorization_url = to_provider(client, "/concerns/")
    # State, nonce and PKCE go with the request; only the provider's own page is next.
    asked = parse_qs(urlsplit(authorization_url).query)
    assert authorization_url.startswith(f"{sso}/")
    assert asked["scope"] == ["openid email profile"]
    assert asked["code_challenge_method"] == ["S256"]
    assert len(asked["code_challenge"][0]) >= 43 and asked["state"] and asked["nonce"]
    assert asked["redirect_uri"] == ["http://testserver/signin/oidc/callback/"]

    answer = back_to_safestep(client, approve(authorization_url, "r-1"))

    assert answer.status_code == 302 and answer["Location"] == "/concerns/"
    assert signed_in(client)
    # As after a password: a new session id, and the idle timer running.
    assert client.session.session_key != session_before
    assert LAST_SEEN_KEY in client.session
    assert sso_events() == [
        ("signin.sso", {"email": "Reporter@Lincoln.EXAMPLE", "provider_second_factor": False}),
        ("signin.success", {}),
    ]
    assert Event.objects.get(action="signin.sso").actor == User.objects.get(username="reporter")


def test_it_does_not_hold_a_provider_sign_in_for_a_one_time_password(sso):
    # An operator added the account with a one-time password; the district signs in
    # through its provider and never learns it, so "choose a new password" would lock
    # them out.
    User.objects.filter(username="reporter").update(must_change_password=True)
    provider_knows(sso, "r-1", email="reporter@lincoln.example", email_verified=True)
    client = Client()

    sign_in_with_district(client, sso, "r-1")

    assert client.get("/").status_code == 200


def test_it_still_holds_a_password_sign_in_after_a_provider_sign_in(sso):
    User.objects.filter(username="reporter").update(must_change_password=True)
    provider_knows(sso, "r-1", email="reporter@lincoln.example", email_verified=True)
    client = Client()
    sign_in_with_district(client, sso, "r-1")
    client.post("/signout/")

    client.post("/signin/", {"username": "reporter", "password": PASSWORD})

    answer = client.get("/")
    assert answer.status_code == 302 and answer["Location"].startswith("/account/password/")


def test_it_asks_a_counselor_for_the_second_factor_after_the_provider(sso, district):
    provider_knows(sso, "c-1", email="counselor@lincoln.example", email_verified=True)
    client = Client()
    answer = sign_in_with_district(client, sso, "c-1", "/cases/")
    assert answer.status_code == 302 and answer["Location"] == "/signin/enrol/"
    assert not signed_in(client)

    verified_device(district["counselor"])
    client = Client()
    answer = sign_in_with_district(client, sso, "c-1", "/cases/")
    assert answer["Location"] == "/signin/code/"
    assert not signed_in(client)
    done = client.post("/signin/code/", {"code": fresh_totp_code(district["counselor"])})
    assert done.status_code == 302 and done["Location"] == "/cases/"
    assert signed_in(client)


def test_it_trusts_the_providers_second_factor_only_when_the_district_says_so(
    settings, sso, district
):
    verified_device(district["site_admin"])
    provider_knows(
        sso, "a-1", email="site_admin@lincoln.example", email_verified=True, amr=["pwd", "mfa"]
    )
    provider_knows(sso, "a-2", email="site_admin@lincoln.example", email_verified=True, amr=["pwd"])

    # Not trusted (the default): SafeStep's own second factor, even after the provider's.
    assert sign_in_with_district(Client(), sso, "a-1")["Location"] == "/signin/code/"

    district_account(settings, sso, trust_mfa=True)
    assert sign_in_with_district(Client(), sso, "a-2")["Location"] == "/signin/code/"
    client = Client()
    answer = sign_in_with_district(client, sso, "a-1")
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert signed_in(client)
    accepted = Event.objects.filter(action="signin.sso").last()
    assert accepted is not None and accepted.payload["provider_second_factor"]

    # The district stops trusting it: that session ends at its next request.
    district_account(settings, sso, trust_mfa=False)
    answer = client.get("/")
    assert answer.status_code == 302 and "reason=second_factor" in answer["Location"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_signs_in_through_the_provider_in_a_real_browser(page, live_server, settings, sso):
    """Chromium follows the whole round trip: SafeStep's link (its CSP allows it), the
    provider's page, and back with the session cookie."""
    provider_knows(sso, "r-1", email="reporter@lincoln.example", email_verified=True)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/signin/")
    page.get_by_role("link", name=f"Sign in with {DISTRICT}").click()
    page.wait_for_url(f"{sso}/oauth2/authorize*")
    page.get_by_placeholder("sub").fill("r-1")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert violations == []


# --- refused -------------------------------------------------------------------------------


def assert_refused(answer, reason: str, *, email: str = "") -> dict:
    assert answer.status_code == 403
    page = answer.content.decode()
    assert "SafeStep did not sign you in" in page
    assert "ask your district's SafeStep coordinator" in page
    event = Event.objects.filter(action="signin.sso_refused").last()
    assert event is not None and event.actor is None
    assert event.payload["reason"] == reason and event.payload["email"] == email
    assert not Event.objects.filter(action__in=["signin.sso", "signin.success"]).exists()
    return event.payload


def test_it_refuses_someone_without_a_safestep_account(sso):
    provider_knows(sso, "s-1", email="stranger@lincoln.example", email_verified=True)
    client = Client()
    answer = sign_in_with_district(client, sso, "s-1")
    assert_refused(answer, "unknown_email", email="stranger@lincoln.example")
    assert "No active SafeStep account has the e-mail address stranger@lincoln.example" in (
        answer.content.decode()
    )
    assert not signed_in(client)


@pytest.mark.parametrize("verified", [False, "false", None])
def test_it_refuses_an_email_the_provider_has_not_verified(sso, verified):
    claims = {"email": "reporter@lincoln.example"}
    if verified is not None:
        claims["email_verified"] = verified
    provider_knows(sso, "u-1", **claims)
    client = Client()
    answer = sign_in_with_district(client, sso, "u-1")
    assert_refused(answer, "email_unverified", email="reporter@lincoln.example")
    assert not signed_in(client)


def test_it_refuses_a_deactivated_account(sso, district):
    user_deactivate(acting_user=district["district_coordinator"], username="reporter")
    provider_knows(sso, "r-1", email="reporter@lincoln.example", email_verified=True)
    client = Client()
    answer = sign_in_with_district(client, sso, "r-1")
    assert_refused(answer, "deactivated", email="reporter@lincoln.example")
    assert "is deactivated" in answer.content.decode()
    assert not signed_in(client)


def test_it_refuses_when_the_person_declines_at_the_provider(sso):
    client = Client()
    declined = httpx.post(to_provider(client), data={"action": "deny"})
    answer = back_to_safestep(client, declined.headers["location"])
    payload = assert_refused(answer, "provider_error")
    assert payload["detail"] == "access_denied"


def test_it_refuses_a_tampered_state(sso):
    provider_knows(sso, "r-1", email="reporter@lincoln.example", email_verified=True)
    client = Client()
    callback = approve(to_provider(client), "r-1")
    answer = back_to_safestep(client, with_changed_query(callback, state="guessed"))
    assert_refused(answer, "invalid_response")
    assert not signed_in(client)


def test_it_refuses_an_answer_meant_for_another_browser(sso):
    """Login CSRF: a code fetched in the attacker's session is useless in the victim's."""
    provider_knows(sso, "r-1", email="reporter@lincoln.example", email_verified=True)
    callback = approve(to_provider(Client()), "r-1")
    victim = Client()
    assert_refused(back_to_safestep(victim, callback), "invalid_response")
    assert not signed_in(victim)


def test_it_refuses_an_id_token_with_a_tampered_nonce(sso):
    provider_knows(sso, "r-1", email="reporter@lincoln.example", email_verified=True)
    client = Client()
    authorization_url = with_changed_query(to_provider(client), nonce="replayed-nonce")
    payload = assert_refused(
        back_to_safestep(client, approve(authorization_url, "r-1")), "invalid_response"
    )
    assert "nonce" in payload["detail"]
    assert not signed_in(client)


def test_it_refuses_an_expired_id_token(settings, expired_token_provider, district):
    district_account(settings, expired_token_provider)
    User.objects.filter(username="reporter").update(email="reporter@lincoln.example")
    provider_knows(
        expired_token_provider, "r-1", email="reporter@lincoln.example", email_verified=True
    )
    client = Client()
    answer = sign_in_with_district(client, expired_token_provider, "r-1")
    payload = assert_refused(answer, "invalid_response")
    assert "exp" in payload["detail"]
    assert not signed_in(client)


def test_it_refuses_an_id_token_signed_by_another_key(settings, forging_provider, district):
    district_account(settings, forging_provider)
    User.objects.filter(username="reporter").update(email="reporter@lincoln.example")
    provider_knows(forging_provider, "r-1", email="reporter@lincoln.example", email_verified=True)
    client = Client()
    answer = sign_in_with_district(client, forging_provider, "r-1")
    payload = assert_refused(answer, "invalid_response")
    assert payload["detail"] == "bad_signature"
    assert not signed_in(client)


def test_it_never_writes_a_token_into_the_trail(sso):
    provider_knows(sso, "s-1", email="stranger@lincoln.example", email_verified=True)
    client = Client()
    callback = approve(to_provider(client), "s-1")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    back_to_safestep(client, callback)
    stored = " ".join(Event.objects.values_list("payload_json", flat=True))
    assert code not in stored and "eyJ" not in stored


# --- password sign-in off ------------------------------------------------------------------


def test_it_leaves_only_single_sign_on_when_password_sign_in_is_off(settings, sso):
    settings.SAFESTEP_PASSWORD_SIGNIN = False
    page = Client().get("/signin/").content.decode()
    assert f"Sign in with {DISTRICT}" in page
    assert 'name="password"' not in page

    client = Client()
    answer = client.post("/signin/", {"username": "reporter", "password": PASSWORD})
    assert answer.status_code == 403
    assert "Signing in with a SafeStep password is turned off" in answer.content.decode()
    assert not signed_in(client)
    # Not even checked: nothing is counted towards a lockout or recorded as a failure.
    assert not Event.objects.filter(action__startswith="signin").exists()

    provider_knows(sso, "r-1", email="reporter@lincoln.example", email_verified=True)
    assert sign_in_with_district(client, sso, "r-1")["Location"] == "/"
    assert signed_in(client)


def test_it_keeps_the_password_lockout_beside_single_sign_on(sso):
    client = Client()
    for _ in range(5):
        client.post("/signin/", {"username": "reporter", "password": "wrong"})
    answer = client.post("/signin/", {"username": "reporter", "password": PASSWORD})
    assert answer.status_code == 429
    assert f"Sign in with {DISTRICT}" in answer.content.decode()


def test_it_has_no_single_sign_on_without_a_provider(district):
    assert "/signin/oidc/" not in Client().get("/signin/").content.decode()
    assert Client().get("/signin/oidc/").status_code == 404
    assert Client().get("/signin/oidc/callback/?code=x&state=y").status_code == 404


def test_it_says_so_when_the_provider_cannot_be_reached(settings, district):
    district_account(settings, "http://localhost:9")
    answer = Client().get("/signin/oidc/")
    assert answer.status_code == 503
    assert f"SafeStep cannot reach {DISTRICT} right now" in answer.content.decode()


def test_it_refuses_a_provider_whose_discovery_names_another_issuer(
    settings, impostor_provider, district
):
    district_account(settings, impostor_provider)
    answer = Client().get("/signin/oidc/")
    assert answer.status_code == 503
    assert "idp.elsewhere.example" not in answer.get("Location", "")


# --- configuration -------------------------------------------------------------------------


def load(tmp_path: Path, **variables: str) -> config.Config:
    return config.load({"SAFESTEP_DATA_DIR": str(tmp_path), **variables})


OIDC = {
    "SAFESTEP_OIDC_ISSUER": "https://accounts.google.com/",
    "SAFESTEP_OIDC_CLIENT_ID": "1234.apps.googleusercontent.com",
    "SAFESTEP_OIDC_CLIENT_SECRET": "a client secret",
}


def test_it_reads_the_single_sign_on_settings(tmp_path):
    secret_file = tmp_path / "oidc-secret"
    secret_file.write_text("from a file\n")
    variables = {**OIDC, "SAFESTEP_OIDC_NAME": DISTRICT, "SAFESTEP_OIDC_TRUST_MFA": "true"}
    del variables["SAFESTEP_OIDC_CLIENT_SECRET"]
    loaded = load(tmp_path, **variables, SAFESTEP_OIDC_CLIENT_SECRET_FILE=str(secret_file))
    assert loaded.oidc == OidcSettings(
        issuer="https://accounts.google.com",
        client_id="1234.apps.googleusercontent.com",
        client_secret="from a file",
        name=DISTRICT,
        trust_mfa=True,
    )
    assert "from a file" not in repr(loaded.oidc)
    assert loaded.password_signin
    assert load(tmp_path).oidc is None


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {**OIDC, "SAFESTEP_OIDC_CLIENT_ID": ""},
            "SAFESTEP_OIDC_CLIENT_ID: must be set when SAFESTEP_OIDC_ISSUER is",
        ),
        (
            {**OIDC, "SAFESTEP_OIDC_CLIENT_SECRET": ""},
            "SAFESTEP_OIDC_CLIENT_SECRET: must be set (or SAFESTEP_OIDC_CLIENT_SECRET_FILE)",
        ),
        (
            {**OIDC, "SAFESTEP_OIDC_ISSUER": "http://idp.lincoln.example"},
            "SAFESTEP_OIDC_ISSUER: 'http://idp.lincoln.example' must use https",
        ),
        (
            {**OIDC, "SAFESTEP_OIDC_ISSUER": "accounts.google.com"},
            "SAFESTEP_OIDC_ISSUER: 'accounts.google.com' is not an issuer URL",
        ),
        (
            {"SAFESTEP_OIDC_CLIENT_ID": "1234"},
            "SAFESTEP_OIDC_ISSUER: must be set when SAFESTEP_OIDC_CLIENT_ID is",
        ),
        (
            {**OIDC, "SAFESTEP_OIDC_TRUST_MFA": "maybe"},
            "SAFESTEP_OIDC_TRUST_MFA: expected true or false",
        ),
        (
            {"SAFESTEP_PASSWORD_SIGNIN": "false"},
            "SAFESTEP_PASSWORD_SIGNIN: cannot be false without SAFESTEP_OIDC_ISSUER",
        ),
    ],
)
def test_it_stops_start_up_naming_the_variable(tmp_path, variables, message):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, **variables)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_it_allows_plain_http_only_on_this_machine_or_in_debug(tmp_path):
    local = {**OIDC, "SAFESTEP_OIDC_ISSUER": "http://localhost:9400"}
    assert load(tmp_path, **local).oidc == OidcSettings(
        issuer="http://localhost:9400",
        client_id=OIDC["SAFESTEP_OIDC_CLIENT_ID"],
        client_secret="a client secret",
    )
    remote = {**OIDC, "SAFESTEP_OIDC_ISSUER": "http://idp.lincoln.example"}
    in_debug = load(tmp_path, **remote, SAFESTEP_DEBUG="true").oidc
    assert in_debug is not None and in_debug.issuer == "http://idp.lincoln.example"
    assert not load(tmp_path, **OIDC, SAFESTEP_PASSWORD_SIGNIN="false").password_signin

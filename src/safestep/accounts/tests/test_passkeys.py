"""Passkeys as a second factor: setting one up, signing in with it, removing it.

The pages are driven with Django's test client on the host "localhost" (the passkeys'
host name by default). The browser's part is played by a small software authenticator
below: it signs with a real P-256 key, the way a security key does, and django-otp-webauthn
checks its answers exactly as it checks a browser's. The same journey in a real Chromium,
with Chromium's own virtual authenticator, is test_browser_passkeys.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass, field
from typing import Any

import cbor2
import pytest
from axes.models import AccessAttempt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential

from safestep.accounts.models import BackupCodeDevice
from safestep.accounts.services import mfa_reset
from safestep.accounts.testing import sign_in_client
from safestep.audit.models import Event
from safestep.config import ConfigError, parse_passkey_rp_id

PASSWORD = "a long test password"
HOST = "localhost"
ORIGIN = f"http://{HOST}"


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    """A passkey authenticator in software: one P-256 key per credential it creates."""

    origin: str = ORIGIN
    keys: dict[bytes, ec.EllipticCurvePrivateKey] = field(default_factory=dict)
    counter: int = 0

    def _auth_data(self, rp_id: str, flags: int, attested: bytes = b"") -> bytes:
        self.counter += 1
        rp_hash = hashlib.sha256(rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.counter) + attested

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """Answer navigator.credentials.create() for OPTIONS (the server's begin answer)."""
        key = ec.generate_private_key(ec.SECP256R1())
        credential_id = secrets.token_bytes(32)
        self.keys[credential_id] = key
        numbers = key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        attested = bytes(16) + struct.pack(">H", len(credential_id)) + credential_id + cose_key
        # User present, user verified, attested credential data included.
        auth_data = self._auth_data(options["rp"]["id"], 0x01 | 0x04 | 0x40, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(
                    self._client_data("webauthn.create", options["challenge"])
                ),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {"credProps": {"rk": True}},
        }

    def get(self, options: dict[str, Any], *, tamper: bool = False) -> dict[str, Any]:
        """Answer navigator.credentials.get() with the first allowed credential it holds."""
        allowed = [from_b64url(item["id"]) for item in options.get("allowCredentials", [])]
        credential_id = next(cid for cid in allowed if cid in self.keys)
        auth_data = self._auth_data(options["rpId"], 0x01 | 0x04)
        client_data = self._client_data("webauthn.get", options["challenge"])
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.keys[credential_id].sign(signed, ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = self.keys[credential_id].sign(b"something else", ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
            },
            "clientExtensionResults": {},
        }


def browser(**extra: Any) -> Client:
    return Client(HTTP_HOST=HOST, **extra)


def post_json(client: Client, url: str, body: dict[str, Any] | None = None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def post_password(client: Client, username: str) -> str:
    answer = client.post("/signin/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302
    return answer["Location"]


def add_passkey(client: Client, authenticator: SoftAuthenticator):
    options = post_json(client, "/passkeys/register/begin/")
    assert options.status_code == 200, options.content
    return post_json(client, "/passkeys/register/complete/", authenticator.create(options.json()))


def actions(username: str) -> list[str]:
    return list(
        Event.objects.filter(actor_username=username)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def first_setup_with_passkey(username: str) -> tuple[Client, SoftAuthenticator]:
    client = browser()
    assert post_password(client, username) == "/signin/enrol/"
    authenticator = SoftAuthenticator()
    done = add_passkey(client, authenticator)
    assert done.status_code == 200, done.content
    assert done.json()["redirect_url"] == "/signin/enrol/codes/"
    return client, authenticator


# --- setting up ---------------------------------------------------------------------------


def test_it_offers_a_passkey_on_the_enrol_page_on_the_passkeys_host(district):
    client = browser()
    post_password(client, "counselor")
    page = client.get("/signin/enrol/").content.decode()
    assert 'id="passkey-register-button"' in page and "Set up a passkey" in page
    assert 'id="otp_webauthn_config" type="application/json"' in page
    assert "/static/django_otp_webauthn/otp_webauthn_register.js" in page
    # On an address the passkeys are not bound to, the browser would refuse: not offered.
    elsewhere = Client(HTTP_HOST="127.0.0.1")
    post_password(elsewhere, "site_admin")
    assert "passkey-register-button" not in elsewhere.get("/signin/enrol/").content.decode()


def test_it_signs_in_with_a_first_passkey_and_shows_backup_codes_once(district):
    client, _ = first_setup_with_passkey("counselor")
    assert signed_in(client)
    page = client.get("/signin/enrol/codes/")
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page.content.decode())
    assert len(codes) == 10
    assert BackupCodeDevice.objects.get(user__username="counselor").codes_left == 10
    # Shown once: the page does not show them again.
    assert client.get("/signin/enrol/codes/").status_code == 302
    assert actions("counselor")[-2:] == ["mfa.passkey_add", "signin.success"]
    credential = WebAuthnCredential.objects.get(user__username="counselor")
    assert credential.confirmed and credential.name == "Passkey"


def test_it_refuses_a_new_passkey_after_a_password_alone_once_a_second_factor_exists(district):
    first_setup_with_passkey("counselor")
    client = browser()
    assert post_password(client, "counselor") == "/signin/code/"
    refused = post_json(client, "/passkeys/register/begin/")
    assert refused.status_code == 403
    assert "second factor" in refused.json()["detail"]
    assert WebAuthnCredential.objects.filter(user__username="counselor").count() == 1


def test_it_refuses_a_passkey_made_for_another_site(district):
    client = browser()
    post_password(client, "counselor")
    refused = add_passkey(client, SoftAuthenticator(origin="https://safestep.example.net"))
    assert refused.status_code == 422
    assert not WebAuthnCredential.objects.filter(user__username="counselor").exists()
    assert "mfa.passkey_add" not in actions("counselor")
    assert not signed_in(client)


def test_it_refuses_to_complete_a_ceremony_that_was_never_begun(district):
    client = browser()
    post_password(client, "counselor")
    refused = post_json(
        client,
        "/passkeys/register/complete/",
        SoftAuthenticator().create({"rp": {"id": HOST}, "challenge": b64url(b"made up")}),
    )
    assert refused.status_code == 400
    assert not WebAuthnCredential.objects.exists()


def test_it_adds_another_passkey_from_the_account_page(district):
    client = sign_in_client(browser(), district["site_admin"])
    page = client.get("/account/passkeys/").content.decode()
    assert "You have no passkey." in page and 'id="passkey-register-button"' in page
    assert 'href="/account/passkeys/"' in client.get("/account/").content.decode()
    done = add_passkey(client, SoftAuthenticator())
    assert done.json()["redirect_url"] == "/account/passkeys/"
    listed = client.get("/account/passkeys/").content.decode()
    assert "Your passkey was added." in listed and "Passkey 1" in listed
    # Already verified by the app: no new backup codes.
    assert not BackupCodeDevice.objects.filter(user=district["site_admin"]).exists()


def test_it_offers_no_passkey_to_a_role_that_signs_in_with_a_password_alone(district):
    client = browser()
    post_password(client, "reporter")
    refused = post_json(client, "/passkeys/register/begin/")
    assert refused.status_code == 403
    assert "password alone" in client.get("/account/passkeys/").content.decode()


# --- signing in ---------------------------------------------------------------------------


def test_it_offers_the_passkey_at_the_second_factor_only_to_who_has_one(district):
    first_setup_with_passkey("counselor")
    client = browser()
    post_password(client, "counselor")
    page = client.get("/signin/code/").content.decode()
    assert 'id="passkey-verification-button"' in page and "Use a passkey" in page
    assert "/static/django_otp_webauthn/otp_webauthn_auth.js" in page
    other = sign_in_client(browser(), district["site_admin"])
    other.post("/signout/")
    post_password(other, "site_admin")
    assert "passkey-verification-button" not in other.get("/signin/code/").content.decode()


def test_it_signs_in_with_a_passkey_as_the_second_factor(district):
    _, authenticator = first_setup_with_passkey("counselor")
    client = browser()
    client.post("/signin/", {"username": "counselor", "password": PASSWORD, "next": "/protocol/"})
    options = post_json(client, "/signin/passkey/begin/").json()
    assert options["rpId"] == HOST
    assert not signed_in(client)
    done = post_json(client, "/signin/passkey/complete/", authenticator.get(options))
    assert done.status_code == 200, done.content
    assert done.json()["redirect_url"] == "/protocol/"
    assert signed_in(client)
    assert actions("counselor")[-2:] == ["mfa.passkey_verify", "signin.success"]
    assert WebAuthnCredential.objects.get(user__username="counselor").last_used_at is not None


def test_it_refuses_a_wrong_signature_and_counts_it_towards_the_lockout(district):
    _, authenticator = first_setup_with_passkey("counselor")
    client = browser()
    post_password(client, "counselor")
    options = post_json(client, "/signin/passkey/begin/").json()
    refused = post_json(
        client, "/signin/passkey/complete/", authenticator.get(options, tamper=True)
    )
    assert refused.status_code == 422
    assert not signed_in(client)
    assert AccessAttempt.objects.get(username="counselor").failures_since_start == 1
    # The challenge was used up: the right answer to it is refused too.
    replay = post_json(client, "/signin/passkey/complete/", authenticator.get(options))
    assert replay.status_code == 400 and not signed_in(client)


def test_it_refuses_another_users_passkey(district):
    _, counselor_key = first_setup_with_passkey("counselor")
    first_setup_with_passkey("site_admin")
    client = browser()
    post_password(client, "site_admin")
    options = post_json(client, "/signin/passkey/begin/").json()
    # The counselor's authenticator answers, signing with the counselor's own key.
    options["allowCredentials"] = [{"id": b64url(next(iter(counselor_key.keys)))}]
    refused = post_json(client, "/signin/passkey/complete/", counselor_key.get(options))
    assert refused.status_code == 403
    assert not signed_in(client)


def test_it_asks_for_the_password_before_a_passkey(district):
    first_setup_with_passkey("counselor")
    refused = post_json(browser(), "/signin/passkey/begin/")
    assert refused.status_code == 403
    assert "Sign in again" in refused.json()["detail"]


# --- removing -----------------------------------------------------------------------------


def test_it_never_removes_the_last_second_factor(district):
    client, _ = first_setup_with_passkey("counselor")
    only = WebAuthnCredential.objects.get(user__username="counselor")
    refused = client.post("/account/passkeys/remove/", {"passkey": only.pk})
    assert refused.status_code == 409
    assert "only second factor" in refused.content.decode()
    assert WebAuthnCredential.objects.filter(pk=only.pk).exists()
    assert "mfa.passkey_remove" not in actions("counselor")


def test_it_removes_a_passkey_when_another_second_factor_remains(district):
    client = sign_in_client(browser(), district["site_admin"])
    add_passkey(client, SoftAuthenticator())
    passkey = WebAuthnCredential.objects.get(user=district["site_admin"])
    done = client.post("/account/passkeys/remove/", {"passkey": passkey.pk})
    assert done.status_code == 302 and done["Location"] == "/account/passkeys/"
    assert "You have no passkey now." in client.get("/account/passkeys/").content.decode()
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert actions("site_admin")[-1] == "mfa.passkey_remove"


def test_it_names_the_field_when_no_passkey_is_chosen_and_hides_others_passkeys(district):
    first_setup_with_passkey("counselor")
    someone_elses = WebAuthnCredential.objects.get(user__username="counselor")
    client = sign_in_client(browser(), district["site_admin"])
    missing = client.post("/account/passkeys/remove/", {})
    assert missing.status_code == 400 and "Choose the passkey" in missing.content.decode()
    assert (
        client.post("/account/passkeys/remove/", {"passkey": someone_elses.pk}).status_code == 404
    )
    assert WebAuthnCredential.objects.filter(pk=someone_elses.pk).exists()


def test_it_removes_the_passkeys_when_an_operator_resets_the_second_factor(district):
    first_setup_with_passkey("counselor")
    mfa_reset(username="counselor")
    assert not WebAuthnCredential.objects.filter(user__username="counselor").exists()
    client = browser()
    assert post_password(client, "counselor") == "/signin/enrol/"


# --- configuration ------------------------------------------------------------------------


def test_it_binds_passkeys_to_the_first_host_name_unless_told_otherwise():
    assert parse_passkey_rp_id("V", "", ["127.0.0.1", ".safestep.example.org"]) == (
        "safestep.example.org"
    )
    assert parse_passkey_rp_id("V", "", ["10.0.0.4"]) == "localhost"
    assert parse_passkey_rp_id("V", "Example.ORG", ["safestep.example.org"]) == "example.org"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("https://safestep.example.org", "not a host name"),
        ("192.0.2.4", "not a host name"),
        ("safestep.example.net", "neither one of SAFESTEP_ALLOWED_HOSTS"),
    ],
)
def test_it_refuses_a_passkey_host_name_that_cannot_work(raw, problem):
    with pytest.raises(ConfigError) as refused:
        parse_passkey_rp_id("SAFESTEP_PASSKEY_RP_ID", raw, ["safestep.example.org"])
    assert str(refused.value).startswith("SAFESTEP_PASSKEY_RP_ID:")
    assert problem in str(refused.value)


def test_it_says_where_the_passkey_works_when_signing_in_at_another_address(district):
    first_setup_with_passkey("counselor")
    client = Client(HTTP_HOST="127.0.0.1")
    assert post_password(client, "counselor") == "/signin/code/"
    page = client.get("/signin/code/").content.decode()
    assert "Your passkey works only at localhost" in page
    assert "passkey-verification-button" not in page
    assert "type one of your backup codes" in page

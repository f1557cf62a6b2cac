"""Signing in from tests the way people do, second factor included; API tokens for tests.

Tests sign in through the real pages (browser tests) or, for the Django test client, with a
session that is exactly what a completed sign-in leaves behind: a user and the confirmed
authenticator that verified them. Nothing here is used by SafeStep itself.
"""

from __future__ import annotations

import time
from base64 import b32decode
from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from safestep.accounts.access import needs_second_factor
from safestep.accounts.models import ApiToken, AuthenticatorDevice, User
from safestep.accounts.sessions import LAST_SEEN_KEY
from safestep.accounts.tokens import digest_of, issue_key

TOTP_STEP_SECONDS = 30

# Keys handed out by api_token_for, by digest: only the digest is stored, so a second call
# for the same user returns the key already in use instead of replacing it.
_issued_keys: dict[str, str] = {}


def totp_code_for_secret(secret: str, *, at: float | None = None) -> str:
    """The 6-digit code an authenticator app shows for SECRET (base32, as on the page)."""
    key = b32decode(secret.upper() + "=" * (-len(secret) % 8))
    totp = TOTP(key, step=TOTP_STEP_SECONDS)
    if at is not None:
        totp.time = at
    return f"{totp.token():06d}"


def fresh_totp_code(user: User | str) -> str:
    """A code the user's confirmed authenticator would accept now.

    An accepted code cannot be used twice, so after a sign-in in the same 30 seconds this
    gives the next time step's code (accepted within the one-step tolerance), or waits.
    """
    device = AuthenticatorDevice.objects.get(
        **({"user__username": user} if isinstance(user, str) else {"user": user}), confirmed=True
    )
    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    now_t = totp.t()
    if device.last_t >= now_t + device.tolerance:
        time.sleep(TOTP_STEP_SECONDS - time.time() % TOTP_STEP_SECONDS + 0.1)
        now_t = totp.t()
    wanted = max(now_t, device.last_t + 1)
    totp.time = (wanted - totp.drift) * totp.step + totp.t0
    return f"{totp.token():0{device.digits}d}"


def verified_device(user: User) -> AuthenticatorDevice:
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = AuthenticatorDevice.objects.create(
            user=user, name="Authenticator app", confirmed=True
        )
    return device


def sign_in_client(client: Client, user: User) -> Client:
    """Make CLIENT's session a completed sign-in of USER (second factor verified)."""
    client.force_login(user)
    session = client.session
    if needs_second_factor(user):
        session[DEVICE_ID_SESSION_KEY] = verified_device(user).persistent_id
    session[LAST_SEEN_KEY] = time.time()
    session.save()
    return client


def signed_in_client(user: User, **client_options: Any) -> Client:
    return sign_in_client(Client(**client_options), user)


def api_token_for(user: User) -> str:
    """A working API token key for USER, made if needed (no audit event, as a fixture).

    Calling it again for the same user returns the same key while that token exists, so
    two clients of one user in a test do not knock each other out.
    """
    current = ApiToken.objects.filter(user=user).values_list("digest", flat=True).first()
    if current is not None and current in _issued_keys:
        return _issued_keys[current]
    key = issue_key(user)
    _issued_keys[digest_of(key)] = key
    return key

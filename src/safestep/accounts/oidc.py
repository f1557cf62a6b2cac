"""Signing in through the district's identity provider (OpenID Connect single sign-on).

SafeStep is the relying party of the authorization code flow. It sends the browser to the
provider with a state, a nonce and a PKCE challenge (kept in the session by Authlib),
takes back a code, trades it for tokens at the provider, and checks the ID token: its
signature against the provider's published keys (JWKS), and its issuer, audience, expiry
and nonce. The provider's discovery document is read at the first sign-in and kept for
the life of the process; its keys are read again when a token names a key not seen yet.

The provider only says who someone is. Whether they get in is SafeStep's decision: a
verified e-mail address must belong to exactly one active SafeStep account. Anyone else
is refused, and every acceptance and refusal is written to the audit trail (the reason
and the e-mail address, never a token). What follows an acceptance is the same as after
a correct password (accounts/views.py): the second factor for roles that need one, unless
the district trusts the provider's own second factor (SAFESTEP_OIDC_TRUST_MFA).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy
from joserfc.errors import JoseError

from safestep.accounts.models import User
from safestep.audit.actions import Action
from safestep.audit.services import event_record
from safestep.config import OidcSettings

logger = logging.getLogger(__name__)

# What SafeStep asks the provider for: the ID token, and the e-mail claims in it.
SCOPES = "openid email profile"
# Where the browser was going when it left for the provider.
NEXT_KEY = "safestep_sso_next"
# Set on a session whose second factor the provider checked (SAFESTEP_OIDC_TRUST_MFA):
# {"user": pk}. The session guard accepts it in place of SafeStep's own second factor.
PROVIDER_MFA_KEY = "safestep_sso_mfa"
# Set on a session signed in through the provider: {"user": pk}. Such a session never used
# SafeStep's password, so the hold of a one-time password ("choose a new password") does
# not apply to it; a later sign-in with that password is still held.
PROVIDER_SIGNIN_KEY = "safestep_sso_signin"
# Authentication method references (RFC 8176) that mean a second factor was checked.
MFA_METHODS = frozenset({"mfa", "otp"})
# Seconds to wait for the provider (discovery, keys, token): a stalled provider must not
# hold a server process.
PROVIDER_TIMEOUT_SECONDS = 10
# Long values from outside (e-mail, error texts) are cut to this in the audit trail.
AUDIT_TEXT_LIMIT = 254


class Refusal(StrEnum):
    """Why single sign-on did not let someone in; recorded as the audit event's reason."""

    PROVIDER_ERROR = "provider_error"
    INVALID_RESPONSE = "invalid_response"
    NO_EMAIL = "no_email"
    EMAIL_UNVERIFIED = "email_unverified"
    UNKNOWN_EMAIL = "unknown_email"
    AMBIGUOUS_EMAIL = "ambiguous_email"
    DEACTIVATED = "deactivated"


# What the refusal page says, by reason. %(name)s is the provider's name on the sign-in
# page, %(email)s the address the provider gave.
EXPLANATIONS = {
    Refusal.PROVIDER_ERROR: gettext_lazy("Signing in with %(name)s was cancelled or refused."),
    Refusal.INVALID_RESPONSE: gettext_lazy(
        "The answer from %(name)s could not be verified: it may have expired, or belong to "
        "another sign-in. Start again from the sign-in page."
    ),
    Refusal.NO_EMAIL: gettext_lazy(
        "Signing in with %(name)s did not give SafeStep your e-mail address."
    ),
    Refusal.EMAIL_UNVERIFIED: gettext_lazy(
        "Signing in with %(name)s did not confirm that your e-mail address %(email)s is verified."
    ),
    Refusal.UNKNOWN_EMAIL: gettext_lazy(
        "No active SafeStep account has the e-mail address %(email)s."
    ),
    Refusal.AMBIGUOUS_EMAIL: gettext_lazy(
        "More than one SafeStep account has the e-mail address %(email)s."
    ),
    Refusal.DEACTIVATED: gettext_lazy(
        "The SafeStep account with the e-mail address %(email)s is deactivated."
    ),
}
DEFAULT_NAME = gettext_lazy("your district account")


class SingleSignOnRefused(Exception):
    """The provider's answer does not let anyone into SafeStep."""

    def __init__(self, reason: Refusal, *, email: str = "", detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.email = email
        self.detail = detail


class ProviderUnavailable(Exception):
    """The provider cannot be reached, or its discovery document does not fit the issuer."""


@dataclass(frozen=True)
class Identity:
    """Whom the provider vouched for, from a verified ID token."""

    subject: str
    email: str
    # The provider says it checked a second factor (amr "mfa" or "otp").
    second_factor: bool


def configured() -> OidcSettings | None:
    oidc = settings.SAFESTEP_OIDC
    return oidc if isinstance(oidc, OidcSettings) else None


def display_name(oidc: OidcSettings) -> str:
    return oidc.name or str(DEFAULT_NAME)


@functools.lru_cache(maxsize=4)
def _client(oidc: OidcSettings) -> DjangoOAuth2App:
    # One client per configuration, kept for the process: it holds the discovery document
    # and the provider's keys once read.
    registry = OAuth()
    client: DjangoOAuth2App = registry.register(
        name="district",
        client_id=oidc.client_id,
        client_secret=oidc.client_secret,
        server_metadata_url=f"{oidc.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": PROVIDER_TIMEOUT_SECONDS,
        },
    )
    return client


def _discovered(oidc: OidcSettings) -> tuple[DjangoOAuth2App, dict[str, Any]]:
    """The client and the provider's discovery document, read once and then kept."""
    client = _client(oidc)
    try:
        metadata: dict[str, Any] = client.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"cannot read the discovery document: {error}") from error
    # OpenID Connect Discovery: the document must name the issuer it was fetched for, or
    # its keys and endpoints are not that issuer's.
    missing = [
        key
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not metadata.get(key)
    ]
    if str(metadata.get("issuer", "")).rstrip("/") != oidc.issuer or missing:
        client.server_metadata.clear()  # read it again once the provider is fixed
        raise ProviderUnavailable(
            f"the discovery document at {oidc.issuer} names issuer "
            f"{metadata.get('issuer')!r}" + (f" and lacks {', '.join(missing)}" if missing else "")
        )
    return client, metadata


def authorization_redirect(
    request: HttpRequest, oidc: OidcSettings, callback_url: str
) -> HttpResponse:
    """Send the browser to the provider; state, nonce and PKCE verifier stay in the session."""
    client, _ = _discovered(oidc)
    response: HttpResponse = client.authorize_redirect(request, callback_url)
    return response


def identity_from_callback(request: HttpRequest, oidc: OidcSettings) -> Identity:
    """Whom the provider's answer on the callback vouches for, once everything checks out."""
    client, metadata = _discovered(oidc)
    error = request.GET.get("error")
    if error:
        # The person cancelled, or the provider refused them; the state is dropped too.
        client.framework.clear_state_data(request.session, request.GET.get("state"))
        raise SingleSignOnRefused(Refusal.PROVIDER_ERROR, detail=error)
    # Issuer and audience are checked against this configuration, not only the token's
    # own word (Authlib checks the audience only when told to).
    claims_options = {
        "iss": {"essential": True, "values": [metadata["issuer"]]},
        "aud": {"essential": True, "values": [oidc.client_id]},
        "exp": {"essential": True},
    }
    try:
        token = client.authorize_access_token(request, claims_options=claims_options)
    except requests.RequestException as failure:
        raise ProviderUnavailable(f"cannot reach the token endpoint: {failure}") from failure
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as failure:
        raise SingleSignOnRefused(Refusal.INVALID_RESPONSE, detail=_why(failure)) from failure
    claims = token.get("userinfo")
    if not claims:
        raise SingleSignOnRefused(Refusal.INVALID_RESPONSE, detail="no ID token")
    return _identity(claims)


def _why(failure: Exception) -> str:
    """A short, token-free description of a failed check, for the audit trail."""
    for attribute in ("error", "description"):
        value = getattr(failure, attribute, None)
        if isinstance(value, str) and value:
            claim = getattr(failure, "claim", None)
            return f"{value} ({claim})" if isinstance(claim, str) else value
    return type(failure).__name__


def _is_true(value: object) -> bool:
    # Some providers send the boolean as a string.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _identity(claims: dict[str, Any]) -> Identity:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SingleSignOnRefused(Refusal.NO_EMAIL)
    email = email.strip()
    # email_verified is the standard claim; Microsoft Entra ID sends xms_edov (the e-mail
    # domain is verified for the tenant) instead, when the optional claim is configured.
    if not (_is_true(claims.get("email_verified")) or _is_true(claims.get("xms_edov"))):
        raise SingleSignOnRefused(Refusal.EMAIL_UNVERIFIED, email=email)
    methods = claims.get("amr")
    second_factor = isinstance(methods, list) and bool(MFA_METHODS & set(map(str, methods)))
    return Identity(subject=str(claims.get("sub", "")), email=email, second_factor=second_factor)


def user_for(identity: Identity) -> User:
    """The one active SafeStep account with the identity's e-mail address (any case)."""
    accounts = User.objects.filter(email__iexact=identity.email)
    active = list(accounts.filter(is_active=True)[:2])
    if len(active) == 1:
        return active[0]
    if len(active) > 1:
        raise SingleSignOnRefused(Refusal.AMBIGUOUS_EMAIL, email=identity.email)
    if accounts.exists():
        raise SingleSignOnRefused(Refusal.DEACTIVATED, email=identity.email)
    raise SingleSignOnRefused(Refusal.UNKNOWN_EMAIL, email=identity.email)


def provider_second_factor_accepted(oidc: OidcSettings, identity: Identity) -> bool:
    """Whether the provider's second factor stands in for SafeStep's own."""
    return oidc.trust_mfa and identity.second_factor


def provider_second_factor_remember(request: HttpRequest, user: User) -> None:
    request.session[PROVIDER_MFA_KEY] = {"user": user.pk}


def provider_signin_remember(request: HttpRequest, user: User) -> None:
    request.session[PROVIDER_SIGNIN_KEY] = {"user": user.pk}


def signed_in_through_provider(request: HttpRequest, user: User) -> bool:
    """Whether this session's sign-in was the provider's, not SafeStep's password."""
    marked = request.session.get(PROVIDER_SIGNIN_KEY)
    return isinstance(marked, dict) and marked.get("user") == user.pk


def provider_second_factor_given(request: HttpRequest, user: User) -> bool:
    """Whether this session's sign-in had its second factor checked by the provider."""
    marked = request.session.get(PROVIDER_MFA_KEY)
    if not isinstance(marked, dict) or marked.get("user") != user.pk:
        return False
    # Only while the district still trusts it: turning the setting off ends such sessions.
    oidc = configured()
    return oidc is not None and oidc.trust_mfa


def sso_acceptance_record(user: User, identity: Identity) -> None:
    """Audit: the provider vouched for USER (the sign-in itself follows as signin.success)."""
    event_record(
        actor=user,
        action=Action.SIGNIN_SSO,
        payload={
            "email": identity.email[:AUDIT_TEXT_LIMIT],
            "provider_second_factor": identity.second_factor,
        },
    )


def sso_refusal_record(refusal: SingleSignOnRefused) -> None:
    """Audit: single sign-on refused someone, with the reason (never a token)."""
    payload = {"reason": str(refusal.reason), "email": refusal.email[:AUDIT_TEXT_LIMIT]}
    if refusal.detail:
        payload["detail"] = refusal.detail[:AUDIT_TEXT_LIMIT]
    event_record(actor=None, action=Action.SIGNIN_SSO_REFUSED, payload=payload)


def explanation(refusal: SingleSignOnRefused, oidc: OidcSettings) -> str:
    return str(EXPLANATIONS[refusal.reason]) % {
        "name": display_name(oidc),
        "email": refusal.email,
    }


def unavailable_logged(error: ProviderUnavailable) -> None:
    logger.warning("single sign-on: the identity provider is unavailable: %s", error)

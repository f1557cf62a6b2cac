"""Passkeys (WebAuthn) as a second factor, beside the authenticator app.

A passkey never replaces the password: after a correct password, the sign-in's second step
may be a passkey instead of a 6-digit code, and it completes the sign-in exactly as a code
does (``views._complete``: Django's login, then django-otp's, which marks the session
verified). A person adds a passkey while first setting up their second factor, or later
from "My account" once this session gave a second factor.

The browser ceremonies are django-otp-webauthn's: its scripts (static files, under our
strict Content-Security-Policy) ask the browser, and the JSON views here hand them to its
helper for checking inside the services that keep or use the passkey. The views below are
ours, not the package's own URLs, because during sign-in the person is not signed in yet:
they act for the user held in the sign-in's pending step.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware import csrf
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import JavaScriptCatalog
from django_otp import login as otp_login
from django_otp_webauthn import exceptions as ceremony_errors
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions
from django_otp_webauthn.views import BaseWebAuthnView

from safestep.accounts import services
from safestep.accounts.access import needs_second_factor
from safestep.accounts.models import AuthenticatorDevice, User
from safestep.accounts.views import _complete, _pending, _refused_code, _safe_next
from safestep.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

# Where a ceremony's challenge waits between its two requests (one use each: popped).
REGISTER_STATE_KEY = "safestep_passkey_register_state"
SIGNIN_STATE_KEY = "safestep_passkey_signin_state"
# The backup codes of a first set-up with a passkey, until the next page shows them once.
FIRST_SETUP_KEY = "safestep_passkey_first_setup"

NO_PASSKEY = gettext_lazy("You have no passkey: type a code from your app or a backup code.")
NOT_SIGNING_IN = gettext_lazy("Your sign-in has timed out. Sign in again with your password.")
SECOND_FACTOR_FIRST = gettext_lazy(
    "Give your second factor before adding a passkey: sign out and sign in again."
)
ROLE_WITHOUT_SECOND_FACTOR = gettext_lazy(
    "Your role signs in with a password alone, so it has no use for a passkey."
)
LOCKED = gettext_lazy("Too many failed attempts: wait 15 minutes, then sign in again.")


def _hostname(request: HttpRequest) -> str:
    """The request's host without its port (already checked against ALLOWED_HOSTS)."""
    host = request.get_host().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0]


def passkeys_offered(request: HttpRequest) -> bool:
    """Whether this page is served on the passkeys' host name (or a subdomain of it).

    Elsewhere (an IP address, another host) the browser would refuse the ceremony, so the
    pages do not offer it.
    """
    rp_id = settings.OTP_WEBAUTHN_RP_ID
    hostname = _hostname(request)
    return hostname == rp_id or hostname.endswith(f".{rp_id}")


class PasskeyHelper(WebAuthnHelper):
    """django-otp-webauthn's checks, with the origins this request may come from."""

    def get_allowed_origins(self) -> list[str]:
        # The configured https origin, plus this page's own origin with its port when it is
        # served on the passkeys' host. Plain http only on localhost, which browsers count
        # as secure (a developer's machine, the browser tests).
        origins = list(settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)
        if passkeys_offered(self.request):
            host = self.request.get_host().lower()
            origins.append(f"https://{host}")
            hostname = _hostname(self.request)
            if hostname == "localhost" or hostname.endswith(".localhost"):
                origins.append(f"http://{host}")
        return list(dict.fromkeys(origins))


def _helper(request: HttpRequest) -> WebAuthnHelper:
    return WebAuthnCredential.get_webauthn_helper(request=request)


def ceremony_config(request: HttpRequest) -> dict[str, Any]:
    """What the package's scripts read from the page (``json_script``, a data block the
    browser never runs): where the ceremonies go and the CSRF token to send."""
    signin_begin = reverse("accounts:passkey-signin-begin")
    signin_complete = reverse("accounts:passkey-signin-complete")
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": csrf.get_token(request),
        "beginAuthenticationUrl": signin_begin,
        "completeAuthenticationUrl": signin_complete,
        "beginRegistrationUrl": reverse("accounts:passkey-register-begin"),
        "completeRegistrationUrl": reverse("accounts:passkey-register-complete"),
    }


def passkey_page_context(request: HttpRequest, user: User) -> dict[str, Any]:
    """Template context for a page that may offer passkeys (enrol, second factor)."""
    offered = passkeys_offered(request)
    return {
        "passkeys_offered": offered,
        "has_passkey": WebAuthnCredential.objects.filter(user=user, confirmed=True).exists(),
        "has_app": AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists(),
        "passkey_config": ceremony_config(request) if offered else None,
        "rp_id": settings.OTP_WEBAUTHN_RP_ID,
    }


class _Refused(ceremony_errors.OTPWebAuthnApiError):
    """A ceremony refused with our own words (the package answers ``{detail, code}``)."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status


def _ceremony_answer(request: HttpRequest) -> dict[str, Any]:
    """The browser's answer, as the package's view parsed it from the JSON body."""
    answer = getattr(request, "data", None)
    if not isinstance(answer, dict):
        raise ceremony_errors.MalformedRequest()
    return answer


def _registering_user(request: HttpRequest) -> tuple[User, bool]:
    """Who is adding a passkey, and whether this session already gave a second factor.

    Either the signed-in user (from "My account"), or the user of a sign-in's pending step
    while they first set up a second factor (the service refuses them if they have one).
    """
    user = request.user
    if user.is_authenticated:
        assert isinstance(user, User)
        if not needs_second_factor(user):
            raise _Refused(403, str(ROLE_WITHOUT_SECOND_FACTOR), "role_without_second_factor")
        return user, bool(user.is_verified())  # type: ignore[attr-defined]
    pending = _pending(request)
    if pending is None:
        raise _Refused(403, str(NOT_SIGNING_IN), "not_authenticated")
    return pending[0], False


@method_decorator(never_cache, name="dispatch")
class PasskeyRegisterBegin(BaseWebAuthnView):
    """The options for the browser to create a passkey bound to SafeStep's host name."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user, verified = _registering_user(request)
        if not verified and services.mfa_has_device(user):
            raise _Refused(403, str(SECOND_FACTOR_FIRST), "user_not_verified")
        options, state = _helper(request).register_begin(user=user)
        request.session[REGISTER_STATE_KEY] = state
        return JsonResponse(options)


@method_decorator(never_cache, name="dispatch")
class PasskeyRegisterComplete(BaseWebAuthnView):
    """Check and keep the new passkey. At a first set-up this also completes the sign-in
    and sends the browser to the backup codes; otherwise back to the list of passkeys."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user, verified = _registering_user(request)
        state = request.session.pop(REGISTER_STATE_KEY, None)
        # Saved now: even if the check below fails, this challenge is never used again.
        request.session.save()
        if not state:
            raise ceremony_errors.InvalidState()
        try:
            with rewrite_exceptions(logger=None):
                device, codes = services.passkey_add(
                    acting_user=user,
                    helper=_helper(request),
                    state=state,
                    response=_ceremony_answer(request),
                    verified=verified,
                )
        except PermissionDenied:
            raise _Refused(403, str(SECOND_FACTOR_FIRST), "user_not_verified") from None
        if verified:
            messages.success(request, gettext("Your passkey was added."))
            return JsonResponse({"id": device.pk, "redirect_url": reverse("accounts:passkeys")})
        # A first second factor: the session is verified by it, as after setting up an app.
        if request.user.is_authenticated:
            otp_login(request, device)
            next_url = reverse("accounts:passkeys")
        else:
            pending = _pending(request)
            next_url = _safe_next(request, pending[1] if pending else None)
            _complete(request, user, device)
        request.session[FIRST_SETUP_KEY] = {"codes": codes, "next": next_url}
        return JsonResponse({"id": device.pk, "redirect_url": reverse("accounts:passkey-codes")})


def _signing_in_user(request: HttpRequest) -> tuple[User, str]:
    pending = _pending(request)
    if pending is None:
        raise _Refused(403, str(NOT_SIGNING_IN), "not_authenticated")
    user = pending[0]
    if AxesProxyHandler.is_locked(request, {"username": user.username}):
        raise _Refused(403, str(LOCKED), "locked_out")
    return pending


@method_decorator(never_cache, name="dispatch")
class PasskeySigninBegin(BaseWebAuthnView):
    """The challenge for the second step of a sign-in, naming the user's own passkeys."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user, _next = _signing_in_user(request)
        if not WebAuthnCredential.objects.filter(user=user, confirmed=True).exists():
            raise _Refused(400, str(NO_PASSKEY), "no_passkey")
        # The password was the first factor; the passkey is the thing one has.
        options, state = _helper(request).authenticate_begin(
            user=user, require_user_verification=False
        )
        request.session[SIGNIN_STATE_KEY] = state
        return JsonResponse(options)


@method_decorator(never_cache, name="dispatch")
class PasskeySigninComplete(BaseWebAuthnView):
    """Check the passkey's signature; on success the sign-in is complete, as with a code.

    A refused passkey counts towards the sign-in lockout, like a wrong code.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user, next_url = _signing_in_user(request)
        state = request.session.pop(SIGNIN_STATE_KEY, None)
        request.session.save()
        if not state:
            raise ceremony_errors.InvalidState()
        try:
            with rewrite_exceptions(logger=None):
                device = services.passkey_verify(
                    acting_user=user,
                    helper=_helper(request),
                    state=state,
                    response=_ceremony_answer(request),
                )
        except (ceremony_errors.OTPWebAuthnApiError, ValidationFailed):
            _refused_code(request, user)
            raise
        _complete(request, user, device)
        return JsonResponse({"id": device.pk, "redirect_url": _safe_next(request, next_url)})

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, ValidationFailed):
            detail = " ".join(message for errors in exc.errors.values() for message in errors)
            return JsonResponse({"detail": detail, "code": "passkey_refused"}, status=403)
        response: HttpResponse = super().handle_exception(exc)
        return response


@never_cache
@require_GET
def passkey_codes(request: HttpRequest) -> HttpResponse:
    """The backup codes of a first set-up with a passkey, shown once, as after an app."""
    first_setup = request.session.pop(FIRST_SETUP_KEY, None)
    if not request.user.is_authenticated or not isinstance(first_setup, dict):
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "accounts/backup_codes.html",
        {
            "codes": first_setup.get("codes") or [],
            "continue_to": _safe_next(request, first_setup.get("next")),
        },
    )


def _passkeys_page(
    request: HttpRequest, user: User, errors: dict[str, list[str]] | None = None, status: int = 200
) -> HttpResponse:
    passkeys = WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at")
    offered = passkeys_offered(request) and needs_second_factor(user)
    return render(
        request,
        "accounts/passkeys.html",
        {
            "passkeys": passkeys,
            "errors": errors or {},
            "passkeys_offered": offered,
            "passkey_config": ceremony_config(request) if offered else None,
            "rp_id": settings.OTP_WEBAUTHN_RP_ID,
            "needs_second_factor": needs_second_factor(user),
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def passkeys(request: HttpRequest) -> HttpResponse:
    """The user's own passkeys: when each was added and last used; add one, remove one."""
    user = request.user
    assert isinstance(user, User)
    return _passkeys_page(request, user)


@never_cache
@login_required
@require_POST
def passkey_remove(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    raw = request.POST.get("passkey", "").strip()
    if not raw.isdigit():
        errors = {"passkey": [gettext("Choose the passkey to remove.")]}
        return _passkeys_page(request, user, errors, status=400)
    try:
        left = services.passkey_remove(acting_user=user, passkey_id=int(raw))
    except NotFound:
        raise Http404 from None
    except Conflict:
        errors = {
            "passkey": [
                gettext(
                    "This passkey is your only second factor, so it stays: add another "
                    "passkey first, then remove this one."
                )
            ]
        }
        return _passkeys_page(request, user, errors, status=409)
    messages.success(
        request,
        gettext("The passkey was removed.")
        if left
        else gettext("The passkey was removed. You have no passkey now."),
    )
    return redirect("accounts:passkeys")


# The package's scripts translate their messages with ``gettext`` from Django's catalogue.
javascript_catalog = JavaScriptCatalog.as_view(packages=["django_otp_webauthn"])

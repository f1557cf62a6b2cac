"""Signing in and out: password, then a second factor for every role but reporter.

A password alone never signs a second-factor role in: it only opens a short "pending"
step held in the session, and the account is signed in (Django's ``login``) once the code
is accepted. So nothing else in SafeStep ever sees a half-signed-in user.

Single sign-on through the district's identity provider (``accounts/oidc.py``) takes the
place of the password and continues on the same path: pending, second factor, ``_complete``.
"""

from __future__ import annotations

import time
from base64 import b32encode
from typing import Any

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, ngettext
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.models import Device

from safestep.accounts import oidc, services
from safestep.accounts.access import needs_second_factor
from safestep.accounts.drafts import drafts_purge, page_of, sent_from_own_page, typed_work_keep
from safestep.accounts.models import User
from safestep.accounts.sessions import LAST_SEEN_KEY, PENDING_KEY, seconds_left
from safestep.core.errors import Conflict, ValidationFailed

# The second step of a sign-in must follow the first within this many seconds.
PENDING_SECONDS = 300
# Model backend for login() after the second factor: the password was already checked.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# Why the sign-in page is shown (``reason=``); "idle" is worded with the idle time.
SIGNED_OUT_REASONS = {
    "ended": gettext_lazy("Your session has ended; sign in again to go on."),
    "second_factor": gettext_lazy("Your session needs a second factor. Sign in again."),
}
# Added when a form sent after the session ended was kept (``draft=kept``).
DRAFT_KEPT = gettext_lazy(
    "What you typed was not lost: once you have signed in, it is back in the form."
)


def client_ip(request: HttpRequest) -> str | None:
    """The connecting address, for lockout. Forwarded headers are not trusted."""
    return request.META.get("REMOTE_ADDR") or None


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _complete(request: HttpRequest, user: User, device: Device | None) -> None:
    login(request, user, backend=MODEL_BACKEND)
    if device is not None:
        otp_login(request, device)
    request.session.pop(PENDING_KEY, None)
    request.session[LAST_SEEN_KEY] = time.time()
    # Drafts past their lifetime go now (the pages restore live ones after this sign-in).
    drafts_purge()


def _pending(request: HttpRequest) -> tuple[User, str] | None:
    """The user who gave a correct password moments ago, and where they were going."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    if user is None:
        return None
    return user, str(pending.get("next") or "")


def _signed_out_notice(reason: str) -> str:
    if reason != "idle":
        return str(SIGNED_OUT_REASONS.get(reason, ""))
    minutes = settings.SESSION_IDLE_SECONDS // 60
    return ngettext(
        "Your session ended after %(minutes)d minute without activity; sign in again to go on.",
        "Your session ended after %(minutes)d minutes without activity; sign in again to go on.",
        minutes,
    ) % {"minutes": minutes}


def _signin_page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    notice = _signed_out_notice(request.GET.get("reason", ""))
    if notice and request.GET.get("draft") == "kept":
        notice = f"{notice} {DRAFT_KEPT}"
    district_provider = oidc.configured()
    base = {
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "notice": notice,
        "password_signin": settings.SAFESTEP_PASSWORD_SIGNIN,
        "sso_name": oidc.display_name(district_provider) if district_provider else "",
    }
    return render(request, "accounts/signin.html", base | context, status=status)


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """What django-axes shows when a username and address are locked out."""
    if hasattr(request, "session"):
        request.session.pop(PENDING_KEY, None)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _signin_page(
        request,
        {"locked": True, "lock_minutes": minutes, "username": (credentials or {}).get("username")},
        status=429,
    )


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")))
    if request.method == "GET":
        return _signin_page(request, {})
    if not settings.SAFESTEP_PASSWORD_SIGNIN:
        # Only single sign-on: a password is not even checked (nor counted by the lockout).
        return _signin_page(request, {"password_refused": True}, status=403)
    username = request.POST.get("username", "").strip()
    next_url = request.POST.get("next", "")
    user = authenticate(request, username=username, password=request.POST.get("password", ""))
    if not isinstance(user, User):
        # django-axes replaces this page with the lockout page once the limit is reached.
        return _signin_page(request, {"failed": True, "username": username}, status=400)
    # A sign-in with the password is not the provider's, whatever this browser did before.
    request.session.pop(oidc.PROVIDER_SIGNIN_KEY, None)
    if not needs_second_factor(user):
        _complete(request, user, None)
        return redirect(_safe_next(request, next_url))
    return _pending_start(request, user, next_url)


def _pending_start(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """Hold USER, who proved who they are, until their second factor (enrolling first)."""
    # A fresh session id before anything is tied to this sign-in.
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}
    step = "accounts:second-factor" if services.mfa_has_device(user) else "accounts:enrol"
    return redirect(step)


def _district_provider_or_404() -> oidc.OidcSettings:
    district_provider = oidc.configured()
    if district_provider is None:
        raise Http404("single sign-on is not configured")
    return district_provider


def _sso_unavailable(request: HttpRequest, error: oidc.ProviderUnavailable) -> HttpResponse:
    oidc.unavailable_logged(error)
    return render(
        request,
        "accounts/sso_refused.html",
        {"unavailable": True, "sso_name": oidc.display_name(_district_provider_or_404())},
        status=503,
    )


@never_cache
@require_GET
def sso_start(request: HttpRequest) -> HttpResponse:
    """The "Sign in with <district>" link: off to the district's identity provider.

    A link (GET), not a form: the page's Content-Security-Policy (form-action 'self')
    would stop a form from being redirected to the provider.
    """
    district_provider = _district_provider_or_404()
    if request.user.is_authenticated:
        return redirect(_safe_next(request, request.GET.get("next")))
    request.session[oidc.NEXT_KEY] = request.GET.get("next", "")
    callback_url = request.build_absolute_uri(reverse("accounts:sso-callback"))
    try:
        return oidc.authorization_redirect(request, district_provider, callback_url)
    except oidc.ProviderUnavailable as error:
        return _sso_unavailable(request, error)


@never_cache
@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the browser back here with a code (or an error).

    An accepted identity continues exactly as a correct password does: signed in at once
    when the role needs no second factor (or the provider's own is trusted), otherwise
    held for the second factor.
    """
    district_provider = _district_provider_or_404()
    if request.user.is_authenticated:
        return redirect(_safe_next(request, None))
    next_url = str(request.session.pop(oidc.NEXT_KEY, "") or "")
    try:
        identity = oidc.identity_from_callback(request, district_provider)
        user = oidc.user_for(identity)
    except oidc.ProviderUnavailable as error:
        return _sso_unavailable(request, error)
    except oidc.SingleSignOnRefused as refusal:
        oidc.sso_refusal_record(refusal)
        return render(
            request,
            "accounts/sso_refused.html",
            {
                "explanation": oidc.explanation(refusal, district_provider),
                "sso_name": oidc.display_name(district_provider),
            },
            status=403,
        )
    oidc.sso_acceptance_record(user, identity)
    provider_checked = oidc.provider_second_factor_accepted(district_provider, identity)
    if not needs_second_factor(user) or provider_checked:
        _complete(request, user, None)
        oidc.provider_signin_remember(request, user)
        if needs_second_factor(user):
            oidc.provider_second_factor_remember(request, user)
        return redirect(_safe_next(request, next_url))
    # Kept through the second factor: signing in keeps the data of a session that had no
    # user yet (it only gets a new key).
    oidc.provider_signin_remember(request, user)
    return _pending_start(request, user, next_url)


def _refused_code(request: HttpRequest, user: User) -> None:
    """A wrong code (or a wrong current password on the password page) counts towards the
    same lockout as a wrong password at sign-in."""
    user_login_failed.send(
        sender=__name__, credentials={"username": user.username}, request=request
    )


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        return redirect("accounts:signin")
    user, next_url = pending
    if not services.mfa_has_device(user):
        return redirect("accounts:enrol")
    credentials = {"username": user.username}
    if AxesProxyHandler.is_locked(request, credentials):
        return locked_out(request, None, credentials)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            device = services.mfa_verify(acting_user=user, code=request.POST.get("code", ""))
        except ValidationFailed as error:
            errors = error.errors
            _refused_code(request, user)
        else:
            _complete(request, user, device)
            return redirect(_safe_next(request, next_url))
    return render(
        request,
        "accounts/second_factor.html",
        {"errors": errors, "username": user.username, **_passkey_context(request, user)},
        status=400 if errors else 200,
    )


def _passkey_context(request: HttpRequest, user: User) -> dict[str, Any]:
    # Imported here: the passkey views build on this module's sign-in steps.
    from safestep.accounts.passkeys import passkey_page_context

    return passkey_page_context(request, user)


def _qr_svg(uri: str) -> str:
    # Generated here from the secret alone: an inline SVG needs no image source, no
    # script and no outside service.
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, title="QR code", dark="#000")
    return mark_safe(svg)  # noqa: S308 - built by segno from our own URI


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        return redirect("accounts:signin")
    user, next_url = pending
    if services.mfa_has_device(user):
        return redirect("accounts:second-factor")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            device, codes = services.mfa_enrolment_confirm(
                acting_user=user, code=request.POST.get("code", "")
            )
        except ValidationFailed as error:
            errors = error.errors
        except Conflict:
            return redirect("accounts:enrol")
        else:
            _complete(request, user, device)
            return render(
                request,
                "accounts/backup_codes.html",
                {"codes": codes, "continue_to": _safe_next(request, next_url)},
            )
    device = services.mfa_enrolment_start(acting_user=user)
    return render(
        request,
        "accounts/enrol.html",
        {
            "errors": errors,
            "qr_svg": _qr_svg(device.config_url),
            "secret": b32encode(device.bin_key).decode("ascii").rstrip("="),
            "username": user.username,
            **_passkey_context(request, user),
        },
        status=400 if errors else 200,
    )


@never_cache
@login_required
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """The user chooses a new password, giving their current one.

    Wrong current passwords count towards the sign-in lockout (django-axes, per username
    and address): whoever holds an unattended session cannot guess the password here. At
    the limit the session ends and the lockout page answers, even for the right password.
    """
    user = request.user
    assert isinstance(user, User)
    credentials = {"username": user.username}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if AxesProxyHandler.is_locked(request, credentials):
            logout(request)
            return locked_out(request, None, credentials)
        try:
            services.user_password_change(
                acting_user=user,
                old_password=request.POST.get("old_password", ""),
                new_password=request.POST.get("new_password1", ""),
                repeat=request.POST.get("new_password2", ""),
            )
        except ValidationFailed as error:
            errors = error.errors
            if "old_password" in errors:
                _refused_code(request, user)
                if getattr(request, "axes_locked_out", False):
                    # django-axes answers with the lockout page (AxesMiddleware).
                    logout(request)
                    return locked_out(request, None, credentials)
        else:
            # Keep this session signed in; other sessions of the user end.
            update_session_auth_hash(request, user)
            return redirect(_safe_next(request, request.POST.get("next")))
    return render(
        request,
        "accounts/password_change.html",
        {
            "errors": errors,
            "required": user.must_change_password,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=400 if errors else 200,
    )


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@never_cache
@require_http_methods(["GET", "POST"])
def session_status(request: HttpRequest) -> HttpResponse:
    """The pages' session script asks how long is left (GET, which is not activity and
    refreshes nothing), and "Stay signed in" refreshes the idle timer (POST, with the CSRF
    token). A session that has ended answers 401 (the session guard, before this view)."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0}, status=401)
    if request.method == "POST":
        request.session[LAST_SEEN_KEY] = time.time()
    return JsonResponse(
        {
            "signed_in": True,
            "seconds_left": seconds_left(request.session),
            "idle_seconds": settings.SESSION_IDLE_SECONDS,
        }
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponseBase:
    """A form refused for its CSRF token (``CSRF_FAILURE_VIEW``).

    After signing in again (in another window, once a session had ended), forms on pages
    opened before carry a token that no longer counts. Such a form, from one of SafeStep's
    own pages and by the signed-in user, is kept as that user's draft and not acted on;
    the browser goes back to the page, which shows it filled in to be sent again. Any
    other refusal is Django's own 403: nothing is kept, nothing is done.
    """
    user = request.user
    if (
        request.method == "POST"
        and user.is_authenticated
        and isinstance(user, User)
        and sent_from_own_page(request)
        and typed_work_keep(request, user) is not None
    ):
        page = page_of(request)
        if request.headers.get("HX-Request") == "true":
            # A stale form (409), not an attempt to reach something refused (403, audited).
            return HttpResponse(status=409, headers={"HX-Redirect": page})
        return redirect(page)
    return django_csrf_failure(request, reason)

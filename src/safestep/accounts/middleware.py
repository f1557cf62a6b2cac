"""Guards on every request: security headers, and the rules a signed-in session obeys.

The session guard ends a session that has been idle too long or lacks the second factor
its role needs, and holds a user who must change their password on the password page.
API requests with a token are not sessions and pass untouched; the API answers for them.

When a session has ended, a page never answers with the sign-in page in its place: a
browser is sent to the sign-in page, which says why, and an htmx request (which would
swap the answer into part of a page) gets ``401`` with ``HX-Redirect`` instead. A form
sent after the idle timeout is not acted on; what it carried is kept as a draft for the
session's user (``accounts/drafts.py``) and comes back once they sign in again.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext

from safestep.accounts.access import needs_second_factor
from safestep.accounts.drafts import page_of, typed_work_keep
from safestep.accounts.models import User
from safestep.accounts.oidc import provider_second_factor_given, signed_in_through_provider
from safestep.accounts.sessions import (
    LAST_SEEN_KEY,
    ended_session_forget,
    ended_session_user,
    last_seen_touch,
)

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@functools.lru_cache(maxsize=32)
def _path_of(name: str, prefix: str, urlconf: str) -> str:
    return reverse(name, urlconf=urlconf)


def _route(name: str) -> str:
    """The path of the route NAME. Asked on every request, so it is worked out once per
    script prefix and URL configuration, not reversed each time."""
    return _path_of(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


def _is_session_check(request: HttpRequest) -> bool:
    """The pages' question "how long is left?" (GET on the session route): asking it is
    not activity, and it ends nothing, so a form sent afterwards still finds its owner."""
    return request.method == "GET" and request.path == _route("accounts:session")


def _is_signin_flow(request: HttpRequest) -> bool:
    return request.path in {
        _route("accounts:signin"),
        _route("accounts:second-factor"),
        _route("accounts:enrol"),
    }


def signin_redirect(request: HttpRequest, reason: str, *, draft_kept: bool = False) -> HttpResponse:
    """Send the browser to the sign-in page, saying REASON, and back to its page after.

    A page is redirected. An htmx request, or the pages' own session script, gets 401 with
    ``HX-Redirect``: htmx follows it with the whole window, where a plain redirect would
    have swapped the sign-in page into part of the page.
    """
    query = {"next": page_of(request), "reason": reason}
    if draft_kept:
        query["draft"] = "kept"
    url = f"{reverse('accounts:signin')}?{urlencode(query)}"
    if _is_htmx(request) or request.path == reverse("accounts:session"):
        return HttpResponse(status=401, headers={"HX-Redirect": url})
    return redirect(url)


def _session_check_ended() -> HttpResponse:
    return JsonResponse({"signed_in": False, "seconds_left": 0}, status=401)


class SecurityHeadersMiddleware:
    """Headers that Django's SecurityMiddleware does not set on every response.

    HSTS goes out whenever debug is off, not only when Django sees HTTPS itself: behind a
    TLS-terminating proxy the request reaches Django as plain HTTP, and browsers ignore
    the header on a plain-HTTP page anyway. Responses nobody marked cacheable are
    ``no-store``: case pages and API answers must not linger in caches.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if settings.SECURE_HSTS_SECONDS:
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={settings.SECURE_HSTS_SECONDS}"
            )
        response.headers.setdefault("Cache-Control", "no-store")
        # Static files are answered before Django's clickjacking middleware runs.
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class SessionGuardMiddleware:
    """Idle timeout, second factor and forced password change for signed-in sessions."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated:
            assert isinstance(user, User)
            refused = self._guard(request, user)
            if refused is not None:
                return refused
        elif not _is_api(request):
            ended = self._ended_earlier(request)
            if ended is not None:
                return ended
        return self._no_signin_page_in_fragments(request, self.get_response(request))

    def _guard(self, request: HttpRequest, user: User) -> HttpResponseBase | None:
        now = time.time()
        last_seen = request.session.get(LAST_SEEN_KEY)
        if isinstance(last_seen, int | float) and now - last_seen > settings.SESSION_IDLE_SECONDS:
            return self._end(request, "idle", user)
        if needs_second_factor(user) and not (
            user.is_verified()  # type: ignore[attr-defined]
            # Or the district's identity provider checked it (SAFESTEP_OIDC_TRUST_MFA).
            or provider_second_factor_given(request, user)
        ):
            return self._end(request, "second_factor", user)
        if _is_session_check(request):
            return None
        # Written at most once a minute (sessions.last_seen_resolution): a page that is
        # only read must not write the session row on every request.
        last_seen_touch(request.session, now)
        # The one-time password an operator handed out must be replaced before it is used
        # for anything; a sign-in through the district's provider did not use it.
        if user.must_change_password and not signed_in_through_provider(request, user):
            return self._hold_for_password_change(request)
        return None

    def _end(self, request: HttpRequest, reason: str, user: User) -> HttpResponseBase | None:
        if _is_session_check(request):
            # Only a question: the session is left for the next real request to end, so
            # that a form sent then is still known to be this user's.
            return _session_check_ended()
        kept = reason == "idle" and typed_work_keep(request, user) is not None
        logout(request)
        if _is_api(request):
            return None  # carry on signed out: the API answers 401
        if _is_signin_flow(request):
            return None  # the sign-in page itself simply shows
        return signin_redirect(request, reason, draft_kept=kept)

    def _ended_earlier(self, request: HttpRequest) -> HttpResponseBase | None:
        """A request whose session expired in storage since it went idle.

        Django no longer loads such a session, so the request arrives signed out; the
        stored row still says whose it was, which keeps a form's draft for its owner.
        """
        if _is_signin_flow(request):
            return None
        user = ended_session_user(request)
        if user is None:
            return None
        if _is_session_check(request):
            return _session_check_ended()
        kept = typed_work_keep(request, user) is not None
        ended_session_forget(request)
        return signin_redirect(request, "idle", draft_kept=kept)

    def _no_signin_page_in_fragments(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """An htmx request sent to sign in (a session that ended some other way) is sent
        there with the whole window, never with the sign-in page swapped into a part."""
        if not _is_htmx(request) or response.status_code not in (301, 302, 303, 307, 308):
            return response
        if urlsplit(response.get("Location", "")).path != reverse("accounts:signin"):
            return response
        return signin_redirect(request, "ended")

    def _hold_for_password_change(self, request: HttpRequest) -> HttpResponse | None:
        allowed = {
            reverse("accounts:password-change"),
            reverse("accounts:signout"),
            reverse("accounts:session"),
        }
        if request.path in allowed:
            return None
        if _is_api(request):
            return JsonResponse(
                {
                    "type": "about:blank",
                    "title": gettext("Not allowed"),
                    "status": 403,
                    "detail": gettext(
                        "Choose a new password on the web before using this session."
                    ),
                },
                status=403,
                content_type="application/problem+json",
            )
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:password-change')}?{query}")

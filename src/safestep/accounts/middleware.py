"""Guards on every request: security headers, and the rules a signed-in session obeys.

The session guard ends a session that has been idle too long or lacks the second factor
its role needs, and holds a user who must change their password on the password page.
API requests with a token are not sessions and pass untouched; the API answers for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from safestep.accounts.access import needs_second_factor
from safestep.accounts.models import User
from safestep.accounts.sessions import LAST_SEEN_KEY

# How often the last-activity time is written: each write is a session save, and a few
# seconds of imprecision in a 15-minute timeout is worth not writing on every request.
LAST_SEEN_RESOLUTION_SECONDS = 15

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


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
        return self.get_response(request)

    def _guard(self, request: HttpRequest, user: User) -> HttpResponseBase | None:
        now = time.time()
        last_seen = request.session.get(LAST_SEEN_KEY)
        if isinstance(last_seen, int | float) and now - last_seen > settings.SESSION_IDLE_SECONDS:
            return self._end(request, "idle")
        if needs_second_factor(user) and not user.is_verified():  # type: ignore[attr-defined]
            return self._end(request, "second_factor")
        if not isinstance(last_seen, int | float) or now - last_seen >= (
            LAST_SEEN_RESOLUTION_SECONDS
        ):
            request.session[LAST_SEEN_KEY] = now
        if user.must_change_password:
            return self._hold_for_password_change(request)
        return None

    def _end(self, request: HttpRequest, reason: str) -> HttpResponseBase | None:
        logout(request)
        if _is_api(request) or request.method not in ("GET", "HEAD"):
            # Carry on as a signed-out request: the API answers 401, a page its usual
            # way of asking for a sign-in.
            return None
        query = urlencode({"next": request.get_full_path(), "reason": reason})
        return redirect(f"{reverse('accounts:signin')}?{query}")

    def _hold_for_password_change(self, request: HttpRequest) -> HttpResponse | None:
        allowed = {reverse("accounts:password-change"), reverse("accounts:signout")}
        if request.path in allowed:
            return None
        if _is_api(request):
            return JsonResponse(
                {
                    "type": "about:blank",
                    "title": "Not allowed",
                    "status": 403,
                    "detail": "Choose a new password on the web before using this session.",
                },
                status=403,
                content_type="application/problem+json",
            )
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:password-change')}?{query}")

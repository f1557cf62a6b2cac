"""What SafeStep keeps in a web session, and ending a user's sessions on the server.

Django's database sessions store the session key (the cookie's value) as the row's key,
so a copy of the database holds the keys of the sessions live when it was taken. Sessions
are short-lived (they end after the idle timeout), and an operator ends them early with
``safestep user revoke-sessions``; a password reset or a deactivation ends them too.

A session that ended idle still names its user until its row is removed: a form sent
after the end is kept as that user's draft (``accounts/drafts.py``), and the row goes then.
"""

from __future__ import annotations

import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from safestep.accounts.models import User

# A sign-in waiting for its second factor: {"user": pk, "at": time, "next": url}.
PENDING_KEY = "safestep_signin_pending"
# When the session last answered a request, for the idle timeout.
LAST_SEEN_KEY = "safestep_last_seen"
# The pages warn this long before the idle timeout (web/static/web/session.js), or half
# the timeout when it is shorter than twice this.
WARNING_SECONDS = 120
# The time of the last request is written only when it has moved by more than this: each
# write is a session save (a database write), and a page that is only read should not
# write. A session therefore ends between IDLE - RESOLUTION and IDLE seconds after its
# last request: never later than the configured timeout, at most this much earlier.
LAST_SEEN_RESOLUTION_SECONDS = 60
# ... and never by more than this share of the timeout, so that a short timeout (a
# one-minute test) stays about as exact as the 15-minute default (1 minute in 15).
LAST_SEEN_RESOLUTION_SHARE = 15


def _belongs_to(data: dict[str, object], user_pk: int) -> bool:
    if data.get(SESSION_KEY) == str(user_pk):
        return True
    pending = data.get(PENDING_KEY)
    return isinstance(pending, dict) and pending.get("user") == user_pk


def sessions_end(*, user_pk: int | None) -> int:
    """End the sessions of the user USER_PK (every session for None); return how many.

    A session half-way through a sign-in (password given, code not yet) counts too.
    Expired sessions are removed on the way: they sign nobody in, but need not linger.
    """
    Session.objects.filter(expire_date__lte=timezone.now()).delete()
    if user_pk is None:
        return int(Session.objects.all().delete()[0])
    keys = [
        session.session_key
        for session in Session.objects.iterator()
        if _belongs_to(session.get_decoded(), user_pk)
    ]
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    return len(keys)


def seconds_left(session: SessionBase) -> int:
    """How long SESSION has until the idle timeout ends it (0 once it has)."""
    last_seen = session.get(LAST_SEEN_KEY)
    if not isinstance(last_seen, int | float):
        return 0
    return max(0, int(settings.SESSION_IDLE_SECONDS - (time.time() - last_seen)))


def last_seen_resolution() -> int:
    """Seconds by which the stored time of the last request may lag behind the real one."""
    share = int(settings.SESSION_IDLE_SECONDS) // LAST_SEEN_RESOLUTION_SHARE
    return max(1, min(LAST_SEEN_RESOLUTION_SECONDS, share))


def last_seen_touch(session: SessionBase, now: float) -> None:
    """Record a request at NOW, unless the stored time is less than the resolution old.

    Only a change of the stored time marks the session modified, and only a modified
    session is saved: requests within the resolution write nothing to the database.
    """
    last_seen = session.get(LAST_SEEN_KEY)
    if not isinstance(last_seen, int | float) or now - last_seen > last_seen_resolution():
        session[LAST_SEEN_KEY] = now


def warning_seconds() -> int:
    """How long before the idle timeout the pages warn."""
    return min(WARNING_SECONDS, settings.SESSION_IDLE_SECONDS // 2)


def _ended_row(request: HttpRequest) -> Session | None:
    """The stored session the browser's cookie names, if Django no longer loads it.

    Django's session store ignores a session past its expiry date, but the row stays until
    it is purged: that row still says whose session it was.
    """
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key or not request.session.is_empty():
        return None
    return Session.objects.filter(session_key=key).first()


def ended_session_user(request: HttpRequest) -> User | None:
    """The user whose session ended idle, for a request that now arrives signed out.

    Only from the session itself: the cookie names a stored session (its random key is a
    secret only that browser holds), that session was signed in, went idle, and still
    matches the user's password (a changed password ends sessions, as Django's own check
    does). A user id in the request is never believed.
    """
    row = _ended_row(request)
    if row is None:
        return None
    data = row.get_decoded()
    last_seen = data.get(LAST_SEEN_KEY)
    if not isinstance(last_seen, int | float):
        return None
    if time.time() - last_seen <= settings.SESSION_IDLE_SECONDS:
        return None
    user_pk = data.get(SESSION_KEY)
    if not isinstance(user_pk, str) or not (user_pk.isascii() and user_pk.isdigit()):
        return None
    user = User.objects.filter(pk=int(user_pk), is_active=True).first()
    if user is None:
        return None
    if not constant_time_compare(str(data.get(HASH_SESSION_KEY, "")), user.get_session_auth_hash()):
        return None
    return user


def ended_session_forget(request: HttpRequest) -> None:
    """Remove the ended session the request's cookie names: it has said whose it was."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if key:
        Session.objects.filter(session_key=key).delete()

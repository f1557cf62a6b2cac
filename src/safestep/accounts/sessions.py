"""What SafeStep keeps in a web session, and ending a user's sessions on the server.

Django's database sessions store the session key (the cookie's value) as the row's key,
so a copy of the database holds the keys of the sessions live when it was taken. Sessions
are short-lived (they end after the idle timeout), and an operator ends them early with
``safestep user revoke-sessions``; a password reset or a deactivation ends them too.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

# A sign-in waiting for its second factor: {"user": pk, "at": time, "next": url}.
PENDING_KEY = "safestep_signin_pending"
# When the session last answered a request, for the idle timeout.
LAST_SEEN_KEY = "safestep_last_seen"


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

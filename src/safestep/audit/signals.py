"""Sign-in successes and failures, recorded in the audit trail.

These come from Django's authentication signals because sign-in happens inside Django's
(and django-axes') views; the handlers only record, they decide nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from safestep.audit.actions import Action
from safestep.audit.services import event_record


@receiver(user_logged_in)
def record_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    event_record(actor=user, action=Action.SIGNIN_SUCCESS)


@receiver(user_login_failed)
def record_sign_in_failure(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    # Never the password; the username only, to spot guessing against one account.
    event_record(
        actor=None,
        action=Action.SIGNIN_FAILURE,
        payload={"username": str(credentials.get("username", ""))[:150]},
    )


@receiver(user_logged_out)
def record_sign_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        event_record(actor=user, action=Action.SIGNOUT)

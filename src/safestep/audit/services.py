"""Appending to the event log, and the checkpoints and disclosures that go with it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safestep.audit.actions import Action
from safestep.audit.chain import (
    GENESIS_HASH,
    append_checkpoint_file,
    chain_event,
    checkpoint_key,
    checkpoint_signature,
    lock_chain,
)
from safestep.audit.models import Checkpoint, Disclosure, Event, to_microseconds
from safestep.core.context import current_request_context
from safestep.core.crypto import encrypt_json

if TYPE_CHECKING:
    from datetime import datetime

    from safestep.accounts.models import User

# A signed checkpoint every so many events; `safestep audit checkpoint` adds one on demand
# (run it from cron so a quiet tail is covered too).
CHECKPOINT_EVERY = getattr(settings, "SAFESTEP_AUDIT_CHECKPOINT_EVERY", 1000)
_SAFE_REQUEST_ID = re.compile(r"[^A-Za-z0-9._:-]")


def _seal(sensitive: dict[str, Any] | None) -> str:
    # Sealed values are never re-encrypted (the row may not change); key rotation keeps old
    # keys listed so that these stay readable.
    return encrypt_json(sensitive) if sensitive else ""


def event_record(
    *,
    actor: User | None,
    action: Action | str,
    case_id: int | None = None,
    step_id: str = "",
    payload: dict[str, Any] | None = None,
    sensitive: dict[str, Any] | None = None,
) -> Event:
    """Append one event to the chain.

    Inside a service this joins the service's transaction, so the event and the change it
    records commit or roll back together. Called on its own (an audited read) it commits
    in a transaction of its own. ``sensitive`` (reasons, narratives) is stored encrypted
    and shown only to roles that may read case narratives.

    ACTION must be one of :class:`~safestep.audit.actions.Action` (its value will do): an
    unknown action is a programming error (ValueError), so a typo cannot start a new one.
    """
    known = Action.parse(action)
    with transaction.atomic():
        lock_chain()
        last = Event.objects.order_by("-seq").values_list("seq", "hash").first()
        prev_seq, prev_hash = last if last else (0, GENESIS_HASH)
        context = current_request_context()
        link = chain_event(
            prev_hash,
            seq=prev_seq + 1,
            at_us=to_microseconds(timezone.now()),
            actor_id=actor.pk if actor is not None else None,
            actor_username=actor.username if actor is not None else "",
            actor_role=actor.role if actor is not None else "",
            action=known.value,
            case_id=case_id,
            step_id=step_id,
            source_ip=(context.source_ip or "") if context else "",
            request_id=_SAFE_REQUEST_ID.sub("", context.request_id) if context else "",
            payload=payload or {},
            sealed=_seal(sensitive),
        )
        event = Event(**link.fields(), prev_hash=prev_hash, hash=link.hash)
        event.actor = actor
        event.save(force_insert=True)
        if event.seq % CHECKPOINT_EVERY == 0:
            _checkpoint(event)
    return event


def _checkpoint(event: Event) -> Checkpoint:
    at_us = to_microseconds(timezone.now())
    signature = checkpoint_signature(event.seq, event.hash, at_us, checkpoint_key())
    checkpoint = Checkpoint(seq=event.seq, hash=event.hash, at_us=at_us, signature=signature)
    checkpoint.save(force_insert=True)
    # The file copy is written only once the checkpoint is committed: a rolled-back event
    # must not leave a checkpoint behind that the trail can never cover.
    transaction.on_commit(lambda: append_checkpoint_file(event.seq, event.hash, at_us, signature))
    return checkpoint


def audit_checkpoint() -> Checkpoint | None:
    """Sign the current end of the trail (idempotent when it is already signed)."""
    with transaction.atomic():
        lock_chain()
        last = Event.objects.order_by("-seq").first()
        if last is None:
            return None
        existing = Checkpoint.objects.filter(seq=last.seq).first()
        return existing or _checkpoint(last)


def disclosure_record(
    *,
    acting_user: User,
    student_id: int,
    case_id: int | None,
    step_id: str,
    recipient: str,
    categories: Sequence[str],
    legal_basis: str,
    disclosed_at: datetime,
    recipient_type: str = Disclosure.RecipientType.OTHER,
    concern_id: int | None = None,
    threat: str = "",
) -> Disclosure:
    """Log a disclosure outside the school (with its own event), in the caller's transaction."""
    with transaction.atomic():
        event = event_record(
            actor=acting_user,
            action=Action.DISCLOSURE_RECORD,
            case_id=case_id,
            step_id=step_id,
            payload={
                "categories": list(categories),
                "legal_basis": legal_basis,
                "recipient_type": recipient_type,
                "concern": concern_id,
            },
            sensitive={"recipient": recipient, "threat": threat}
            if threat
            else {"recipient": recipient},
        )
        return Disclosure.objects.create(
            student_id=student_id,
            case_id=case_id,
            concern_id=concern_id,
            step_id=step_id,
            event_seq=event.seq,
            recipient=recipient,
            recipient_type=recipient_type,
            threat=threat,
            categories=list(categories),
            legal_basis=legal_basis,
            disclosed_at=disclosed_at,
            recorded_by=acting_user,
        )

"""Appending to the event log. Callers are services, inside their own transaction."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from safestep.audit.models import Event
from safestep.core.context import current_request_context

if TYPE_CHECKING:
    from safestep.accounts.models import User

GENESIS_HASH = "0" * 64
# Any fixed number: every appender takes the same PostgreSQL advisory lock, so appends are
# serialized and each event links to the one committed just before it.
_CHAIN_LOCK_KEY = 0x5AFE57E9


def canonical_encoding(event: Event) -> bytes:
    """The bytes an event's hash covers: every field but the hash, in a fixed JSON form."""
    body = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor_id,
        "actor_username": event.actor_username,
        "actor_role": event.actor_role,
        "action": event.action,
        "case": event.case_id,
        "step": event.step_id,
        "source_ip": event.source_ip,
        "request_id": event.request_id,
        "payload": event.payload,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: Event) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_encoding(event)).hexdigest()


def _lock_chain() -> None:
    # SQLite needs nothing extra: SafeStep opens its transactions IMMEDIATE, which already
    # holds the database's single write lock until commit.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def event_record(
    *,
    actor: User | None,
    action: str,
    case_id: int | None = None,
    step_id: str = "",
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event to the chain.

    Inside a service this joins the service's transaction, so the event and the change it
    records commit or roll back together. Called on its own (an audited read) it commits
    in a transaction of its own.
    """
    with transaction.atomic():
        return _append(
            actor=actor, action=action, case_id=case_id, step_id=step_id, payload=payload
        )


def _append(
    *,
    actor: User | None,
    action: str,
    case_id: int | None,
    step_id: str,
    payload: dict[str, Any] | None,
) -> Event:
    _lock_chain()
    last = Event.objects.order_by("-seq").values("seq", "hash").first()
    prev_hash = last["hash"] if last else GENESIS_HASH
    context = current_request_context()
    event = Event(
        seq=(last["seq"] + 1) if last else 1,
        at=timezone.now(),
        actor=actor,
        actor_username=actor.username if actor else "",
        actor_role=actor.role if actor else "",
        action=action,
        case_id=case_id,
        step_id=step_id,
        source_ip=context.source_ip if context else None,
        request_id=context.request_id if context else "",
        payload=json.loads(json.dumps(payload or {}, default=str)),
        prev_hash=prev_hash,
    )
    event.hash = chain_hash(prev_hash, event)
    event.save(force_insert=True)
    return event

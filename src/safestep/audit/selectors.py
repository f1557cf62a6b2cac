"""Reading the trail: verification, the audit API's query, a case's timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, QuerySet

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User
from safestep.audit.chain import (
    CheckpointRecord,
    ChunkResult,
    VerifyResult,
    batched,
    canonical_sql,
    check_signatures,
    checkpoint_key,
    combine_chunks,
    read_checkpoint_file,
    verify_chunk,
)
from safestep.audit.models import Checkpoint, Event, to_microseconds
from safestep.core.crypto import EncryptionError, decrypt_json
from safestep.core.errors import PermissionDenied


def audit_verify(*, progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Stream the whole trail and check every link and every signed checkpoint.

    The trail is read in stretches of CHUNK events (bounded memory, and a progress bar
    that moves); each stretch must link to the end of the one before.
    """
    key = checkpoint_key()
    # Checkpoints first: every event they name was committed before the rows are read.
    checkpoints = [
        CheckpointRecord(c.seq, c.hash, c.at_us, c.signature, "database")
        for c in Checkpoint.objects.all()
    ] + read_checkpoint_file()
    forged = check_signatures(checkpoints, key)
    if forged is not None:
        return VerifyResult(
            False, 0, 0, forged.seq, f"checkpoint with a bad signature ({forged.source})"
        )
    signed = {checkpoint.seq: checkpoint.hash for checkpoint in checkpoints}
    last = Event.objects.aggregate(last=Max("seq"))["last"] or 0
    ranges = [(first, min(first + CHUNK - 1, last)) for first in range(1, last + 1, CHUNK)]
    chunks = (_verify_range(first, end, signed, progress) for first, end in ranges)
    return combine_chunks(chunks, signed)


CHUNK = 100_000


def _verify_range(
    first: int, last: int, signed: dict[int, str], progress: Callable[[int], None] | None
) -> ChunkResult:
    sql = canonical_sql(connection.vendor)
    with transaction.atomic():
        # A server-side cursor on PostgreSQL: the trail is streamed, never held in memory.
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, [first, last])
            chunk = verify_chunk(batched(cursor), first, last, signed)
        finally:
            cursor.close()
    if progress is not None:
        progress(chunk.count)
    return chunk


def event_count() -> int:
    return Event.objects.count()


def audit_events_for_user(
    user: User,
    *,
    case_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Event]:
    """The trail, for auditors and district coordinators only."""
    if not has_capability(user, Capability.AUDIT_READ):
        raise PermissionDenied("only auditors and the district coordinator read the audit trail")
    events = Event.objects.all()
    if case_id is not None:
        events = events.filter(case_id=case_id)
    if actor:
        events = events.filter(actor_username=actor)
    if action:
        events = events.filter(action=action)
    if since is not None:
        events = events.filter(at_us__gte=to_microseconds(since))
    if until is not None:
        events = events.filter(at_us__lt=to_microseconds(until))
    return events.order_by("seq")


def event_output(event: Event, *, with_sealed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor_username or None,
        "role": event.actor_role or None,
        "action": event.action,
        "case": event.case_id,
        "step": event.step_id or None,
        "source_ip": event.source_ip or None,
        "request_id": event.request_id or None,
        "payload": event.payload,
        "hash": event.hash,
    }
    if with_sealed and event.sealed:
        body["sensitive"] = unseal(event.sealed)
    return body


def unseal(sealed: str) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = decrypt_json(sealed)
    except EncryptionError:
        # A key that was removed from the key ring: say so rather than fail the whole page.
        return {"unreadable": "encrypted with a key that is no longer configured"}
    return result


def case_timeline(case_id: int) -> QuerySet[Event]:
    """Every event on one case, oldest first, unfiltered: for auditors' tools only.

    People read a timeline through ``cases.audit_reads.case_timeline_for_user``, which
    hides what they may not know.
    """
    return Event.objects.filter(case_id=case_id).order_by("seq")

"""Reading the trail: verification, the audit API's query, a case's timeline."""

from __future__ import annotations

import multiprocessing
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import Role, User
from safestep.audit.actions import DESCRIPTIONS, Action, description
from safestep.audit.chain import (
    FETCH_ROWS,
    SEGMENT_EVENTS,
    CheckpointRecord,
    ChunkResult,
    VerifyResult,
    batched,
    canonical_json,
    canonical_sql,
    check_on_server,
    check_signatures,
    checkpoint_key,
    combine_chunks,
    read_checkpoint_file,
    segment_ranges,
    trail_database,
    verify_chunk,
    verify_segment_task,
)
from safestep.audit.models import Checkpoint, Event, to_microseconds
from safestep.core.crypto import EncryptionError, decrypt_json
from safestep.core.errors import PermissionDenied
from safestep.core.moment_text import local_moment_text


def audit_verify(
    *,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    segment_events: int = SEGMENT_EVENTS,
    on_server: bool = True,
) -> VerifyResult:
    """Stream the whole trail and check every link and every signed checkpoint.

    The trail is cut into segments of about SEGMENT_EVENTS events, each ending on a signed
    checkpoint where there is one. WORKERS processes (by default one per core, once the
    trail is long enough to gain from it) check segments side by side, each on its own
    database connection; the segments are then joined in order: each must link to the end
    of the one before, so the result is the same as checking the trail in one pass.

    On PostgreSQL each segment is first checked by the server (``chain.check_on_server``,
    its own SHA-256 over the same canonical strings), unless ON_SERVER is false; a segment
    it finds anything wrong in, and every segment when ON_SERVER is false, is streamed and
    hashed here, which names the first bad event.
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
    ranges = segment_ranges(last, signed, segment_events)
    if workers is None:
        workers = (os.cpu_count() or 1) if last >= PARALLEL_FROM else 1
    database = trail_database(connection.settings_dict, connection.vendor)
    if workers > 1 and len(ranges) > 1 and database is not None:
        tasks = [
            (
                database,
                first,
                end,
                {seq: value for seq, value in signed.items() if first <= seq <= end},
                on_server,
            )
            for first, end in ranges
        ]
        # Forked workers start at once and need no importable main module; each opens a
        # connection of its own and never touches the copy of this process's connection.
        with multiprocessing.get_context("fork").Pool(min(workers, len(ranges))) as pool:
            # In order, so the joins are checked as the segments come in and the first
            # problem in the trail is the one reported; the rest are stopped on leaving.
            done = pool.imap(verify_segment_task, tasks)
            return combine_chunks((_counted(chunk, progress) for chunk in done), signed)
    chunks = (_verify_range(first, end, signed, progress, on_server) for first, end in ranges)
    return combine_chunks(chunks, signed)


# Below this many events, starting processes costs more than it saves.
PARALLEL_FROM = 500_000


def _counted(chunk: ChunkResult, progress: Callable[[int], None] | None) -> ChunkResult:
    if progress is not None:
        progress(chunk.count)
    return chunk


def _verify_range(
    first: int,
    last: int,
    signed: dict[int, str],
    progress: Callable[[int], None] | None,
    on_server: bool,
) -> ChunkResult:
    sql = canonical_sql(connection.vendor)
    if on_server and connection.vendor == "postgresql":
        with connection.cursor() as checking:
            found = check_on_server(checking, first, last, signed)
        if found is not None:
            return _counted(found, progress)
    with transaction.atomic():
        # A server-side cursor on PostgreSQL: the trail is streamed, never held in memory.
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, [first, last])
            chunk = verify_chunk(batched(cursor, FETCH_ROWS), first, last, signed)
        finally:
            cursor.close()
    return _counted(chunk, progress)


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


# --- the trail as people read it ------------------------------------------------------------
#
# The audit page names cases by their reference and tells each event in words. The trail is
# self-describing: a case's reference is in the payload of the event that opened it, so the
# trail needs nothing from the cases to be read (and outlives anything it mentions).

CASE_OPEN = Action.CASE_OPEN.value
CASE_REFERENCE = re.compile(r"^[A-Z]+-\d{4}-\d{1,9}$")


def case_id_for_reference(reference: str) -> int | None:
    """The case the trail opened as REFERENCE (``CSEC-2026-0001``), if it did."""
    text = reference.strip().upper()
    if not CASE_REFERENCE.match(text):
        return None
    needle = f'"reference":{canonical_json(text)}'
    found = (
        Event.objects.filter(action=CASE_OPEN, payload_json__contains=needle)
        .exclude(case_id=None)
        .values_list("case_id", flat=True)
        .first()
    )
    return int(found) if found is not None else None


def case_references(case_ids: Iterable[int | None]) -> dict[int, str]:
    """The reference of each of CASE_IDS, as the event that opened it recorded it."""
    wanted = {case_id for case_id in case_ids if case_id is not None}
    if not wanted:
        return {}
    found: dict[int, str] = {}
    for event in Event.objects.filter(action=CASE_OPEN, case_id__in=wanted).only(
        "case_id", "payload_json"
    ):
        reference = event.payload.get("reference")
        if event.case_id is not None and isinstance(reference, str):
            found.setdefault(event.case_id, reference)
    return found


_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def local_time(moment: datetime) -> str:
    """MOMENT in the district's zone, to the minute: how the trail's pages show times."""
    return local_moment_text(moment)


def plain_value(value: Any) -> str:
    """A payload value as a person reads it: lists as lists, yes/no, local times, never a
    Python or JSON literal."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list | tuple):
        return ", ".join(plain_value(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {plain_value(item)}" for key, item in value.items()) or "—"
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return local_time(moment)
    return str(value)


def event_sentence(action: str, payload: Mapping[str, Any], *, step: str = "") -> str:
    """An event in words, from the one table of descriptions (``audit.actions``)."""
    try:
        known = Action(action)
    except ValueError:
        return action  # written by a release that knew an action this one does not
    values: defaultdict[str, str] = defaultdict(lambda: "?")
    values.update({key: plain_value(value) for key, value in payload.items()})
    values["step"] = step or "?"
    return gettext(description(known, payload)) % values


@dataclass(frozen=True)
class TrailRow:
    """One event on the audit page, as its reader may see it."""

    seq: int
    at: datetime
    at_text: str
    actor: str
    role: str
    sentence: str
    case_reference: str
    step: str
    source_ip: str
    # "key: value" lines: what an auditor reads, and the sealed part for those who may.
    details: list[tuple[str, str]]
    sealed: list[tuple[str, str]]


def trail_rows(events: Iterable[Event], *, with_sealed: bool) -> list[TrailRow]:
    """EVENTS as the audit page shows them: local times, words, case references."""
    listed = list(events)
    references = case_references(event.case_id for event in listed)
    rows = []
    for event in listed:
        payload = event.payload
        sealed = unseal(event.sealed) if with_sealed and event.sealed else None
        rows.append(
            TrailRow(
                seq=event.seq,
                at=event.at,
                at_text=local_time(event.at),
                actor=event.actor_username,
                role=_role_label(event.actor_role),
                sentence=event_sentence(event.action, payload, step=event.step_id),
                case_reference=references.get(event.case_id, str(event.case_id))
                if event.case_id is not None
                else "",
                step=event.step_id,
                source_ip=event.source_ip,
                details=[(key, plain_value(value)) for key, value in payload.items()],
                sealed=[(key, plain_value(value)) for key, value in (sealed or {}).items()],
            )
        )
    return rows


def _role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


def action_choices() -> list[tuple[str, str]]:
    """Every action, by what it says (its description with the blanks left out)."""
    blank: defaultdict[str, str] = defaultdict(lambda: "…")
    return sorted(
        ((action.value, gettext(DESCRIPTIONS[action]) % blank) for action in Action),
        key=lambda pair: pair[1].casefold(),
    )

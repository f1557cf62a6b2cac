"""The hash chain: canonical encoding, hashing, the append lock, checkpoint signatures and
verification.

An event's hash is SHA-256 over the previous event's hash and the event's canonical
encoding: its columns in a fixed order, joined with the ASCII unit separator. Every column
is text or an integer as stored, so the encoding is the same on SQLite and PostgreSQL and
needs no JSON parsing to check.

Whatever appends to the chain (``event_record``, the benchmark seeder) takes
:func:`lock_chain` and builds each row with :func:`chain_event`: the encoding is written
here once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection

from safestep.config import owner_only_file, read_secret

GENESIS_HASH = "0" * 64
SEPARATOR = "\x1f"
# The columns the hash covers, in order. Changing this list changes every hash.
CHAINED_COLUMNS = (
    "seq",
    "at_us",
    "actor_id",
    "actor_username",
    "actor_role",
    "action",
    "case_id",
    "step_id",
    "source_ip",
    "request_id",
    "payload_json",
    "sealed",
)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_encoding(values: Sequence[Any]) -> bytes:
    return SEPARATOR.join("" if value is None else str(value) for value in values).encode()


def chain_hash(prev_hash: str, values: Sequence[Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_encoding(values)).hexdigest()


class ChainLink(NamedTuple):
    """What the chain stores for one event: the chained column values, in
    ``CHAINED_COLUMNS`` order and exactly as stored, and the event's hash."""

    values: tuple[Any, ...]
    hash: str

    def fields(self) -> dict[str, Any]:
        """The chained values by column name (``Event(**link.fields(), ...)``)."""
        return dict(zip(CHAINED_COLUMNS, self.values, strict=True))


def chain_event(
    prev_hash: str,
    *,
    seq: int,
    at_us: int,
    actor_id: int | None,
    actor_username: str,
    actor_role: str,
    action: str,
    case_id: int | None,
    step_id: str,
    source_ip: str,
    request_id: str,
    payload: Mapping[str, Any],
    sealed: str,
) -> ChainLink:
    """The values and the hash the chain stores for an event following PREV_HASH.

    ``payload`` is stored as its canonical JSON text (the text that is hashed); ``sealed``
    is the already-encrypted sensitive part, or "".
    """
    values = (
        seq,
        at_us,
        actor_id,
        actor_username,
        actor_role,
        str(action),
        case_id,
        step_id,
        source_ip,
        request_id,
        canonical_json(payload),
        sealed,
    )
    return ChainLink(values, chain_hash(prev_hash, values))


def chained_values(event: Any) -> tuple[Any, ...]:
    """A stored event's chained values, in ``CHAINED_COLUMNS`` order."""
    return tuple(getattr(event, column) for column in CHAINED_COLUMNS)


# Any fixed number: every appender takes the same PostgreSQL advisory lock, so appends are
# serialized and each event links to the one committed just before it.
CHAIN_LOCK_KEY = 0x5AFE57E9


def lock_chain() -> None:
    """Hold the chain's append lock for the rest of the current transaction.

    SQLite needs nothing extra: SafeStep opens its transactions IMMEDIATE, which already
    holds the database's single write lock until commit.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


# --- checkpoints --------------------------------------------------------------------------


def checkpoint_key() -> bytes:
    """The checkpoint signing key: SAFESTEP_AUDIT_KEY(_FILE), or a key file in the data dir.

    It must not live in the database: whoever can rewrite the database must not be able to
    sign a checkpoint for the rewritten chain.
    """
    secret = read_secret(os.environ, "SAFESTEP_AUDIT_KEY") or owner_only_file(
        "SAFESTEP_AUDIT_KEY", Path(settings.DATA_DIR) / "audit_key", lambda: os.urandom(32).hex()
    )
    return secret.encode()


def checkpoint_signature(seq: int, chain_hash_value: str, at_us: int, key: bytes) -> str:
    message = f"{seq}:{chain_hash_value}:{at_us}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def checkpoint_file() -> Path:
    configured = os.environ.get("SAFESTEP_AUDIT_CHECKPOINT_FILE")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "audit-checkpoints.jsonl"


def append_checkpoint_file(seq: int, hash_value: str, at_us: int, signature: str) -> None:
    """Keep a copy of each checkpoint outside the database, appended and flushed."""
    line = json.dumps({"seq": seq, "hash": hash_value, "at_us": at_us, "signature": signature})
    path = checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@dataclass(frozen=True)
class CheckpointRecord:
    seq: int
    hash: str
    at_us: int
    signature: str
    source: str  # "database" or the file path


def read_checkpoint_file() -> list[CheckpointRecord]:
    path = checkpoint_file()
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            found.append(
                CheckpointRecord(
                    int(data["seq"]),
                    str(data["hash"]),
                    int(data["at_us"]),
                    str(data["signature"]),
                    f"{path}:{number}",
                )
            )
        except (ValueError, KeyError, TypeError):
            found.append(CheckpointRecord(0, "", 0, "", f"{path}:{number} (unreadable)"))
    return found


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    last_seq: int
    bad_seq: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.events} events, last #{self.last_seq}"
        return f"audit trail damaged at event #{self.bad_seq}: {self.reason}"


@dataclass(frozen=True)
class ChunkResult:
    """What one stretch of the trail (events FIRST..LAST by seq) looks like."""

    first: int
    last: int
    count: int
    first_prev_hash: str | None
    last_hash: str | None
    last_seen: int
    problem: tuple[int, str] | None


def canonical_sql(vendor: str) -> str:
    """The canonical encoding computed by the database, prefixed by prev_hash.

    Building the string in SQL keeps the per-event work in Python to one hash, which is
    what lets verification stream hundreds of thousands of events a second. It yields
    exactly :func:`canonical_encoding` (a test checks the two agree).
    """
    separator = " || chr(31) || " if vendor == "postgresql" else " || char(31) || "
    parts = separator.join(f"COALESCE(CAST({column} AS TEXT), '')" for column in CHAINED_COLUMNS)
    return (
        f"SELECT seq, prev_hash || {parts}, hash FROM audit_event "  # noqa: S608
        "WHERE seq BETWEEN %s AND %s ORDER BY seq"
    )


def verify_chunk(
    rows: Iterable[Sequence[Any]], first: int, last: int, checkpoint_hashes: dict[int, str]
) -> ChunkResult:
    """Check events FIRST..LAST: no gaps, each linked to the one before, content unchanged."""
    sha256 = hashlib.sha256
    expected = first
    prev: str | None = None
    first_prev: str | None = None
    count = 0
    for seq, chained, row_hash in rows:
        row_prev = chained[:64]
        if seq != expected:
            return ChunkResult(
                first, last, count, first_prev, prev, expected - 1, (expected, "missing event")
            )
        if prev is None:
            first_prev = row_prev
        elif row_prev != prev:
            return ChunkResult(
                first,
                last,
                count,
                first_prev,
                prev,
                seq - 1,
                (seq, "broken link to the previous event"),
            )
        if sha256(chained.encode()).hexdigest() != row_hash:
            return ChunkResult(
                first, last, count, first_prev, prev, seq - 1, (seq, "changed content")
            )
        signed = checkpoint_hashes.get(seq)
        if signed is not None and signed != row_hash:
            return ChunkResult(
                first,
                last,
                count,
                first_prev,
                prev,
                seq - 1,
                (seq, "differs from the signed checkpoint (rewritten chain)"),
            )
        prev = row_hash
        expected = seq + 1
        count += 1
    problem = None if expected > last else (expected, "missing event")
    return ChunkResult(first, last, count, first_prev, prev, expected - 1, problem)


def combine_chunks(chunks: Iterable[ChunkResult], checkpoints: Iterable[int]) -> VerifyResult:
    """Join the stretches in order: each must link to the end of the one before."""
    prev_hash = GENESIS_HASH
    events = 0
    last_seq = 0
    for chunk in chunks:
        if chunk.count and chunk.first_prev_hash != prev_hash:
            return VerifyResult(
                False, events, last_seq, chunk.first, "broken link to the previous event"
            )
        if chunk.problem is not None:
            return VerifyResult(False, events + chunk.count, chunk.last_seen, *chunk.problem)
        events += chunk.count
        if chunk.last_hash is not None:
            prev_hash = chunk.last_hash
            last_seq = chunk.last_seen
    beyond = sorted(seq for seq in checkpoints if seq > last_seq)
    if beyond:
        return VerifyResult(
            False,
            events,
            last_seq,
            last_seq + 1,
            f"checkpoint not covered: a signed checkpoint names event #{beyond[0]} "
            f"but the trail ends at #{last_seq} (events removed from the end)",
        )
    return VerifyResult(True, events, last_seq)


def check_signatures(
    checkpoints: Iterable[CheckpointRecord], key: bytes
) -> CheckpointRecord | None:
    """The first checkpoint whose signature is wrong, if any."""
    for checkpoint in checkpoints:
        expected = checkpoint_signature(checkpoint.seq, checkpoint.hash, checkpoint.at_us, key)
        if not hmac.compare_digest(checkpoint.signature, expected):
            return checkpoint
    return None


def batched(cursor: Any, size: int = 20_000) -> Iterator[Sequence[Any]]:
    while True:
        rows = cursor.fetchmany(size)
        if not rows:
            return
        yield from rows

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
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from operator import itemgetter, methodcaller
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


def _canonical_expression(vendor: str) -> str:
    separator = " || chr(31) || " if vendor == "postgresql" else " || char(31) || "
    parts = separator.join(f"COALESCE(CAST({column} AS TEXT), '')" for column in CHAINED_COLUMNS)
    return f"prev_hash || {parts}"


def canonical_sql(vendor: str) -> str:
    """The canonical encoding computed by the database, prefixed by prev_hash.

    Building the string in SQL keeps the per-event work in Python to one hash, which is
    what lets verification stream hundreds of thousands of events a second. It yields
    exactly :func:`canonical_encoding` (a test checks the two agree).
    """
    return (
        f"SELECT seq, {_canonical_expression(vendor)}, hash FROM audit_event "  # noqa: S608
        "WHERE seq BETWEEN %s AND %s ORDER BY seq"
    )


def server_check_sql() -> str:
    """PostgreSQL checks a stretch FIRST..LAST itself and answers in one row: how many
    events, the first and last seq, how many are wrong (content that does not hash to its
    stored hash, a link to anything but the event before, a gap), the first event's
    prev_hash and the last event's hash.

    The hashes are the server's own SHA-256 (``pg_catalog.sha256``, in C) over the same
    canonical string that :func:`canonical_sql` sends SafeStep, so nothing crosses the
    connection but the answer. A stretch with anything wrong is read again, row by row,
    by SafeStep itself (:func:`verify_chunk`), which names the first bad event.
    """
    content = (
        "pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to("
        f"{_canonical_expression('postgresql')}, 'UTF8')), 'hex')"
    )
    return (
        "WITH checked AS (SELECT seq, prev_hash, hash, "  # noqa: S608 - column names only
        f"{content} = hash AS content_ok, "
        "lag(hash) OVER (ORDER BY seq) AS before_hash, "
        "lag(seq) OVER (ORDER BY seq) AS before_seq "
        "FROM audit_event WHERE seq BETWEEN %(first)s AND %(last)s) "
        "SELECT count(*), min(seq), max(seq), "
        "count(*) FILTER (WHERE content_ok IS NOT TRUE OR (before_seq IS NOT NULL AND "
        "(seq <> before_seq + 1 OR prev_hash IS DISTINCT FROM before_hash))), "
        "(SELECT prev_hash FROM audit_event WHERE seq = %(first)s), "
        "(SELECT hash FROM audit_event WHERE seq = %(last)s) "
        "FROM checked"
    )


def check_on_server(
    cursor: Any, first: int, last: int, checkpoint_hashes: Mapping[int, str]
) -> ChunkResult | None:
    """Events FIRST..LAST checked by PostgreSQL (:func:`server_check_sql`): the result
    when all of them are right, else None (the caller reads the stretch row by row)."""
    cursor.execute(server_check_sql(), {"first": first, "last": last})
    count, low, high, wrong, first_prev, last_hash = cursor.fetchone()
    if count != last - first + 1 or low != first or high != last or wrong:
        return None
    signed = sorted(seq for seq in checkpoint_hashes if first <= seq <= last)
    if signed:
        cursor.execute(
            "SELECT seq, hash FROM audit_event WHERE seq = ANY(%(seqs)s)", {"seqs": signed}
        )
        if any(checkpoint_hashes[seq] != stored for seq, stored in cursor.fetchall()):
            return None
    return ChunkResult(first, last, count, first_prev, last_hash, last, None)


def verify_chunk(
    batches: Iterable[Sequence[Sequence[Any]]],
    first: int,
    last: int,
    checkpoint_hashes: Mapping[int, str],
) -> ChunkResult:
    """Check events FIRST..LAST: no gaps, each linked to the one before, content unchanged.

    BATCHES are lists of ``(seq, prev_hash + canonical encoding, hash)`` rows, as
    :func:`canonical_sql` selects them, in ``seq`` order. A whole batch is checked at once
    with C-level list operations (hashing through hashlib, no Python code per row); only a
    batch with something wrong in it is gone through row by row, which finds and names the
    first bad event exactly as checking every row one at a time would.
    """
    signed = sorted(seq for seq in checkpoint_hashes if first <= seq <= last)
    state = _ChunkState(first, last)
    for batch in batches:
        if not batch:
            continue
        if not state.accept(batch, signed, checkpoint_hashes):
            problem = state.walk(batch, checkpoint_hashes)
            if problem is not None:
                return problem
    return state.result()


_hex_of = methodcaller("hexdigest")
_link_of = itemgetter(slice(0, 64))


class _ChunkState:
    """Where the check of one stretch stands: the next seq expected and the last hash."""

    def __init__(self, first: int, last: int) -> None:
        self.first = first
        self.last = last
        self.expected = first
        self.prev: str | None = None
        self.first_prev: str | None = None
        self.count = 0

    def accept(
        self, batch: Sequence[Sequence[Any]], signed: Sequence[int], hashes: Mapping[int, str]
    ) -> bool:
        """Take BATCH if every row in it is right (whole-batch comparisons); else False."""
        seqs, chained, stored = zip(*batch, strict=True)
        size = len(seqs)
        if seqs != tuple(range(self.expected, self.expected + size)):
            return False
        links = list(map(_link_of, chained))
        if self.prev is not None and links[0] != self.prev:
            return False
        if links[1:] != list(stored[:-1]):
            return False
        computed = list(map(_hex_of, map(sha256, map(str.encode, chained))))
        if computed != list(stored):
            return False
        low = bisect_left(signed, self.expected)
        high = bisect_right(signed, self.expected + size - 1)
        if any(stored[seq - self.expected] != hashes[seq] for seq in signed[low:high]):
            return False
        if self.prev is None:
            self.first_prev = links[0]
        self.prev = stored[-1]
        self.expected += size
        self.count += size
        return True

    def walk(self, batch: Sequence[Sequence[Any]], hashes: Mapping[int, str]) -> ChunkResult | None:
        """Check BATCH row by row; the result naming its first bad event, if any."""
        for seq, chained, row_hash in batch:
            row_prev = chained[:64]
            if seq != self.expected:
                return self.stop(self.expected, "missing event")
            if self.prev is None:
                self.first_prev = row_prev
            elif row_prev != self.prev:
                return self.stop(seq, "broken link to the previous event")
            if sha256(chained.encode()).hexdigest() != row_hash:
                return self.stop(seq, "changed content")
            signed = hashes.get(seq)
            if signed is not None and signed != row_hash:
                return self.stop(seq, "differs from the signed checkpoint (rewritten chain)")
            self.prev = row_hash
            self.expected = seq + 1
            self.count += 1
        return None

    def stop(self, seq: int, reason: str) -> ChunkResult:
        return ChunkResult(
            self.first,
            self.last,
            self.count,
            self.first_prev,
            self.prev,
            self.expected - 1,
            (seq, reason),
        )

    def result(self) -> ChunkResult:
        problem = None if self.expected > self.last else (self.expected, "missing event")
        return ChunkResult(
            self.first,
            self.last,
            self.count,
            self.first_prev,
            self.prev,
            self.expected - 1,
            problem,
        )


def combine_chunks(chunks: Iterable[ChunkResult], checkpoints: Iterable[int]) -> VerifyResult:
    """Join the stretches in order: each must link to the end of the one before."""
    prev_hash = GENESIS_HASH
    events = 0
    last_seq = 0
    for chunk in chunks:
        # The join: this stretch's first event must link to the last one of the stretch
        # before. Checked even when that first event is bad in another way too, so that a
        # stretch boundary never changes what is reported (links are checked before content).
        if chunk.first_prev_hash is not None and chunk.first_prev_hash != prev_hash:
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
    """The cursor's rows, SIZE at a time (a server-side cursor fetches each batch)."""
    while True:
        rows = cursor.fetchmany(size)
        if not rows:
            return
        yield rows


# --- verifying in parallel ----------------------------------------------------------------

# Segments are about this long: small enough for the progress bar to move and for the work
# to spread evenly over the processes, large enough that starting each one costs nothing.
SEGMENT_EVENTS = 250_000


def segment_ranges(
    last: int, anchors: Iterable[int], size: int = SEGMENT_EVENTS
) -> list[tuple[int, int]]:
    """Events 1..LAST cut into stretches of about SIZE, each ending on a signed checkpoint
    (one of ANCHORS) where there is one, so that every stretch ends on a signed hash."""
    signed = sorted(seq for seq in set(anchors) if 0 < seq < last)
    ranges: list[tuple[int, int]] = []
    start = 1
    while last - start + 1 > size:
        target = start + size - 1
        index = bisect_right(signed, target) - 1
        end = signed[index] if index >= 0 and signed[index] >= start + size // 2 else target
        ranges.append((start, end))
        start = end + 1
    if start <= last:
        ranges.append((start, last))
    return ranges


@dataclass(frozen=True)
class TrailDatabase:
    """How a verifying process reaches the trail on its own: the vendor and either a
    PostgreSQL connection string or a SQLite file path (never a Django connection, which
    cannot cross into another process)."""

    vendor: str
    address: str

    def connect(self) -> Any:
        if self.vendor == "postgresql":
            import psycopg  # only PostgreSQL installs need it

            return psycopg.connect(self.address)
        import sqlite3

        # Read-only: verifying never writes, and a reader does not block SafeStep's writers.
        return sqlite3.connect(f"file:{self.address}?mode=ro", uri=True)


def trail_database(settings_dict: Mapping[str, Any], vendor: str) -> TrailDatabase | None:
    """Where other processes can read the trail, or None (an in-memory SQLite database
    exists only inside this process)."""
    if vendor == "sqlite":
        name = str(settings_dict["NAME"])
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        return TrailDatabase(vendor, name)
    if vendor != "postgresql":
        return None
    from psycopg.conninfo import make_conninfo

    options = settings_dict.get("OPTIONS") or {}
    # Only libpq's own connection options: Django's (pool, isolation level, ...) stay here.
    libpq = {
        key: value
        for key, value in options.items()
        if key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "options", "service")
    }
    parts = {
        "dbname": settings_dict.get("NAME"),
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
        "host": settings_dict.get("HOST"),
        "port": settings_dict.get("PORT"),
    }
    given = {key: str(value) for key, value in {**parts, **libpq}.items() if value}
    return TrailDatabase(vendor, make_conninfo(**given))


FETCH_ROWS = 20_000


def verify_segment(
    database: TrailDatabase,
    first: int,
    last: int,
    checkpoint_hashes: Mapping[int, str],
    on_server: bool = True,
) -> ChunkResult:
    """Check events FIRST..LAST on a connection of this process's own (a worker's job);
    on PostgreSQL first by the server itself when ON_SERVER (:func:`check_on_server`)."""
    sql = canonical_sql(database.vendor)
    connection_ = database.connect()
    try:
        if database.vendor == "postgresql" and on_server:
            with connection_.cursor() as checking:
                found = check_on_server(checking, first, last, checkpoint_hashes)
            if found is not None:
                return found
        if database.vendor == "postgresql":
            # A named (server-side) cursor: the rows stream, FETCH_ROWS at a time.
            cursor = connection_.cursor(name=f"audit_verify_{first}")
            cursor.itersize = FETCH_ROWS
        else:
            cursor = connection_.cursor()
            sql = sql.replace("%s", "?")
        cursor.execute(sql, (first, last))
        return verify_chunk(batched(cursor, FETCH_ROWS), first, last, checkpoint_hashes)
    finally:
        connection_.close()


def verify_segment_task(
    task: tuple[TrailDatabase, int, int, Mapping[int, str], bool],
) -> ChunkResult:
    """:func:`verify_segment` for a process pool (one argument)."""
    return verify_segment(*task)

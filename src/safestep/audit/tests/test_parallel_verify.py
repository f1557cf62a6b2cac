"""`safestep audit verify` checks segments of the trail in several processes, and finds and
names every kind of tampering exactly as checking it in one pass does."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from safestep.audit.chain import (
    ChunkResult,
    VerifyResult,
    canonical_sql,
    chain_hash,
    chained_values,
    check_on_server,
    segment_ranges,
    trail_database,
    verify_chunk,
)
from safestep.audit.models import Checkpoint, Event
from safestep.audit.selectors import audit_verify
from safestep.audit.services import audit_checkpoint
from safestep.audit.tests.test_chain import fill, tamper
from safestep.audit.triggers import create_triggers, drop_triggers

pytestmark = pytest.mark.django_db(transaction=True)

# Small segments, so that a trail of a few dozen events spans several of them.
SEGMENT = 10


@contextmanager
def readable_by_other_processes(tmp_path: Path) -> Iterator[None]:
    """Make the test database one that worker processes can open.

    PostgreSQL's test database already is. SQLite's is in this process's memory, so it is
    copied to a file, and the connection's settings name that file while verify runs.
    """
    if connection.vendor != "sqlite":
        yield
        return
    path = tmp_path / "trail.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    original = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        connection.settings_dict["NAME"] = original


def both_ways(tmp_path: Path) -> tuple[VerifyResult, VerifyResult]:
    """The trail verified in one pass in this process, and in segments by two processes."""
    serial = audit_verify(workers=1)
    with readable_by_other_processes(tmp_path):
        assert trail_database(connection.settings_dict, connection.vendor) is not None
        parallel = audit_verify(workers=2, segment_events=SEGMENT)
    return serial, parallel


def signed_trail(count: int) -> None:
    """COUNT events, with a signed checkpoint every 20 (segments end on them)."""
    for _ in range(count // 20):
        fill(20)
        audit_checkpoint()
    fill(count % 20)


def test_it_passes_an_intact_trail_checked_in_parallel(tmp_path):
    signed_trail(65)
    serial, parallel = both_ways(tmp_path)
    assert serial == parallel == VerifyResult(True, 65, 65)


def test_it_reports_the_trail_checked_in_parallel_from_the_command(tmp_path):
    signed_trail(30)
    out = io.StringIO()
    with readable_by_other_processes(tmp_path):
        call_command("audit", "verify", "--progress", "never", "--workers", "2", stdout=out)
    assert out.getvalue().startswith("audit trail intact: 30 events, last #30")


def _edit_content() -> None:
    tamper("UPDATE audit_event SET payload_json = %s WHERE seq = 47", ['{"n":99}'])


def _delete() -> None:
    tamper("DELETE FROM audit_event WHERE seq = 47")


def _reorder() -> None:
    tamper("UPDATE audit_event SET seq = -1 WHERE seq = 44")
    tamper("UPDATE audit_event SET seq = 44 WHERE seq = 47")
    tamper("UPDATE audit_event SET seq = 47 WHERE seq = -1")


def _insert() -> None:
    """A forged event slipped in as #47, well linked to #46; the later ones move up one."""
    tamper("UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 47")
    tamper("UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1047")
    forged = Event.objects.get(seq=46)
    forged.seq = 47
    forged.payload_json = '{"n":"forged"}'
    forged.prev_hash = Event.objects.get(seq=46).hash
    forged.hash = chain_hash(forged.prev_hash, chained_values(forged))
    columns = [str(field.column) for field in Event._meta.concrete_fields]
    marks = ", ".join(["%s"] * len(columns))
    values = [getattr(forged, field.attname) for field in Event._meta.concrete_fields]
    tamper(f"INSERT INTO audit_event ({', '.join(columns)}) VALUES ({marks})", values)


@pytest.mark.parametrize(
    ("damage", "bad_seq", "reasons"),
    [
        (_edit_content, 47, {"changed content"}),
        (_delete, 47, {"missing event"}),
        (_reorder, 44, {"broken link to the previous event", "changed content"}),
        (_insert, 48, {"broken link to the previous event"}),
    ],
    ids=["edited", "deleted", "reordered", "inserted"],
)
def test_it_finds_tampering_in_the_middle_of_a_later_segment_in_parallel(
    tmp_path: Path, damage: Callable[[], None], bad_seq: int, reasons: set[str]
):
    signed_trail(65)
    damage()
    serial, parallel = both_ways(tmp_path)
    assert not parallel.ok
    assert (parallel.bad_seq, parallel.reason in reasons) == (bad_seq, True)
    assert parallel == serial


def test_it_names_a_broken_join_between_segments_the_same_way(tmp_path):
    signed_trail(65)
    # Event #41 opens a segment (the one before ends on the checkpoint at #40): point its
    # link elsewhere. One pass reads it as a broken link; so must the join of two segments.
    tamper("UPDATE audit_event SET prev_hash = %s WHERE seq = 41", ["f" * 64])
    assert (40, 41) in {(end, end + 1) for _, end in segment_ranges(65, [20, 40, 60], SEGMENT)}
    serial, parallel = both_ways(tmp_path)
    assert (parallel.ok, parallel.bad_seq, parallel.reason) == (
        False,
        41,
        "broken link to the previous event",
    )
    assert parallel == serial


def test_it_detects_a_truncated_tail_in_parallel(tmp_path):
    signed_trail(60)
    tamper("DELETE FROM audit_event WHERE seq > 55")
    serial, parallel = both_ways(tmp_path)
    assert not parallel.ok and parallel.reason.startswith("checkpoint not covered")
    assert parallel == serial


def test_it_cuts_segments_on_signed_checkpoints():
    assert segment_ranges(65, [20, 40, 60], 25) == [(1, 20), (21, 40), (41, 65)]
    # Without a checkpoint in reach, a segment is cut at its length.
    assert segment_ranges(30, [], 10) == [(1, 10), (11, 20), (21, 30)]
    assert segment_ranges(0, [], 10) == []


def test_it_refuses_a_bad_worker_count_naming_the_option():
    with pytest.raises(CommandError, match="--workers"):
        call_command("audit", "verify", "--workers", "0")


# --- PostgreSQL checking stretches itself ---------------------------------------------------

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the server-side check is PostgreSQL's"
)


def streamed_here(first: int, last: int, signed: dict[int, str]) -> ChunkResult:
    with connection.cursor() as cursor:
        cursor.execute(canonical_sql(connection.vendor), [first, last])
        return verify_chunk([cursor.fetchall()], first, last, signed)


@needs_postgresql
def test_it_lets_postgresql_check_an_intact_stretch_as_checking_here_would():
    signed_trail(45)
    signed = {checkpoint.seq: checkpoint.hash for checkpoint in Checkpoint.objects.all()}
    with connection.cursor() as cursor:
        on_server = check_on_server(cursor, 1, 45, signed)
    assert on_server is not None
    assert on_server == streamed_here(1, 45, signed)
    assert audit_verify(workers=1) == audit_verify(workers=1, on_server=False)


@needs_postgresql
@pytest.mark.parametrize(
    ("sql", "params", "seq", "reason"),
    [
        (
            "UPDATE audit_event SET payload_json = %s WHERE seq = 27",
            ['{"n":99}'],
            27,
            "changed content",
        ),
        (
            "UPDATE audit_event SET prev_hash = %s WHERE seq = 31",
            ["f" * 64],
            31,
            "broken link to the previous event",
        ),
        ("DELETE FROM audit_event WHERE seq = 33", None, 33, "missing event"),
    ],
)
def test_it_reads_a_stretch_postgresql_finds_wrong_again_here_to_name_the_event(
    sql, params, seq, reason
):
    signed_trail(45)
    tamper(sql, params)
    with connection.cursor() as cursor:
        assert check_on_server(cursor, 1, 45, {}) is None
    found = audit_verify(workers=1)
    assert (found.ok, found.bad_seq, found.reason) == (False, seq, reason)
    assert found == audit_verify(workers=1, on_server=False)


@needs_postgresql
def test_it_does_not_take_the_servers_word_for_a_rewritten_signed_hash():
    signed_trail(40)
    signed = {checkpoint.seq: checkpoint.hash for checkpoint in Checkpoint.objects.all()}
    # The chain rewritten from event 20 on, every hash recomputed: only the signature holds.
    events = list(Event.objects.filter(seq__gte=20).order_by("seq"))
    previous = Event.objects.get(seq=19).hash
    drop_triggers(connection)
    try:
        for event in events:
            event.payload_json = '{"n":"rewritten"}' if event.seq == 20 else event.payload_json
            values = chained_values(event)
            new_hash = chain_hash(previous, values)
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE audit_event SET payload_json = %s, prev_hash = %s, hash = %s "
                    "WHERE seq = %s",
                    [event.payload_json, previous, new_hash, event.seq],
                )
            previous = new_hash
    finally:
        create_triggers(connection)
    with connection.cursor() as cursor:
        assert check_on_server(cursor, 1, 40, signed) is None
    found = audit_verify(workers=1)
    assert not found.ok and "signed checkpoint" in found.reason

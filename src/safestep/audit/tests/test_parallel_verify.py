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
    VerifyResult,
    chain_hash,
    chained_values,
    segment_ranges,
    trail_database,
)
from safestep.audit.models import Event
from safestep.audit.selectors import audit_verify
from safestep.audit.services import audit_checkpoint
from safestep.audit.tests.test_chain import fill, tamper

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

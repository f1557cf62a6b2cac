"""`safestep audit verify` finds every kind of tampering, and names the spot."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, transaction
from django.db.utils import DatabaseError

from safestep.audit.actions import Action
from safestep.audit.models import Checkpoint, Event
from safestep.audit.selectors import audit_verify
from safestep.audit.services import audit_checkpoint, event_record
from safestep.audit.triggers import create_triggers, drop_triggers


def fill(count: int, **extra) -> None:
    for number in range(count):
        event_record(actor=None, action=Action.AUDIT_READ, payload={"n": number}, **extra)


def tamper(sql: str, params: list | None = None) -> None:
    """What someone with a database console could do: drop the triggers, change rows."""
    drop_triggers(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
    finally:
        create_triggers(connection)


def verify_command() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", "--progress", "never", stdout=out, stderr=err)
    except SystemExit as exit_code:
        return int(exit_code.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


pytestmark = pytest.mark.django_db(transaction=True)


def test_it_passes_an_intact_trail():
    fill(25)
    code, out, _ = verify_command()
    assert code == 0
    assert out.startswith("audit trail intact: 25 events, last #25")


def test_it_names_an_edited_event():
    fill(10)
    tamper("UPDATE audit_event SET payload_json = %s WHERE seq = 4", ['{"n":99}'])
    code, _, err = verify_command()
    assert code == 1
    assert err.strip() == "audit trail damaged at event #4: changed content"


def test_it_names_a_deleted_event():
    fill(10)
    tamper("DELETE FROM audit_event WHERE seq = 6")
    result = audit_verify()
    assert (result.ok, result.bad_seq, result.reason) == (False, 6, "missing event")


def test_it_names_reordered_events():
    fill(10)
    # Swap the content of events 3 and 7, keeping their sequence numbers.
    tamper("UPDATE audit_event SET seq = -3 WHERE seq = 3")
    tamper("UPDATE audit_event SET seq = 3 WHERE seq = 7")
    tamper("UPDATE audit_event SET seq = 7 WHERE seq = -3")
    result = audit_verify()
    assert (result.ok, result.bad_seq) == (False, 3)
    assert result.reason in ("broken link to the previous event", "changed content")


def test_it_detects_a_rewritten_chain_through_the_signed_checkpoint():
    fill(5)
    audit_checkpoint()
    fill(3)
    # Rewrite event 2 and recompute every later hash, as a careful forger would.
    from safestep.audit.chain import chain_hash, chained_values

    drop_triggers(connection)
    try:
        events = list(Event.objects.order_by("seq"))
        prev = events[0].hash
        for event in events[1:]:
            if event.seq == 2:
                event.payload_json = '{"n":"forged"}'
            event.prev_hash = prev
            event.hash = chain_hash(prev, chained_values(event))
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE audit_event SET payload_json=%s, prev_hash=%s, hash=%s WHERE seq=%s",
                    [event.payload_json, event.prev_hash, event.hash, event.seq],
                )
            prev = event.hash
    finally:
        create_triggers(connection)
    result = audit_verify()
    assert (result.ok, result.bad_seq) == (False, 5)
    assert "signed checkpoint" in result.reason


def test_it_detects_a_truncated_tail_even_when_database_checkpoints_go_too():
    fill(8)
    audit_checkpoint()
    tamper("DELETE FROM audit_event WHERE seq > 5")
    tamper("DELETE FROM audit_checkpoint")
    code, _, err = verify_command()
    assert code == 1
    assert err.startswith("audit trail damaged at event #6: checkpoint not covered")


def test_it_refuses_a_forged_checkpoint_signature():
    fill(3)
    Checkpoint(seq=3, hash=Event.objects.get(seq=3).hash, at_us=0, signature="0" * 64).save(
        force_insert=True
    )
    result = audit_verify()
    assert not result.ok and "bad signature" in result.reason


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
        "UPDATE audit_checkpoint SET hash = 'x'",
        "DELETE FROM audit_checkpoint",
    ],
)
def test_it_has_the_database_refuse_updates_and_deletes(sql):
    fill(2)
    audit_checkpoint()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert Event.objects.get(seq=1).action == Action.AUDIT_READ


def test_it_has_the_orm_refuse_updates_and_deletes():
    fill(1)
    event = Event.objects.get(seq=1)
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        Event.objects.filter(seq=1).update(action="x")
    with pytest.raises(PermissionError):
        Event.objects.all().delete()


def test_it_keeps_the_chain_intact_under_concurrent_writers():
    writers, per_writer = 8, 25
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write() -> None:
        barrier.wait()
        try:
            for number in range(per_writer):
                event_record(actor=None, action=Action.AUDIT_READ, payload={"n": number})
        except BaseException as error:  # reported by the assertion below
            failures.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    result = audit_verify()
    assert result.ok, result.describe()
    assert result.events == writers * per_writer


def test_it_builds_the_same_canonical_encoding_in_sql_as_in_python():
    from safestep.audit.chain import canonical_encoding, canonical_sql, chained_values

    event_record(
        actor=None,
        action=Action.STEP_COMPLETE,
        step_id="cws_report",
        payload={"note": 'Ñandú \u001e "quoted" \\ back'},
        sensitive={"reason": "x"},
    )
    event = Event.objects.get(seq=1)
    with connection.cursor() as cursor:
        cursor.execute(canonical_sql(connection.vendor), [1, 1])
        (_seq, chained, _hash) = cursor.fetchone()
    assert chained == event.prev_hash + canonical_encoding(chained_values(event)).decode()

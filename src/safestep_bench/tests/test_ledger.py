from __future__ import annotations

from safestep_bench.drills import Ledger


def test_it_counts_a_503_as_a_server_error_unless_the_database_is_down_on_purpose():
    body = b'{"status": 503}'
    under_load = Ledger()
    under_load.record("POST", "/api/v1/cases/1/notes", 503, body)
    assert len(under_load.server_errors) == 1

    database_down = Ledger(unavailable_expected=True)
    database_down.record("POST", "/api/v1/cases/1/notes", 503, body)
    database_down.record("POST", "/api/v1/cases/1/notes", 500, b"")
    assert database_down.statuses[503] == 1
    assert len(database_down.server_errors) == 1  # a 500 is never right


def test_it_keeps_refusals_apart_from_conflicts():
    ledger = Ledger()
    ledger.record("POST", "/api/v1/cases/1/steps/x/complete", 409, b"stale")
    ledger.record("POST", "/api/v1/cases/1/notes", 400, b"bad")
    assert ledger.unexpected == ["POST /api/v1/cases/1/notes -> 400 b'bad'"]

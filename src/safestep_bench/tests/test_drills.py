"""Bounded versions of the reliability drills (scripts/drills/ runs them longer).

Each drill builds its own throw-away install (data directory; on PostgreSQL a database of
its own on the same server as the test run) and drives a real server over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from safestep_bench import drills

pytestmark = pytest.mark.drill


def postgres_server() -> str | None:
    """The PostgreSQL server this test run uses, addressed through its maintenance database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def run(report: drills.Report) -> None:
    print(report.text())
    assert report.ok, report.text()


def test_it_keeps_every_acknowledged_write_under_load():
    run(drills.drill_load(seconds=8, clients=4, postgres=postgres_server()))


def test_it_keeps_every_acknowledged_write_when_the_server_is_killed():
    run(drills.drill_crash(seconds=10, clients=3, postgres=postgres_server()))


def test_it_answers_a_thousand_fuzzed_requests_without_errors():
    run(drills.drill_fuzz(examples=45, min_cases=1000, postgres=postgres_server()))


def test_it_restores_a_backup_into_an_empty_install():
    run(drills.drill_backup(seconds=4, postgres=postgres_server()))


def test_the_benchmark_writes_its_figures(tmp_path: Path):
    with drills.install(postgres_server()) as target:
        out = tmp_path / "bench.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "safestep",
                "bench",
                "--quick",
                "--cases",
                "30",
                "--rounds",
                "3",
                "--seconds",
                "2",
                "--out",
                str(out),
            ],
            env=target.env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(out.read_text())
    # The floor: its authentication's queries, and one indexed query of its own.
    assert result["floor"]["p50_ms"] > 0
    assert result["floor"]["queries"] == 2  # the token with its user, the case's version
    assert result["floor_session"]["p50_ms"] > 0
    assert result["floor_session"]["queries"] == 4  # session, user, second factor, version
    for name in ("case_detail_html", "case_detail_api", "case_list_api", "my_work", "dashboard"):
        page = result["pages"][name]
        assert "missing" in page or {"p50_ms", "p95_ms", "queries", "queries_long_history"} <= set(
            page
        )
        assert page.get("status", 200) == 200
    assert result["audit"]["verify"]["ok"]
    assert result["concurrent"]["requests"] > 0
    assert set(result["concurrent"]["statuses"]) == {"200"}


def database_down_allowed() -> str | None:
    """Stopping PostgreSQL breaks every other user of the server: only in CI, or on request."""
    if postgres_server() is None:
        return "needs PostgreSQL (DATABASE_URL=postgres://...)"
    if os.environ.get("CI") != "true" and os.environ.get("SAFESTEP_DRILL_DATABASE_DOWN") != "1":
        return "stops the PostgreSQL server: runs in CI, or with SAFESTEP_DRILL_DATABASE_DOWN=1"
    try:
        drills.pg_cluster_command("status")
    except drills.DrillFailed as error:
        return str(error)
    return None


@pytest.mark.skipif(database_down_allowed() is not None, reason=str(database_down_allowed()))
def test_it_answers_503_while_the_database_is_down_and_recovers_by_itself():
    from django.db import connections

    server = postgres_server()
    assert server is not None
    # This test run's own connections would die with the server: close them first.
    connections.close_all()
    try:
        run(drills.drill_database_down(postgres=server, down_seconds=3, clients=3))
    finally:
        drills.ensure_postgres_running(server)
        connections.close_all()

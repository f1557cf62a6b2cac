"""Reliability drills: load, crash, fuzz, backup and database-down, against the real server.

Each drill builds a throw-away install of its own (a fresh data directory; on PostgreSQL a
fresh database on the given server, dropped afterwards), seeds it with ``seed-bench``,
starts ``safestep serve`` and drives it over HTTP. Everything the drill checks afterwards
it reads through ``safestep`` commands in that install, so a drill never touches the
database of whoever runs it (nor a test suite's).

Run one with ``python -m safestep_bench.drills NAME [--seconds S] [--postgres URL]`` or
the scripts in ``scripts/drills/``; bounded versions run in the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from safestep_bench.server import Client, Server, free_port, start_server

# Variables of the calling process that must not leak into a drill's install.
PRIVATE_VARIABLES = (
    "DJANGO_SETTINGS_MODULE",
    "SAFESTEP_AUDIT_CHECKPOINT_FILE",
    "SAFESTEP_SECRET_KEY",
    "SAFESTEP_SECRET_KEY_FILE",
    "SAFESTEP_ENCRYPTION_KEYS",
    "SAFESTEP_ENCRYPTION_KEYS_FILE",
    "SAFESTEP_AUDIT_KEY",
    "SAFESTEP_AUDIT_KEY_FILE",
    "DATABASE_URL",
    # A drill's server runs as an installed SafeStep does: no benchmark app, no floor.
    # (`safestep seed-bench` switches bench mode on for itself.)
    "SAFESTEP_BENCH",
    "SAFESTEP_BENCH_FLOOR",
)
ADMIN = "bench0001_admin"
COUNSELOR = "bench0001_counselor"
COORDINATOR = "bench_coordinator"
# Steps a site administrator can resolve with fixed details, for write traffic.
SIMPLE_STEPS: dict[str, dict[str, Any]] = {
    "police_involved": {"agency": "school_police", "officer": "Ofc. Drill"},
    "campus_impact": {"findings": "None found.", "other_students_involved": False},
    "school_consequences": {
        "consequence": "None: the student is a victim.",
        "expulsion_recommended": False,
        "referred_for_criminal_investigation": False,
    },
}


# --- a throw-away install -------------------------------------------------------------


@dataclass
class Install:
    root: Path
    database_url: str | None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in PRIVATE_VARIABLES}
        env["SAFESTEP_DATA_DIR"] = str(self.data_dir)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def safestep(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "safestep", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise DrillFailed(
                f"safestep {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-500:]}"
            )
        return done

    def query(self, code: str) -> Any:
        """Run CODE in `safestep shell` of this install; it prints one line of JSON."""
        done = self.safestep("shell", "-c", code)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def serve(self, name: str = "server", **kwargs: Any) -> Server:
        return start_server(env=self.env(), log_path=self.root / f"{name}.log", **kwargs)


class DrillFailed(Exception):
    pass


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_sql(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(
        url.replace("postgres://", "postgresql://", 1), autocommit=True, connect_timeout=5
    ) as conn:
        conn.execute(statement)


@contextmanager
def install(postgres_url: str | None = None, *, keep: bool = False) -> Iterator[Install]:
    root = Path(tempfile.mkdtemp(prefix="safestep-drill-"))
    database_url = None
    name = ""
    if postgres_url:
        name = f"safestep_drill_{uuid.uuid4().hex[:10]}"
        _admin_sql(postgres_url, f'CREATE DATABASE "{name}"')
        database_url = _with_database(postgres_url, name)
    try:
        yield Install(root, database_url)
    finally:
        if postgres_url and name:
            try:
                _admin_sql(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as error:  # the drill's verdict matters more than the cleanup
                print(f"drill: could not drop {name}: {error}", file=sys.stderr)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


TOKENS_QUERY = f"""
import json
from safestep.accounts.models import User
from safestep.accounts.tokens import issue_key
names = {[ADMIN, COUNSELOR, COORDINATOR]!r}
tokens = {{}}
for name in names:
    tokens[name] = issue_key(User.objects.get(username=name))
print(json.dumps(tokens))
"""


def prepare(target: Install, cases: int = 30) -> None:
    target.safestep("migrate", "--verbosity", "0")
    target.safestep(
        "seed-bench", "--cases", str(cases), "--events-per-case", "10", "--progress", "never"
    )
    target.tokens = target.query(TOKENS_QUERY)


# --- traffic --------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the server acknowledged (2xx), and every answer it gave."""

    notes: set[int] = field(default_factory=set)
    check_ins: set[int] = field(default_factory=set)
    cases: set[int] = field(default_factory=set)
    steps: set[tuple[int, str]] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    no_answer: int = 0
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # While the database is down on purpose, 503 (with problem+json) is the right answer.
    unavailable_expected: bool = False

    def record(self, method: str, path: str, status: int, body: bytes) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status == 503 and self.unavailable_expected:
                return
            if status >= 500:
                self.server_errors.append(f"{method} {path} -> {status} {body[:200]!r}")
            elif status >= 400 and status not in (409,):
                self.unexpected.append(f"{method} {path} -> {status} {body[:200]!r}")

    @property
    def acknowledged_writes(self) -> int:
        return len(self.notes) + len(self.check_ins) + len(self.cases) + len(self.steps)


def _now_iso(minutes_ago: float = 1) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


class Traffic:
    """Mixed reads and writes by several clients, until told to stop."""

    def __init__(self, target: Install, port: Callable[[], int], ledger: Ledger, *, seed: int = 1):
        self.target = target
        self.port = port
        self.ledger = ledger
        self.stop = threading.Event()
        self.seed = seed
        self.cases: list[int] = []
        self.cases_lock = threading.Lock()

    def _headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Token {self.target.tokens[username]}"}

    def load_cases(self) -> None:
        client = Client(self.port(), headers=self._headers(ADMIN))
        status, _, body = client.get("/api/v1/cases?status=open")
        client.close()
        if status != 200:
            raise DrillFailed(f"listing cases answered {status}")
        self.cases = [item["id"] for item in json.loads(body)["results"]]

    def _call(self, client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            status, headers, data = client.request(method, path, body=body)
        except OSError:
            client.close()
            with self.ledger.lock:
                self.ledger.no_answer += 1
            time.sleep(0.05)
            return 0, None
        self.ledger.record(method, path, status, data)
        if status >= 500 and "application/problem+json" not in headers.get("content-type", ""):
            with self.ledger.lock:
                self.ledger.server_errors.append(f"{method} {path}: {status} is not problem+json")
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None

    def _one(self, rng: random.Random, clients: dict[str, Client]) -> None:
        with self.cases_lock:
            case_id = rng.choice(self.cases)
        roll = rng.random()
        admin, counselor = clients[ADMIN], clients[COUNSELOR]
        if roll < 0.35:
            self._call(admin, "GET", f"/api/v1/cases/{case_id}")
        elif roll < 0.45:
            self._call(admin, "GET", "/api/v1/cases")
        elif roll < 0.65:
            status, body = self._call(
                admin, "POST", f"/api/v1/cases/{case_id}/notes", {"text": "Drill note."}
            )
            if status == 201 and body:
                with self.ledger.lock:
                    self.ledger.notes.add(int(body["id"]))
        elif roll < 0.8:
            status, body = self._call(
                counselor,
                "POST",
                f"/api/v1/cases/{case_id}/check-ins",
                {"occurred_at": _now_iso(), "method": "in_person", "notes": "Drill check-in."},
            )
            if status == 201 and body:
                with self.ledger.lock:
                    self.ledger.check_ins.add(int(body["id"]))
        elif roll < 0.9:
            status, body = self._call(admin, "GET", f"/api/v1/cases/{case_id}")
            if status != 200 or not body:
                return
            pending = [
                step["id"]
                for step in body["steps"]
                if step["state"] == "pending" and step["id"] in SIMPLE_STEPS
            ]
            if not pending:
                return
            step_id = pending[0]
            status, _ = self._call(
                admin,
                "POST",
                f"/api/v1/cases/{case_id}/steps/{step_id}/complete",
                {
                    "occurred_at": _now_iso(),
                    "details": SIMPLE_STEPS[step_id],
                    "version": body["version"],
                },
            )
            if status == 200:
                with self.ledger.lock:
                    self.ledger.steps.add((case_id, step_id))
        else:
            status, body = self._call(
                admin,
                "POST",
                "/api/v1/cases",
                {
                    "school": "BENCH0001",
                    "student": {
                        "sis_id": f"DRILL-{uuid.uuid4().hex[:12]}",
                        "first_name": "Drill",
                        "last_name": "Student",
                    },
                    "pathway": "suspected_victim",
                    "suspicion_formed_at": _now_iso(60),
                    "summary": "Opened by a drill.",
                },
            )
            if status == 201 and body:
                with self.ledger.lock:
                    self.ledger.cases.add(int(body["id"]))
                with self.cases_lock:
                    self.cases.append(int(body["id"]))

    def _run(self, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)  # noqa: S311 (traffic, not secrets)
        clients: dict[str, Client] = {}
        port = 0
        while not self.stop.is_set():
            if port != self.port():
                for client in clients.values():
                    client.close()
                port = self.port()
                clients = {
                    name: Client(port, headers=self._headers(name), timeout=30)
                    for name in (ADMIN, COUNSELOR)
                }
            self._one(rng, clients)
        for client in clients.values():
            client.close()

    @contextmanager
    def running(self, clients: int) -> Iterator[None]:
        if not self.cases:
            self.load_cases()
        threads = [
            threading.Thread(target=self._run, args=(number,), daemon=True)
            for number in range(clients)
        ]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(60)


# --- checks afterwards ----------------------------------------------------------------

STATE_QUERY = """
import json
from safestep.audit.models import Event
from safestep.cases.models import Case, CheckIn, Note, StepRecord
def ids(action, key):
    payloads = Event.objects.filter(action=action).values_list("payload_json", flat=True)
    return sorted(json.loads(payload).get(key) for payload in payloads)
live = StepRecord.objects.filter(reopened_at__isnull=True)
opened = Event.objects.filter(action="case.open")
print(json.dumps({
    "notes": sorted(Note.objects.values_list("id", flat=True)),
    "check_ins": sorted(CheckIn.objects.values_list("id", flat=True)),
    "cases": sorted(Case.objects.values_list("id", flat=True)),
    "steps": [list(pair) for pair in live.values_list("case_id", "step_id")],
    "note_events": ids("note.add", "note"),
    "check_in_events": ids("checkin.record", "check_in"),
    "case_events": sorted(opened.values_list("case_id", flat=True)),
}))
"""


@dataclass
class Report:
    name: str
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        verdict = "PASSED" if self.ok else "FAILED"
        lines = [f"drill {self.name}: {verdict}"]
        lines += [f"  {fact}" for fact in self.facts]
        lines += [f"  problem: {problem}" for problem in self.problems]
        return "\n".join(lines)


def check_state(target: Install, ledger: Ledger, report: Report) -> None:
    """Every acknowledged write is stored, nothing is half-written, the trail verifies."""
    state = target.query(STATE_QUERY)
    stored = {
        "notes": set(state["notes"]),
        "check_ins": set(state["check_ins"]),
        "cases": set(state["cases"]),
        "steps": {(case, step) for case, step in state["steps"]},
    }
    for kind, acknowledged in (
        ("notes", ledger.notes),
        ("check_ins", ledger.check_ins),
        ("cases", ledger.cases),
        ("steps", ledger.steps),
    ):
        missing = acknowledged - stored[kind]
        if missing:
            report.problems.append(
                f"{len(missing)} acknowledged {kind} missing, e.g. {sorted(missing)[:3]}"
            )
    # A row without its event, or an event without its row, would be a half-written write.
    for kind, events in (
        ("notes", "note_events"),
        ("check_ins", "check_in_events"),
        ("cases", "case_events"),
    ):
        rows, logged = set(state[kind]), set(state[events])
        if rows != logged or len(state[events]) != len(logged):
            report.problems.append(
                f"{kind} and their events disagree: {len(rows - logged)} rows without an event, "
                f"{len(logged - rows)} events without a row"
            )
    verify = target.safestep("audit", "verify", "--progress", "never", check=False)
    if verify.returncode != 0:
        report.problems.append(
            f"audit verify failed: {verify.stderr.strip() or verify.stdout.strip()}"
        )
    else:
        report.facts.append(verify.stdout.strip())
    report.facts.append(
        f"acknowledged writes: {len(ledger.notes)} notes, {len(ledger.check_ins)} check-ins, "
        f"{len(ledger.cases)} new cases, {len(ledger.steps)} steps; all present"
        if not report.problems
        else "acknowledged writes checked"
    )


def _traffic_facts(ledger: Ledger, report: Report, seconds: float) -> None:
    total = sum(ledger.statuses.values())
    answers = ", ".join(f"{status}: {count}" for status, count in sorted(ledger.statuses.items()))
    report.facts.append(
        f"{total} answers in {seconds:.0f} s ({answers}); {ledger.no_answer} without an answer"
    )
    if ledger.server_errors:
        report.problems.append(
            f"{len(ledger.server_errors)} server errors, e.g. {ledger.server_errors[0]}"
        )
    if ledger.unexpected:
        report.facts.append(
            f"note: {len(ledger.unexpected)} refused requests, e.g. {ledger.unexpected[0]}"
        )


# --- the drills -----------------------------------------------------------------------


def drill_load(*, seconds: float = 20, clients: int = 6, postgres: str | None = None) -> Report:
    report = Report("load" + (" (PostgreSQL)" if postgres else " (SQLite)"))
    with install(postgres) as target:
        prepare(target)
        server = target.serve()
        ledger = Ledger()
        try:
            traffic = Traffic(target, lambda: server.port, ledger)
            started = time.monotonic()
            with traffic.running(clients):
                time.sleep(seconds)
            elapsed = time.monotonic() - started
        finally:
            server.stop()
        _traffic_facts(ledger, report, elapsed)
        if ledger.acknowledged_writes == 0:
            report.problems.append("no write was acknowledged: the drill tested nothing")
        check_state(target, ledger, report)
    return report


def drill_crash(*, seconds: float = 20, clients: int = 4, postgres: str | None = None) -> Report:
    """kill -9 the server (master and workers) mid-load, restart it, keep going."""
    report = Report("crash" + (" (PostgreSQL)" if postgres else " (SQLite)"))
    with install(postgres) as target:
        prepare(target)
        port = free_port()
        holder = {"server": target.serve(port=port)}
        ledger = Ledger()
        try:
            traffic = Traffic(target, lambda: port, ledger)
            started = time.monotonic()
            with traffic.running(clients):
                time.sleep(seconds / 2)
                before = ledger.acknowledged_writes
                holder["server"].kill()
                holder["server"].process.wait(10)
                report.facts.append(
                    f"killed the server (SIGKILL) after {before} acknowledged writes"
                )
                holder["server"] = target.serve("server-restarted", port=port, migrate=False)
                report.facts.append("restarted it")
                time.sleep(seconds / 2)
                after = ledger.acknowledged_writes
            elapsed = time.monotonic() - started
        finally:
            holder["server"].stop()
        if after <= before:
            report.problems.append("no write was acknowledged after the restart")
        _traffic_facts(ledger, report, elapsed)
        check_state(target, ledger, report)
    return report


# Hostile values mixed into what schemathesis generates: Unicode digits ("²".isdigit() is
# True but int("²") fails), times Python cannot turn into UTC or local time, offsets no
# place uses, times the district's clocks skip, numbers no database column holds, and
# JSON nested deeper than the parser allows. Every answer must still be below 500.
HOSTILE_HOOKS = r"""
import itertools

import schemathesis
from hypothesis import strategies as st

DIGITS = ["\u00b2", "\u0661\u0662", "\u0968", "\U0001d7d8", "1\u00b2", "9" * 5000]
TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31",
    "2020-01-01T00:00:00+99:00",
    "2020-01-01T00:00:00+23:59",
    "2026-03-08T02:30",
    "+99999-01-01T00:00:00Z",
]
STRINGS = DIGITS + TIMES
NUMBERS = [2**63, 10**30, -(2**63) - 1]


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


DEEP = [nested(40), nested(200), {"details": nested(100)}]
DETAILS = [
    {"phoned_at": "0001-01-01T00:00:00+14:00", "agency": "cws"},
    {"written_submitted_at": "9999-12-31T23:59:59-12:00", "agency": "cws"},
    {"every_days": "\u00b2", "assignee": "\u0661"},
]


def variants(value):
    if not isinstance(value, dict):
        return [*DEEP, *STRINGS[:3]]
    out = list(DEEP)
    for key, current in value.items():
        if isinstance(current, bool):
            continue
        if isinstance(current, dict):
            out += [{**value, key: hostile} for hostile in DETAILS]
        elif isinstance(current, int):
            out += [{**value, key: hostile} for hostile in NUMBERS + DIGITS[:2]]
        else:
            out += [{**value, key: hostile} for hostile in STRINGS]
    out.append({**value, "version": "\u00b2"})
    return out


@schemathesis.hook
def flatmap_body(context, body):
    return st.one_of(st.just(body), st.sampled_from(variants(body)))


@schemathesis.hook
def flatmap_query(context, query):
    if not query:
        return st.just(query)
    hostile = [{**query, key: value} for key in query for value in STRINGS]
    return st.one_of(st.just(query), st.sampled_from(hostile))


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    numbers = [key for key, value in path_parameters.items() if isinstance(value, int)]
    hostile = [{**path_parameters, key: value} for key in numbers for value in NUMBERS[:2]]
    if not hostile:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.sampled_from(hostile))


# Header values travel as Latin-1: "²" and "¹" are Unicode digits that fit.
IF_MATCH = itertools.cycle([None, '"\u00b2"', None, 'W/"\u00b9"', None, '"' + "9" * 5000 + '"'])


@schemathesis.hook
def map_case(context, case):
    header = next(IF_MATCH)
    if header is not None and case.method.upper() in ("POST", "PUT"):
        case.headers["If-Match"] = header
    return case
"""


def _raw_request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, str, bytes]:
    """One request on a fresh connection, sending exactly these headers and BODY."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        sent = dict(headers)
        if body:
            sent.setdefault("Content-Length", str(len(body)))
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def hostile_probes(port: int, token: str, case_id: int) -> tuple[list[str], list[str]]:
    """Attacks schemathesis does not make by itself; each must answer 4xx problem+json.

    Returns (facts, problems).
    """
    auth = {"Host": "localhost", "Authorization": f"Token {token}"}
    as_json = {**auth, "Content-Type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000
    year_one = {"occurred_at": "0001-01-01T00:00:00+14:00", "method": "in_person"}
    # (what, method, path, headers, body, expected status, a word the answer must contain)
    probes: list[tuple[str, str, str, dict[str, str], bytes, int, str]] = [
        ("deep JSON", "POST", f"/api/v1/cases/{case_id}/notes", as_json, deep, 400, "nested"),
        (
            # Declared larger than the limit: refused before the body is read.
            "a body over the limit",
            "POST",
            f"/api/v1/cases/{case_id}/notes",
            {**as_json, "Content-Length": str(3 * 1024 * 1024)},
            b"{",
            413,
            "larger than",
        ),
        (
            "a Unicode digit in If-Match",
            "POST",
            f"/api/v1/cases/{case_id}/notes",
            {**as_json, "If-Match": '"\u00b2"'},  # "²", sent as the Latin-1 byte
            json.dumps({"text": "x"}).encode(),
            400,
            "If-Match",
        ),
        (
            "a year-1 check-in",
            "POST",
            f"/api/v1/cases/{case_id}/check-ins",
            as_json,
            json.dumps(year_one).encode(),
            400,
            "occurred_at",
        ),
        (
            "an offset of +99:00",
            "POST",
            f"/api/v1/cases/{case_id}/check-ins",
            as_json,
            json.dumps({**year_one, "occurred_at": "2020-01-01T00:00:00+99:00"}).encode(),
            400,
            "occurred_at",
        ),
        ("an unknown API path", "GET", "/api/v1/nowhere", auth, b"", 404, "Not found"),
        ("an unknown method", "DELETE", f"/api/v1/cases/{case_id}", auth, b"", 405, "DELETE"),
        (
            "an unsupported media type",
            "POST",
            f"/api/v1/cases/{case_id}/notes",
            {**auth, "Content-Type": "text/plain"},
            b"text=x",
            415,
            "text/plain",
        ),
    ]
    facts: list[str] = []
    problems: list[str] = []
    for name, method, path, headers, body, expected, word in probes:
        try:
            status, kind, data = _raw_request(port, method, path, headers, body)
        except OSError as error:
            problems.append(f"{name}: no answer ({error})")
            continue
        answered = status == expected and kind.startswith("application/problem+json")
        if not answered or word.encode() not in data:
            problems.append(f"{name}: {method} {path} answered {status} {kind} {data[:200]!r}")
    # Afterwards the case and its SS 8572 still answer.
    for path in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/scar.pdf"):
        status, _kind, data = _raw_request(port, "GET", path, auth, b"")
        if status != 200:
            problems.append(f"GET {path} answered {status} after the attacks: {data[:200]!r}")
    if not problems:
        facts.append(f"{len(probes)} hostile requests refused with 4xx problem+json")
    return facts, problems


def drill_fuzz(
    *,
    examples: int = 40,
    min_cases: int = 1000,
    postgres: str | None = None,
    seconds: float | None = None,
) -> Report:
    """schemathesis against /api/schema/, hostile values mixed in: no 5xx, answers match.

    Before it, a few hand-made attacks schemathesis does not make (deep JSON, a body over
    the limit) must answer 4xx problem+json.
    """
    report = Report("fuzz" + (" (PostgreSQL)" if postgres else " (SQLite)"))
    executable = Path(sys.executable).with_name("schemathesis")
    if not executable.exists():
        found = shutil.which("schemathesis")
        if found is None:
            report.problems.append("schemathesis is not installed (pip install -e '.[dev]')")
            return report
        executable = Path(found)
    with install(postgres) as target:
        prepare(target)
        hooks = target.root / "hostile_hooks.py"
        hooks.write_text(HOSTILE_HOOKS, encoding="utf-8")
        with_server = target.serve()
        try:
            traffic = Traffic(target, lambda: with_server.port, Ledger())
            traffic.load_cases()
            facts, problems = hostile_probes(
                with_server.port, target.tokens[COORDINATOR], traffic.cases[0]
            )
            report.facts += facts
            report.problems += problems
            command = [
                str(executable),
                "run",
                f"{with_server.base_url}/api/schema/",
                "--header",
                f"Authorization: Token {target.tokens[COORDINATOR]}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                # The coverage phase of schemathesis 4 can fail inside schemathesis itself
                # (an AST recursion error); generated examples and fuzzing test the API.
                "--phases",
                "examples,fuzzing",
                "--max-examples",
                str(examples),
                "--seed",
                "8",
                "--workers",
                "2",
                "--generation-database",
                "none",
                "--no-color",
            ]
            if seconds:
                command += ["--max-time", str(int(seconds))]
            done = subprocess.run(  # noqa: S603
                command,
                env={**target.env(), "SCHEMATHESIS_HOOKS": str(hooks)},
                # schemathesis keeps a cache in its working directory: the throw-away one.
                cwd=target.root,
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
        finally:
            with_server.stop()
        output = done.stdout + done.stderr
        generated = sum(int(found) for found in re.findall(r"(\d+) generated", output))
        report.facts.append(
            f"schemathesis generated {generated} test cases, hostile values mixed in "
            f"(exit {done.returncode})"
        )
        if generated < min_cases:
            report.problems.append(f"only {generated} test cases, fewer than {min_cases}")
        if done.returncode != 0:
            tail = "\n".join(line for line in output.splitlines() if line.strip())[-3000:]
            report.problems.append(f"schemathesis found problems:\n{tail}")
    return report


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _upload(port: int, token: str, case_id: int, content: bytes) -> int:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    client = Client(port, headers={"Authorization": f"Token {token}"})
    status, _, data = client.request(
        "POST",
        f"/api/v1/cases/{case_id}/attachments",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    client.close()
    if status != 201:
        raise DrillFailed(f"uploading an attachment answered {status}: {data[:200]!r}")
    return int(json.loads(data)["id"])


def _damaged_copy(archive: Path) -> Path:
    """The same archive with one byte added to one member: its checksum no longer matches."""
    damaged = archive.with_name("damaged.tar.gz")
    with tarfile.open(archive, "r:gz") as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            content = data.read() if data is not None else b""
            if member.name.startswith(("keys/", "audit/")):
                content += b"\n"
            member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    return damaged


def drill_backup(*, seconds: float = 6, postgres: str | None = None) -> Report:
    """Back up while writes go on, restore into an empty install, compare."""
    report = Report("backup" + (" (PostgreSQL)" if postgres else " (SQLite)"))
    with install(postgres) as source, install(postgres) as target:
        prepare(source)
        server = source.serve()
        ledger = Ledger()
        archive = source.root / "backup.tar.gz"
        try:
            traffic = Traffic(source, lambda: server.port, ledger)
            traffic.load_cases()
            case_id = traffic.cases[0]
            content = PNG + os.urandom(64)
            attachment = _upload(server.port, source.tokens[ADMIN], case_id, content)
            with traffic.running(3):
                time.sleep(seconds / 2)
                made = source.safestep("backup", str(archive))
                time.sleep(seconds / 2)
        finally:
            server.stop()
        report.facts.append(made.stdout.strip())
        mode = archive.stat().st_mode & 0o777
        if mode != 0o600:
            report.problems.append(f"the archive has mode {mode:o}, not 600")
        damaged = _damaged_copy(archive)
        # The key material goes to ARCHIVE.keys, apart from the archive (unless --with-keys).
        keys_file = archive.with_name(archive.name + ".keys")
        keys = ["--keys", str(keys_file)] if keys_file.exists() else []
        refused = target.safestep("restore", str(damaged), *keys, check=False)
        if refused.returncode != 1 or "checksum" not in refused.stderr:
            report.problems.append(f"a damaged backup was not refused: {refused.stderr.strip()}")
        else:
            report.facts.append("a damaged copy was refused and left the install empty")
        restored = target.safestep("restore", str(archive), *keys, check=False)
        if restored.returncode != 0:
            report.problems.append(f"restore failed: {restored.stderr.strip()}")
            return report
        report.facts.append(restored.stdout.strip())
        again = target.safestep("restore", str(archive), *keys, check=False)
        if again.returncode == 0:
            report.problems.append("a second restore into a non-empty install was not refused")
        verify = target.safestep("audit", "verify", "--progress", "never", check=False)
        if verify.returncode != 0:
            report.problems.append(f"audit verify failed after restore: {verify.stderr.strip()}")
        target.tokens = dict(source.tokens)
        restored_server = target.serve("restored", migrate=False)
        try:
            client = Client(
                restored_server.port, headers={"Authorization": f"Token {source.tokens[ADMIN]}"}
            )
            status, _, data = client.get(f"/api/v1/cases/{case_id}/attachments/{attachment}")
            if status != 200 or data != content:
                report.problems.append(f"the attachment did not come back intact ({status})")
            else:
                report.facts.append("the attachment downloads intact from the restored install")
            status, _, data = client.get(f"/api/v1/cases/{case_id}")
            if status != 200 or json.loads(data).get("summary") is None:
                report.problems.append(f"the restored case does not read back ({status})")
            else:
                report.facts.append("encrypted case text decrypts with the restored keys")
            client.close()
        finally:
            restored_server.stop()
    return report


def pg_cluster_command(action: str) -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        raise DrillFailed(
            "pg_ctlcluster and /etc/postgresql are needed to stop and start PostgreSQL"
        )
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]


def _pg_ready(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def ensure_postgres_running(url: str, timeout: float = 60) -> None:
    """Start the cluster if it is down, and wait until it takes connections."""
    if _pg_ready(url):
        return
    subprocess.run(pg_cluster_command("start"), capture_output=True, check=False, timeout=120)  # noqa: S603
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pg_ready(url):
            return
        time.sleep(0.5)
    raise DrillFailed("PostgreSQL did not come back")


def drill_database_down(*, postgres: str, down_seconds: float = 4, clients: int = 3) -> Report:
    """Stop PostgreSQL during writes: 503 problem+json, nothing half-written, recovery."""
    report = Report("database down (PostgreSQL)")
    with install(postgres) as target:
        prepare(target)
        server = target.serve()
        ledger = Ledger(unavailable_expected=True)
        try:
            traffic = Traffic(target, lambda: server.port, ledger)
            with traffic.running(clients):
                time.sleep(2)
                before = ledger.acknowledged_writes
                unavailable_before = ledger.statuses[503]
                try:
                    subprocess.run(  # noqa: S603
                        pg_cluster_command("stop"), capture_output=True, check=True, timeout=120
                    )
                    report.facts.append(f"stopped PostgreSQL after {before} acknowledged writes")
                    time.sleep(down_seconds)
                    probe = Client(
                        server.port, headers={"Authorization": f"Token {target.tokens[ADMIN]}"}
                    )
                    status, headers, body = probe.request(
                        "POST",
                        f"/api/v1/cases/{traffic.cases[0]}/notes",
                        body={"text": "While down."},
                    )
                    probe.close()
                    kind = headers.get("content-type", "")
                    if status != 503 or "application/problem+json" not in kind:
                        report.problems.append(
                            f"a write while the database was down answered {status} {kind}"
                        )
                    else:
                        report.facts.append(
                            f"a write while down answered 503 {kind}: {json.loads(body)['detail']}"
                        )
                    if ledger.statuses[503] == unavailable_before:
                        report.problems.append(
                            "no 503 seen by the clients while the database was down"
                        )
                finally:
                    ensure_postgres_running(postgres)
                report.facts.append("started PostgreSQL again")
                recovered = ledger.acknowledged_writes
                deadline = time.monotonic() + 30
                while ledger.acknowledged_writes == recovered and time.monotonic() < deadline:
                    time.sleep(0.2)
                if ledger.acknowledged_writes == recovered:
                    report.problems.append(
                        "no write succeeded within 30 s after the database returned"
                    )
                else:
                    report.facts.append("writes succeed again without restarting the app")
                time.sleep(1)
        finally:
            server.stop()
        _traffic_facts(ledger, report, 0)
        check_state(target, ledger, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safestep_bench.drills", description=__doc__)
    parser.add_argument("drill", choices=["load", "crash", "fuzz", "backup", "database-down"])
    parser.add_argument("--seconds", type=float, default=None, help="how long to drive the server")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--examples", type=int, default=40, help="fuzz: test cases per operation")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SAFESTEP_DRILL_POSTGRES_URL"),
        help="a PostgreSQL server URL to make throw-away databases on (default: SQLite)",
    )
    options = parser.parse_args(argv)
    extra: dict[str, Any] = {}
    if options.seconds is not None:
        extra["seconds"] = options.seconds
    if options.clients is not None:
        extra["clients"] = options.clients
    try:
        if options.drill == "load":
            report = drill_load(postgres=options.postgres, **extra)
        elif options.drill == "crash":
            report = drill_crash(postgres=options.postgres, **extra)
        elif options.drill == "fuzz":
            report = drill_fuzz(
                postgres=options.postgres, examples=options.examples, seconds=options.seconds
            )
        elif options.drill == "backup":
            report = drill_backup(
                postgres=options.postgres,
                **({"seconds": options.seconds} if options.seconds else {}),
            )
        else:
            if not options.postgres:
                parser.error("database-down needs --postgres URL (or SAFESTEP_DRILL_POSTGRES_URL)")
            report = drill_database_down(
                postgres=options.postgres,
                **({"down_seconds": options.seconds} if options.seconds else {}),
            )
    except DrillFailed as error:
        print(f"drill {options.drill}: FAILED: {error}", file=sys.stderr)
        return 1
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

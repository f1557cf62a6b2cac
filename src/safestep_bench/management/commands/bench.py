"""`safestep bench`: key pages against the framework floor, query counts, audit costs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestep.core.commands import one_line_errors
from safestep_bench.runner import Settings, run_bench, write_result


class Command(BaseCommand):
    help = (
        "Benchmark the key pages over HTTP against the real server, count their queries, "
        "and measure audit verify, a remind sweep and what auditing costs. Seeds synthetic "
        "cases first if the database has fewer than --cases. Writes JSON to --out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="where to write the JSON")
        parser.add_argument(
            "--quick", action="store_true", help="fewer cases and rounds: about a minute"
        )
        parser.add_argument(
            "--cases",
            type=int,
            default=None,
            help="seed up to this many cases first (default 1,000 quick, 10,000 full)",
        )
        parser.add_argument(
            "--concurrency", type=int, default=8, help="clients in the concurrent phase"
        )
        parser.add_argument(
            "--seconds", type=float, default=None, help="length of the concurrent phase"
        )
        parser.add_argument(
            "--compare-servers",
            action="store_true",
            help="also time gunicorn's sync and threaded workers at several sizes",
        )
        parser.add_argument(
            "--skip-remind",
            action="store_true",
            help="leave out the remind sweep (it evaluates every open case, twice: many "
            "minutes at a million cases)",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=None,
            help="timed requests per page in the sequential phase",
        )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        if options["cases"] is not None and options["cases"] < 1:
            raise CommandError("--cases must be at least 1", returncode=2)
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1", returncode=2)
        settings = Settings.make(
            quick=options["quick"],
            cases=options["cases"],
            concurrency=options["concurrency"],
            seconds=options["seconds"],
        )
        settings.compare_servers = options["compare_servers"]
        settings.skip_remind = options["skip_remind"]
        if options["rounds"] is not None:
            if options["rounds"] < 1:
                raise CommandError("--rounds must be at least 1", returncode=2)
            settings.rounds = options["rounds"]
            settings.warmup = min(settings.warmup, options["rounds"])
            settings.read_pairs = min(settings.read_pairs, 4 * options["rounds"])
            settings.write_pairs = min(settings.write_pairs, options["rounds"])

        def log(message: str) -> None:
            print(f"bench: {message}", file=sys.stderr, flush=True)

        result = run_bench(settings, log)
        write_result(result, options["out"])
        self.stdout.write(headline(result))
        self.stdout.write(f"results written to {options['out']}")


def headline(result: dict[str, Any]) -> str:
    lines = [
        f"{result['database']['cases']} cases, {result['database']['events']} events on "
        f"{result['database']['vendor']} {result['database']['version']}",
        f"  {'floor (token)':<24} p50 {result['floor']['p50_ms']:8.2f} ms  "
        f"p95 {result['floor']['p95_ms']:8.2f} ms",
        f"  {'floor (session)':<24} p50 {result['floor_session']['p50_ms']:8.2f} ms  "
        f"p95 {result['floor_session']['p95_ms']:8.2f} ms",
    ]
    bare = result.get("bare_django", {})
    if "p50_ms" in bare:
        lines.append(
            f"  {'bare Django (session)':<24} p50 {bare['p50_ms']:8.2f} ms  "
            f"p95 {bare['p95_ms']:8.2f} ms  queries {bare.get('queries')}"
        )
    for name, page in result["pages"].items():
        if "missing" in page:
            lines.append(f"  {name:<24} missing: {page['missing']}")
            continue
        if "p50_ms" not in page:
            lines.append(f"  {name:<24} no timing: answers {page.get('http_statuses')}")
            continue
        lines.append(
            f"  {name:<24} p50 {page['p50_ms']:8.2f} ms  p95 {page['p95_ms']:8.2f} ms  "
            f"queries {page.get('queries')}/{page.get('queries_long_history')}"
        )
    verify = result["audit"]["verify"]
    lines.append(f"  audit verify: {verify['events_per_second']:,} events/s")
    lines.append(
        f"  concurrent: {result['concurrent']['requests_per_second']} requests/s "
        f"({result['concurrent']['clients']} clients)"
    )
    return "\n".join(lines)

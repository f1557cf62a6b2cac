"""`safestep seed-bench --cases N`: a synthetic district for benchmarks and drills."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from safestep.core.commands import one_line_errors
from safestep_bench.seed import foreign_case_count, seed_bench


class Command(BaseCommand):
    help = (
        "Add N synthetic cases (all pathways, every stage, ~50 audit events each) to the "
        "database, in bulk. Refuses a database that holds real cases."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, required=True, help="how many cases to add")
        parser.add_argument(
            "--events-per-case", type=int, default=50, help="audit events per case (about)"
        )
        parser.add_argument("--batch", type=int, default=500, help="cases per transaction")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processes writing batches side by side (PostgreSQL only; SQLite uses one)",
        )
        parser.add_argument(
            "--progress",
            choices=["auto", "always", "never"],
            default="auto",
            help="progress bar on stderr (auto: when stderr is a terminal)",
        )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        if (
            options["cases"] < 0
            or options["batch"] < 1
            or options["events_per_case"] < 0
            or options["workers"] < 1
        ):
            raise CommandError(
                "--cases and --events-per-case must be >= 0, --batch and --workers >= 1",
                returncode=2,
            )
        # As `safestep bench` does: a new data directory or database is made ready first,
        # so that seeding one works on its own (it was a traceback: no such table).
        call_command("migrate", interactive=False, verbosity=0)
        real = foreign_case_count()
        if real:
            raise CommandError(
                f"this database holds {real} real case(s); seed an empty database "
                "(a fresh SAFESTEP_DATA_DIR or DATABASE_URL) instead",
                returncode=1,
            )
        show = options["progress"] == "always" or (
            options["progress"] == "auto" and sys.stderr.isatty()
        )
        started = time.perf_counter()
        with tqdm(total=options["cases"], unit="case", disable=not show, file=sys.stderr) as bar:

            def advance(done: int) -> None:
                bar.update(done)

            result = seed_bench(
                cases=options["cases"],
                events_per_case=options["events_per_case"],
                batch_size=options["batch"],
                progress=advance,
                workers=options["workers"],
            )
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"seeded {result.cases} cases and {result.events} audit events at "
            f"{result.schools} schools in {elapsed:.1f} s"
        )

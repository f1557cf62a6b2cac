from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestep.core.commands import one_line_errors
from safestep.reports.rollups import PARALLEL_FROM, rollup_differences
from safestep.reports.services import rollup_rebuild_recorded


class Command(BaseCommand):
    help = (
        "Check the dashboard's rollup against a recount from the cases (verify: exit 1 on "
        "any difference), or replace it by that recount (rebuild)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser(
            "verify", help="recount from the cases and list each differing figure (exit 1)"
        )
        rebuild = actions.add_parser("rebuild", help="replace the rollup by a recount (audited)")
        for action in (verify, rebuild):
            action.add_argument(
                "--workers",
                type=int,
                default=None,
                help="on PostgreSQL, processes evaluating the cases side by side (default: "
                f"one per core from {PARALLEL_FROM:,} cases; 1 recounts in this process)",
            )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        workers = options["workers"]
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1", returncode=2)
        if options["action"] == "rebuild":
            cells, corrected = rollup_rebuild_recorded(workers=workers)
            self.stdout.write(f"rollup rebuilt: {cells} cells, {corrected} figures corrected")
            return
        verdict = rollup_differences(workers=workers)
        if verdict.drift:
            for drift in verdict.drift:
                self.stderr.write(f"drift: {drift.line()}")
            self.stderr.write(
                f"rollup differs from the cases in {len(verdict.drift)} figures; "
                "`safestep rollup rebuild` recounts it"
            )
            sys.exit(1)
        self.stdout.write(
            f"rollup matches: {verdict.cells} cells "
            f"({verdict.buckets} hour buckets, {verdict.cases} cases)"
        )

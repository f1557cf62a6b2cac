"""`safestep roster import DIR [--dry-run]`: the district's roster from its SIS (OneRoster)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from safestep.accounts.roster import Advance, ProgressFactory, no_progress
from safestep.cases.roster import roster_import
from safestep.core.commands import one_line_errors


@contextmanager
def _bar(stage: str, total: int | None) -> Iterator[Advance]:
    with tqdm(total=total, desc=stage, unit=" rows", file=sys.stderr, leave=False) as bar:

        def advance(done: int) -> None:
            bar.update(done)

        yield advance


class Command(BaseCommand):
    help = "Import schools, staff and students from the district's OneRoster 1.1 CSV export."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        run = actions.add_parser(
            "import",
            help="create, update and deactivate from a OneRoster 1.1 CSV export",
            description=(
                "Read manifest.csv, orgs.csv, users.csv, enrollments.csv and demographics.csv "
                "(when present) from DIR, and create or update schools, staff and students "
                "by sourcedId; deactivate staff marked tobedeleted or missing from a bulk "
                "users.csv. One transaction: a bad row stops it with FILE:LINE and nothing "
                "is written."
            ),
        )
        run.add_argument("directory", metavar="DIR", help="the export's directory")
        run.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"])
        if not directory.is_dir():
            raise CommandError(f"{directory}: not a directory", returncode=2)
        dry_run: bool = options["dry_run"]
        # A progress bar only for someone watching: cron's mail and logs get the summary.
        progress: ProgressFactory = _bar if self.stdout.isatty() else no_progress
        plan = roster_import(directory=directory, dry_run=dry_run, progress=progress)
        if dry_run:
            for line in plan.changes():
                self.stdout.write(line)
        for line in plan.summary():
            self.stdout.write(line)
        if plan.changes_nothing:
            self.stdout.write("nothing to change")
        elif dry_run:
            self.stdout.write("dry run: nothing written")

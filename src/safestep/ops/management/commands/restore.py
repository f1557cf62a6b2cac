"""`safestep restore PATH`: a backup into an empty install, checked afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from safestep.core.commands import one_line_errors
from safestep.ops.backup import backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `safestep backup` into an empty install (a database "
        "without tables, no attachments), then compare row counts and verify the audit trail."
    )
    # Looking at the database must wait until it is known to be empty.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the archive written by `safestep backup`")
        parser.add_argument(
            "--keys",
            type=Path,
            metavar="FILE",
            help="the key material written with the backup (default: PATH.keys, if present)",
        )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        summary = backup_restore(
            options["path"], keys=options["keys"], log=lambda line: self.stderr.write(line)
        )
        for note in summary.notes:
            self.stderr.write(f"note: {note}")
        self.stdout.write(summary.describe())

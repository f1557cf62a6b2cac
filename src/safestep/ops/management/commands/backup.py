"""`safestep backup PATH`: database, attachments and key material in one archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from safestep.core.commands import one_line_errors
from safestep.ops.backup import backup_create


class Command(BaseCommand):
    help = (
        "Write a consistent backup (database, attachments, keys, audit checkpoints) to PATH, "
        "a new .tar.gz readable only by its owner. Safe while SafeStep runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the archive to write (must not exist)")

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        summary = backup_create(options["path"])
        for note in summary.notes:
            self.stderr.write(f"note: {note}")
        self.stdout.write(summary.describe())

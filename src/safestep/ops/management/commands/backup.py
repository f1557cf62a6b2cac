"""`safestep backup PATH`: database and attachments in PATH, key material in PATH.keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from safestep.core.commands import one_line_errors
from safestep.ops.backup import backup_create


class Command(BaseCommand):
    help = (
        "Write a consistent backup (database, attachments, audit checkpoints) to PATH, a new "
        ".tar.gz readable only by its owner, and the key material to PATH.keys, to be stored "
        "apart from it. Safe while SafeStep runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the archive to write (must not exist)")
        parser.add_argument(
            "--with-keys",
            action="store_true",
            help="put the key material inside PATH instead of PATH.keys",
        )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        summary = backup_create(options["path"], with_keys=options["with_keys"])
        for note in summary.notes:
            self.stderr.write(f"note: {note}")
        self.stdout.write(summary.describe())
        self.stdout.write(summary.describe_keys())

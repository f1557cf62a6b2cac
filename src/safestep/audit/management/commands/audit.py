from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from safestep.audit.selectors import audit_verify, event_count
from safestep.audit.services import audit_checkpoint
from safestep.core.commands import one_line_errors


class Command(BaseCommand):
    help = "Check the audit trail, or sign its current end."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser("verify", help="check the whole trail (exit 1 if damaged)")
        verify.add_argument(
            "--progress",
            choices=["auto", "always", "never"],
            default="auto",
            help="progress bar on stderr (auto: when stderr is a terminal)",
        )
        verify.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes checking segments side by side (default: one per core on a "
            "long trail; 1 checks in this process)",
        )
        verify.add_argument(
            "--hash-here",
            action="store_true",
            help="on PostgreSQL, stream every event and hash it in this process instead of "
            "letting the database server hash the stretches that are right",
        )
        actions.add_parser("checkpoint", help="sign the current end of the trail")

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "checkpoint":
            checkpoint = audit_checkpoint()
            if checkpoint is None:
                self.stdout.write("the audit trail is empty; nothing to sign")
            else:
                self.stdout.write(f"signed checkpoint at event #{checkpoint.seq}")
            return
        if options["workers"] is not None and options["workers"] < 1:
            raise CommandError("--workers must be at least 1", returncode=2)
        show = options["progress"] == "always" or (
            options["progress"] == "auto" and sys.stderr.isatty()
        )
        bar = tqdm(total=event_count(), unit="event", disable=not show, file=sys.stderr)
        started = time.perf_counter()

        def advance(done: int) -> None:
            bar.update(done)

        result = audit_verify(
            progress=advance, workers=options["workers"], on_server=not options["hash_here"]
        )
        bar.close()
        elapsed = time.perf_counter() - started
        if not result.ok:
            self.stderr.write(result.describe())
            sys.exit(1)
        rate = result.events / elapsed if elapsed > 0 else 0.0
        self.stdout.write(f"{result.describe()} ({rate:,.0f} events/s)")

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from safestep.cases.services import cases_adopt_shipped_revisions
from safestep.core.commands import one_line_errors
from safestep.definitions.services import protocol_load_shipped


class Command(BaseCommand):
    help = "Apply migrations, load the shipped protocols and serve SafeStep with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("SAFESTEP_WORKERS", "0"))
            or min(4, 2 * (os.cpu_count() or 1) + 1),
        )
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument(
            "--no-migrate", action="store_true", help="skip migrate and protocol load"
        )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
            for result in protocol_load_shipped():
                if result.created:
                    self.stdout.write(f"loaded protocol {result.version}")
            moved = cases_adopt_shipped_revisions()
            if moved:
                self.stdout.write(f"{moved} open case(s) moved to the revised shipped protocol")
        # Workers are forked from this process: they must not inherit its connections.
        connections.close_all()
        from safestep.core.server import run_gunicorn

        self.stdout.write(f"SafeStep listening on http://{options['host']}:{options['port']}/")
        run_gunicorn(
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            threads=options["threads"],
        )

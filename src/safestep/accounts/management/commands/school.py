from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from safestep.accounts.services import school_add
from safestep.core.commands import one_line_errors


class Command(BaseCommand):
    help = "Manage schools."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="create a school")
        add.add_argument("code", help="short school code, e.g. LIN")
        add.add_argument("name", help="the school's name")

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        school = school_add(code=options["code"], name=options["name"])
        self.stdout.write(f"created school {school.code} {school.name}")

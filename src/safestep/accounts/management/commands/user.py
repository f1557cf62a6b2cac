from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from safestep.accounts.models import Role
from safestep.accounts.services import (
    mfa_reset,
    user_add,
    user_password_reset,
    user_token,
    user_token_revoke,
)
from safestep.core.commands import one_line_errors


class Command(BaseCommand):
    help = "Manage staff accounts and their API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="create a user and print a one-time password")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument(
            "--school",
            action="append",
            default=[],
            dest="schools",
            metavar="CODE",
            help="a school the user works at (repeatable)",
        )
        add.add_argument("--email", default="")
        token = actions.add_parser("token", help="print the user's API token (made if missing)")
        token.add_argument("username")
        revoke = actions.add_parser("revoke-token", help="revoke the user's API token")
        revoke.add_argument("username")
        reset = actions.add_parser("reset-password", help="print a new one-time password")
        reset.add_argument("username")
        reset_mfa = actions.add_parser(
            "reset-mfa", help="remove the user's second factor; they set up a new one at sign-in"
        )
        reset_mfa.add_argument("username")

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            user, password = user_add(
                username=options["username"],
                role=options["role"],
                school_codes=options["schools"],
                email=options["email"],
            )
            self.stdout.write(f"created {user.username} ({user.role})")
            self.stdout.write(f"one-time password: {password}")
        elif action == "token":
            self.stdout.write(user_token(username=options["username"]))
        elif action == "revoke-token":
            revoked = user_token_revoke(username=options["username"])
            self.stdout.write("token revoked" if revoked else "no token to revoke")
        elif action == "reset-mfa":
            mfa_reset(username=options["username"])
            self.stdout.write(
                f"second factor removed; {options['username']} sets up a new one at next sign-in"
            )
        elif action == "reset-password":
            self.stdout.write(
                f"one-time password: {user_password_reset(username=options['username'])}"
            )

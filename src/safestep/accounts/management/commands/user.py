from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestep.accounts.models import Role
from safestep.accounts.services import (
    mfa_reset,
    user_activate,
    user_add,
    user_deactivate,
    user_password_reset,
    user_role_set,
    user_schools_set,
    user_sessions_revoke,
    user_token,
    user_token_revoke,
)
from safestep.core.commands import one_line_errors


class Command(BaseCommand):
    help = "Manage staff accounts, their roles and schools, API tokens and sessions."

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
        token = actions.add_parser(
            "token",
            help="print a new API token (shown once; only its hash is kept)",
            description=(
                "Print a new API token for USERNAME. SafeStep keeps only its hash, so it is "
                "shown this once. If the user has a token already it cannot be shown again: "
                "--rotate replaces it with a new one (the old one stops working)."
            ),
        )
        token.add_argument("username")
        token.add_argument(
            "--rotate", action="store_true", help="replace the user's existing token"
        )
        revoke = actions.add_parser(
            "revoke-tokens", aliases=["revoke-token"], help="revoke the user's API token"
        )
        revoke.add_argument("username")
        sessions = actions.add_parser(
            "revoke-sessions", help="end the user's web sessions (--all: everyone's)"
        )
        sessions.add_argument("username", nargs="?")
        sessions.add_argument("--all", action="store_true", help="end every user's sessions")
        reset = actions.add_parser(
            "reset-password",
            help="print a new one-time password; revokes the user's token and sessions",
        )
        reset.add_argument("username")
        reset_mfa = actions.add_parser(
            "reset-mfa", help="remove the user's second factor; they set up a new one at sign-in"
        )
        reset_mfa.add_argument("username")
        deactivate = actions.add_parser(
            "deactivate", help="stop the user signing in; revokes their token and sessions"
        )
        deactivate.add_argument("username")
        activate = actions.add_parser("activate", help="let a deactivated user sign in again")
        activate.add_argument("username")
        role = actions.add_parser("role", help="give the user another role")
        role.add_argument("username")
        role.add_argument("role", choices=Role.values)
        schools = actions.add_parser(
            "schools", help="set the schools the user works at (replaces the list)"
        )
        schools.add_argument("username")
        schools.add_argument("codes", nargs="+", metavar="CODE")

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        username: str = options.get("username") or ""
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
            key = user_token(username=username, rotate=options["rotate"])
            # The key alone on stdout, for scripts; the reminder on stderr.
            self.stdout.write(key)
            self.stderr.write(
                "note: this token is shown once; SafeStep keeps only its hash. "
                "It bypasses the second factor: give it only to an integration."
            )
        elif action in ("revoke-tokens", "revoke-token"):
            revoked = user_token_revoke(username=username)
            self.stdout.write("token revoked" if revoked else "no token to revoke")
        elif action == "revoke-sessions":
            if options["all"] == bool(username):
                raise CommandError("give a USERNAME or --all (not both)", returncode=2)
            count = user_sessions_revoke(username=None if options["all"] else username)
            whose = "every user's" if options["all"] else f"{username}'s"
            self.stdout.write(f"ended {count} session{'s' * (count != 1)} ({whose})")
        elif action == "reset-mfa":
            mfa_reset(username=username)
            self.stdout.write(
                f"second factor removed; {username} sets up a new one at next sign-in"
            )
        elif action == "reset-password":
            self.stdout.write(f"one-time password: {user_password_reset(username=username)}")
            self.stderr.write(f"note: {username}'s API token and sessions were revoked")
        elif action == "deactivate":
            ended = user_deactivate(username=username)
            self.stdout.write(f"{username} deactivated; {ended.describe()}")
        elif action == "activate":
            user_activate(username=username)
            self.stdout.write(f"{username} may sign in again")
        elif action == "role":
            changed = user_role_set(username=username, role=options["role"])
            self.stdout.write(
                f"{username} is now {options['role']}"
                if changed
                else f"{username} is already {options['role']}"
            )
        elif action == "schools":
            codes = user_schools_set(username=username, school_codes=options["codes"])
            self.stdout.write(f"{username} works at {', '.join(codes)}")

from __future__ import annotations

import os
import smtplib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestep.core.commands import one_line_errors
from safestep.notify.mail import DEFAULT_BASE_URL, check_base_url
from safestep.notify.services import reminders_send


class Command(BaseCommand):
    help = (
        "Send due-soon, overdue and check-in reminders, and the concern and review notices "
        "(including any that could not be sent at once), by e-mail. Idempotent: safe to run "
        "from cron every few minutes; a second run at once sends nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="show what would be sent; change nothing and send nothing",
        )
        parser.add_argument(
            "--base-url",
            default=os.environ.get("SAFESTEP_BASE_URL", DEFAULT_BASE_URL),
            help="the address people open SafeStep at, for links in e-mails "
            "(default: $SAFESTEP_BASE_URL, else %(default)s)",
        )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        base_url = check_base_url(options["base_url"])
        try:
            report = reminders_send(acting_user=None, base_url=base_url, dry_run=options["dry_run"])
        except (smtplib.SMTPException, OSError) as error:
            # What was sent before the failure stays sent; the rest goes out next run.
            raise CommandError(f"could not send e-mail: {error}", returncode=1) from None
        if options["dry_run"]:
            for item in report.planned:
                self.stdout.write(
                    f"would add: {item.kind} reminder, case {item.case_id}, "
                    f"{item.step_id or 'check-in'}, due {item.due_at.isoformat()}, "
                    f"to user {item.recipient_id}"
                )
            for notice in report.notices_planned:
                self.stdout.write(
                    f"would add: {notice.kind} notice, concern {notice.concern_id}, "
                    f"due {notice.due_at.isoformat()}, to user {notice.recipient_id}"
                )
            self.stdout.write(
                f"dry run: {len(report.planned)} new reminder(s); would send "
                f"{report.sent} e-mail(s) and {report.digests} daily digest(s)"
            )
            self.stdout.write(
                f"dry run: {len(report.notices_planned)} new notice(s); would send "
                f"{report.notices_sent} notice e-mail(s)"
            )
            return
        self.stdout.write(
            f"{report.created} new reminder(s); sent {report.sent} e-mail(s) and "
            f"{report.digests} daily digest(s); {report.withdrawn} withdrawn; "
            f"{report.waiting_for_digest} waiting for a digest"
        )
        self.stdout.write(
            f"{report.notices_created} new notice(s); sent {report.notices_sent} notice "
            f"e-mail(s); {report.notices_withdrawn} withdrawn"
        )

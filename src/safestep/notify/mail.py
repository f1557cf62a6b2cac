"""The reminder e-mails. They say what kind of task is due, when, and where to sign in to
see it: never a student's name, a SIS id, a case summary or any step details. The link
names the case by its database id, which means nothing without signing in; the readable
reference (CSEC-2026-0001) is left out too, because it is printed on the SS 8572 beside
the student's name and would let a forwarded e-mail be matched to a child.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from safestep.accounts.models import User
from safestep.core.errors import ValidationFailed
from safestep.notify.models import Reminder, ReminderKind

SUBJECTS = {
    ReminderKind.DUE_SOON: "SafeStep: a task is due within 24 hours",
    ReminderKind.OVERDUE: "SafeStep: a task is overdue",
    ReminderKind.OVERDUE_24H: "SafeStep: a task is more than 24 hours overdue",
    ReminderKind.CHECK_IN_DUE: "SafeStep: a check-in is due",
}
HEADLINES = {
    ReminderKind.DUE_SOON: "A task on a case you work on is due within 24 hours.",
    ReminderKind.OVERDUE: "A task on a case you work on is overdue.",
    ReminderKind.OVERDUE_24H: "A task on a case in the district is more than 24 hours overdue.",
    ReminderKind.CHECK_IN_DUE: "A check-in you are responsible for is due.",
}
DEFAULT_BASE_URL = "http://localhost:8000"


def check_base_url(raw: str) -> str:
    """The address people reach SafeStep at, for links in e-mails."""
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ValidationFailed(
            {"base_url": [f"{raw!r} is not an http(s) address, e.g. https://safestep.example.org"]}
        )
    return url


@dataclass(frozen=True)
class ItemText:
    headline: str
    task: str
    due: str
    link: str


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%a %d %b %Y, %H:%M %Z")


def _name(user: User) -> str:
    return user.first_name or user.username


def item_text(reminder: Reminder, base_url: str) -> ItemText:
    return ItemText(
        headline=HEADLINES[ReminderKind(reminder.kind)],
        task=reminder.task,
        due=_local(reminder.due_at),
        link=base_url + reverse("web:case", args=[reminder.case_id]),
    )


def reminder_message(reminder: Reminder, recipient: User, base_url: str) -> EmailMessage:
    item = item_text(reminder, base_url)
    body = render_to_string(
        "notify/email/reminder.txt",
        {
            "name": _name(recipient),
            "headline": item.headline,
            "task": item.task,
            "due": item.due,
            "link": item.link,
            "preferences_link": base_url + reverse("notify:preferences"),
        },
    )
    return EmailMessage(
        subject=SUBJECTS[ReminderKind(reminder.kind)], body=body, to=[recipient.email]
    )


def digest_message(reminders: list[Reminder], recipient: User, base_url: str) -> EmailMessage:
    body = render_to_string(
        "notify/email/digest.txt",
        {
            "name": _name(recipient),
            "items": [item_text(reminder, base_url) for reminder in reminders],
            "preferences_link": base_url + reverse("notify:preferences"),
        },
    )
    count = len(reminders)
    subject = f"SafeStep: your daily list ({count} task{'s' if count != 1 else ''})"
    return EmailMessage(subject=subject, body=body, to=[recipient.email])

"""Sending reminders, and each person's choice of how to receive them.

`reminders_send` runs in three phases, each safe to run twice or twice at once:

1. **Outbox.** Every reminder that should exist now is inserted into the outbox; the
   database's unique key (case, step, kind, due time, recipient) drops any that already
   exist, so a reminder is created once however often the sweep runs.
2. **Withdraw.** Waiting reminders that are no longer true (the step was resolved, or a
   "due soon" became "overdue" while it waited for a digest) are withdrawn, not sent.
3. **Deliver.** Each waiting reminder is claimed by an UPDATE that only succeeds while it is
   unsent, in the transaction that sends its e-mail and writes its audit event. Of two runs
   at once exactly one claims it; if the e-mail cannot be sent, the claim rolls back and the
   next run tries again. People who chose a daily digest get one e-mail a day instead, once
   their digest hour has passed; the (person, day) key makes that once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.utils import timezone

from safestep.accounts.models import User
from safestep.audit.services import event_record
from safestep.core.errors import ValidationFailed
from safestep.notify.mail import digest_message, reminder_message
from safestep.notify.models import Digest, Reminder, ReminderPreference
from safestep.notify.selectors import Due, People, digest_preferences, reminders_due

Key = tuple[int, str, str, datetime, int]
_CHUNK = 500


@dataclass
class RemindReport:
    created: int = 0  # reminders added to the outbox
    sent: int = 0  # reminder e-mails sent one by one
    digests: int = 0  # daily digest e-mails sent
    withdrawn: int = 0  # waiting reminders that stopped being true
    waiting_for_digest: int = 0
    planned: list[Due] = field(default_factory=list)  # dry run: what would be added


def _key(reminder: Reminder) -> Key:
    return (
        reminder.case_id,
        reminder.step_id,
        reminder.kind,
        reminder.due_at,
        reminder.recipient_id,
    )


def _not_yet_in_outbox(due: list[Due]) -> list[Due]:
    case_ids = sorted({item.case_id for item in due})
    existing: set[Key] = set()
    for start in range(0, len(case_ids), _CHUNK):
        chunk = case_ids[start : start + _CHUNK]
        in_chunk = set(chunk)
        earliest = min(item.due_at for item in due if item.case_id in in_chunk)
        existing.update(
            Reminder.objects.filter(case_id__in=chunk, due_at__gte=earliest).values_list(
                "case_id", "step_id", "kind", "due_at", "recipient_id"
            )
        )
    return [item for item in dict.fromkeys(due) if item.key not in existing]


def _waiting() -> list[Reminder]:
    return list(
        Reminder.objects.filter(sent_at__isnull=True, withdrawn_at__isnull=True).order_by(
            "due_at", "id"
        )
    )


def _digest_is_due(preference: ReminderPreference, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    return (
        local.hour >= preference.digest_hour
        and not Digest.objects.filter(recipient_id=preference.user_id, day=local.date()).exists()
    )


def reminders_send(
    *,
    acting_user: User | None,
    base_url: str,
    now: datetime | None = None,
    dry_run: bool = False,
) -> RemindReport:
    """Send what is due. ``acting_user`` is None when the scheduled job runs it."""
    now = now or timezone.now()
    people = People()
    due = list(reminders_due(now=now, people=people))
    current = {item.key for item in due}
    new = _not_yet_in_outbox(due)
    report = RemindReport()
    preferences = digest_preferences()
    if dry_run:
        report.planned = new
        waiting = [r for r in _waiting() if _key(r) in current]
        recipients = {r.recipient_id for r in waiting} | {item.recipient_id for item in new}
        report.sent = sum(
            1
            for r in waiting
            if r.recipient_id not in preferences and r.recipient_id in people.by_id
        ) + sum(1 for item in new if item.recipient_id not in preferences)
        report.digests = sum(
            1
            for user_id in recipients
            if user_id in preferences and _digest_is_due(preferences[user_id], now)
        )
        return report

    Reminder.objects.bulk_create(
        [
            Reminder(
                case_id=item.case_id,
                step_id=item.step_id,
                kind=item.kind,
                due_at=item.due_at,
                recipient_id=item.recipient_id,
                task=item.task[:300],
                created_at=now,
            )
            for item in new
        ],
        batch_size=_CHUNK,
        ignore_conflicts=True,
    )
    report.created = len(new)
    waiting = _waiting()
    stale = [r.pk for r in waiting if _key(r) not in current]
    if stale:
        report.withdrawn = Reminder.objects.filter(pk__in=stale, sent_at__isnull=True).update(
            withdrawn_at=now
        )
    waiting = [r for r in waiting if _key(r) in current and r.recipient_id in people.by_id]
    with mail.get_connection() as connection:
        for reminder in waiting:
            if reminder.recipient_id not in preferences and _deliver_one(
                reminder,
                people.by_id[reminder.recipient_id],
                acting_user,
                base_url,
                now,
                connection,
            ):
                report.sent += 1
        for user_id, preference in preferences.items():
            items = [r for r in waiting if r.recipient_id == user_id]
            if items and _digest_is_due(preference, now):
                user = people.by_id[user_id]
                if _deliver_digest(items, user, acting_user, base_url, now, connection):
                    report.digests += 1
    report.waiting_for_digest = Reminder.objects.filter(
        sent_at__isnull=True, withdrawn_at__isnull=True, recipient_id__in=list(preferences)
    ).count()
    return report


def _deliver_one(
    reminder: Reminder,
    recipient: User,
    acting_user: User | None,
    base_url: str,
    now: datetime,
    connection: BaseEmailBackend,
) -> bool:
    with transaction.atomic():
        claimed = Reminder.objects.filter(pk=reminder.pk, sent_at__isnull=True).update(sent_at=now)
        if not claimed:
            return False  # another run sent it a moment ago
        connection.send_messages([reminder_message(reminder, recipient, base_url)])
        event_record(
            actor=acting_user,
            action="reminder.send",
            case_id=reminder.case_id,
            step_id=reminder.step_id,
            payload={
                "kind": reminder.kind,
                "to": recipient.username,
                "due_at": reminder.due_at.isoformat(),
            },
        )
    return True


def _deliver_digest(
    items: Iterable[Reminder],
    recipient: User,
    acting_user: User | None,
    base_url: str,
    now: datetime,
    connection: BaseEmailBackend,
) -> bool:
    day = now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    with transaction.atomic():
        try:
            with transaction.atomic():
                digest = Digest.objects.create(recipient=recipient, day=day, sent_at=now)
        except IntegrityError:
            return False  # today's digest already went out
        Reminder.objects.filter(pk__in=[r.pk for r in items], sent_at__isnull=True).update(
            sent_at=now, digest=digest
        )
        claimed = list(Reminder.objects.filter(digest=digest).order_by("due_at", "id"))
        if not claimed:
            transaction.set_rollback(True)
            return False
        connection.send_messages([digest_message(claimed, recipient, base_url)])
        event_record(
            actor=acting_user,
            action="reminder.digest",
            payload={
                "to": recipient.username,
                "day": day.isoformat(),
                "items": [{"case": r.case_id, "step": r.step_id, "kind": r.kind} for r in claimed],
            },
        )
    return True


def reminder_preference_set(
    *, acting_user: User, daily_digest: bool, digest_hour: int
) -> ReminderPreference:
    """A person chooses one e-mail per reminder, or one a day at DIGEST_HOUR (local)."""
    if (
        isinstance(digest_hour, bool)
        or not isinstance(digest_hour, int)
        or not 0 <= digest_hour <= 23
    ):
        raise ValidationFailed({"digest_hour": ["An hour from 0 to 23."]})
    with transaction.atomic():
        preference, _created = ReminderPreference.objects.select_for_update().get_or_create(
            user=acting_user,
            defaults={
                "daily_digest": daily_digest,
                "digest_hour": digest_hour,
                "updated_at": timezone.now(),
            },
        )
        preference.daily_digest = daily_digest
        preference.digest_hour = digest_hour
        preference.updated_at = timezone.now()
        preference.save(update_fields=["daily_digest", "digest_hour", "updated_at"])
        event_record(
            actor=acting_user,
            action="reminders.preference_set",
            payload={"daily_digest": daily_digest, "digest_hour": digest_hour},
        )
    return preference

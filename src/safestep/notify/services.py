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

Notices (one-off e-mails about concerns, cases and reviews) use the same three phases through
their own outbox, ``Notice``. The services in cases/ write a notice inside their own transaction
(``notice_concern_submitted`` and friends), so a refused change writes none and a committed
change never loses its notice; delivery is tried as soon as that transaction commits, and
every `safestep remind` run delivers whatever is still unsent (the mail server was down) and
adds the notices that come due with time (a concern waiting for triage, a reporter's written
report). Notices are always sent one by one at once, never held for a daily digest: they are
about the 36-hour legal deadline.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from safestep.accounts.models import User
from safestep.audit.services import event_record
from safestep.cases.models import (
    Case,
    CaseStatus,
    CaseTransfer,
    Concern,
    ConcernStatus,
    Review,
    ReviewStatus,
)
from safestep.core.errors import ValidationFailed
from safestep.notify.mail import (
    configured_base_url,
    digest_message,
    notice_message,
    reminder_message,
)
from safestep.notify.models import Digest, Notice, NoticeKind, Reminder, ReminderPreference
from safestep.notify.selectors import (
    SWEPT_NOTICE_KINDS,
    Due,
    NoticeDue,
    People,
    concern_first_case_id,
    coordinators_for_notice,
    digest_preferences,
    emailable_users,
    notice_key,
    notices_due,
    reminders_due,
    site_admins_for_notice,
)

Key = tuple[int, str, str, datetime, int]
_CHUNK = 500
logger = logging.getLogger(__name__)


@dataclass
class RemindReport:
    created: int = 0  # reminders added to the outbox
    sent: int = 0  # reminder e-mails sent one by one
    digests: int = 0  # daily digest e-mails sent
    withdrawn: int = 0  # waiting reminders that stopped being true
    waiting_for_digest: int = 0
    planned: list[Due] = field(default_factory=list)  # dry run: what would be added
    notices_created: int = 0  # concern reminders added to the notice outbox
    notices_sent: int = 0  # notice e-mails sent (new ones, and ones left unsent before)
    notices_withdrawn: int = 0  # unsent notices that stopped being true
    notices_planned: list[NoticeDue] = field(default_factory=list)  # dry run


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
    notices = notices_due(now=now, people=people)
    current_notices = {item.key for item in notices}
    new_notices = _notices_not_yet_in_outbox(notices)
    report = RemindReport()
    preferences = digest_preferences()
    if dry_run:
        report.planned = new
        report.notices_planned = new_notices
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
        report.notices_sent = len(new_notices) + sum(
            1
            for notice in _notices_waiting(made_by=now)
            if notice.recipient_id in people.by_id and _still_true(notice, current_notices)
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
    # A reminder added after this run began was added by a run that saw a later time (the
    # step became overdue meanwhile): not this run's to withdraw, or it would never be sent.
    stale = [r.pk for r in waiting if _key(r) not in current and r.created_at <= now]
    if stale:
        report.withdrawn = Reminder.objects.filter(pk__in=stale, sent_at__isnull=True).update(
            withdrawn_at=now
        )
    waiting = [r for r in waiting if _key(r) in current and r.recipient_id in people.by_id]

    Notice.objects.bulk_create(
        [
            Notice(
                key=item.key,
                recipient_id=item.recipient_id,
                kind=item.kind,
                concern_id=item.concern_id,
                case_id=item.case_id,
                due_at=item.due_at,
                created_at=now,
            )
            for item in new_notices
        ],
        batch_size=_CHUNK,
        ignore_conflicts=True,
    )
    report.notices_created = len(new_notices)
    waiting_notices = _notices_waiting(made_by=now)
    # A notice to someone who can no longer be e-mailed (left, lost their address) is
    # withdrawn like one that stopped being true: nobody else should get it instead.
    stale = [
        notice.pk
        for notice in waiting_notices
        if notice.recipient_id not in people.by_id or not _still_true(notice, current_notices)
    ]
    if stale:
        report.notices_withdrawn = Notice.objects.filter(pk__in=stale, sent_at__isnull=True).update(
            withdrawn_at=now
        )
    stale_set = set(stale)
    waiting_notices = [notice for notice in waiting_notices if notice.pk not in stale_set]

    with mail.get_connection() as connection:
        # Notices first: they are about the 36-hour legal deadline.
        for notice in waiting_notices:
            if _deliver_notice(
                notice,
                people.by_id[notice.recipient_id],
                acting_user,
                base_url,
                now,
                connection,
            ):
                report.notices_sent += 1
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


# --- notices ----------------------------------------------------------------------------

# A notice sent right after a change commits is sent while the person who made the change
# waits for their page: a mail server that does not answer must not hold them for minutes.
# What times out is sent by the next `safestep remind`.
_SEND_NOW_TIMEOUT_SECONDS = 10


def _notices_not_yet_in_outbox(due: list[NoticeDue]) -> list[NoticeDue]:
    keys = list(dict.fromkeys(item.key for item in due))
    existing: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        existing.update(
            Notice.objects.filter(key__in=keys[start : start + _CHUNK]).values_list(
                "key", flat=True
            )
        )
    new: dict[str, NoticeDue] = {}
    for item in due:
        if item.key not in existing:
            new.setdefault(item.key, item)
    return list(new.values())


def _notices_waiting(*, made_by: datetime) -> list[Notice]:
    """Every notice not yet sent nor withdrawn, with what decides whether it is still true.

    Only those written by ``made_by`` (when this run began): a notice written since belongs
    to a later view of time (another run saw a concern become overdue, a service wrote one
    that it is sending now). Judging it by this run's view could withdraw it for good.
    """
    return list(
        Notice.objects.filter(
            sent_at__isnull=True, withdrawn_at__isnull=True, created_at__lte=made_by
        )
        .select_related("concern", "review", "case", "transfer")
        .only(
            "key",
            "kind",
            "recipient",
            "concern",
            "case",
            "review",
            "transfer",
            "due_at",
            "created_at",
            "concern__status",
            "review__status",
            "review__kind",
            "case__status",
            "case__school_id",
            "transfer__to_school_id",
        )
        .order_by("created_at", "id")
    )


def _still_true(notice: Notice, current: set[str] | None) -> bool:
    """Whether a waiting notice should still go out.

    ``current`` is the set of keys the sweep finds due now; the notices it makes (a concern
    waiting, a written report due) are true only while it still finds them, so a "due
    soon" that became "overdue", or a written report since recorded, is withdrawn.
    """
    kind = notice.kind
    if kind in SWEPT_NOTICE_KINDS:
        return current is None or notice.key in current
    if kind == NoticeKind.CONCERN_SUBMITTED:
        return notice.concern is not None and notice.concern.status == ConcernStatus.SUBMITTED
    if kind == NoticeKind.CONCERN_NOT_OPENED:
        # A dismissal overruled on review puts the concern back in the triage queue.
        return notice.concern is not None and notice.concern.status == ConcernStatus.DISMISSED
    if kind == NoticeKind.REVIEW_OPENED:
        return notice.review is not None and notice.review.status == ReviewStatus.OPEN
    if kind == NoticeKind.CASE_TRANSFERRED:
        # Nothing to do for a case voided or closed meanwhile, or moved on again.
        return (
            notice.case is not None
            and notice.transfer is not None
            and notice.case.status == CaseStatus.OPEN
            and notice.case.school_id == notice.transfer.to_school_id
        )
    # report_waived, case_voided: the reporter's own duty stands whatever the case does next.
    return True


def _deliver_notice(
    notice: Notice,
    recipient: User,
    acting_user: User | None,
    base_url: str,
    now: datetime,
    connection: BaseEmailBackend,
) -> bool:
    """Claim, send and audit one notice in one transaction: exactly like ``_deliver_one``,
    so of two senders at once one sends it, and a failed send leaves it unsent."""
    with transaction.atomic():
        claimed = Notice.objects.filter(
            pk=notice.pk, sent_at__isnull=True, withdrawn_at__isnull=True
        ).update(sent_at=now)
        if not claimed:
            return False  # sent a moment ago by another run, or withdrawn
        connection.send_messages([notice_message(notice, recipient, base_url, now)])
        event_record(
            actor=acting_user,
            action="notice.send",
            case_id=notice.case_id,
            payload={
                "notice": notice.pk,
                "kind": notice.kind,
                "to": recipient.username,
                "concern": notice.concern_id,
                "review": notice.review_id,
                "due_at": notice.due_at.isoformat() if notice.due_at is not None else None,
            },
        )
    return True


def _notices_send_now(keys: list[str]) -> int:
    """Send the notices a transaction just committed. Runs after the commit, so a failure
    here changes nothing that was saved: the notices stay unsent for `safestep remind`."""
    try:
        base_url = configured_base_url()
    except ValidationFailed as error:
        logger.warning(
            "not sending %d notice(s) now: %s; `safestep remind` will send them",
            len(keys),
            error.errors,
        )
        return 0
    now = timezone.now()
    notices = list(
        Notice.objects.filter(key__in=keys, sent_at__isnull=True, withdrawn_at__isnull=True)
        .select_related("recipient", "concern", "review", "case", "transfer")
        .order_by("id")
    )
    sent = 0
    try:
        with mail.get_connection(timeout=_SEND_NOW_TIMEOUT_SECONDS) as connection:
            for notice in notices:
                recipient = notice.recipient
                if not (recipient.is_active and recipient.email):
                    continue
                if _still_true(notice, None) and _deliver_notice(
                    notice, recipient, None, base_url, now, connection
                ):
                    sent += 1
    except (smtplib.SMTPException, OSError) as error:
        logger.warning(
            "could not send %d notice(s) now (%s); the next `safestep remind` run sends them",
            len(notices) - sent,
            error,
        )
    return sent


def _notices_write(notices: list[Notice]) -> None:
    """Add notices to the outbox in the caller's transaction; send them once it commits.

    A rolled-back transaction takes its notices with it and sends nothing; a committed one
    keeps them even if the send fails. The unique key drops a notice written twice.
    """
    if not notices:
        return
    with transaction.atomic():
        Notice.objects.bulk_create(notices, ignore_conflicts=True)
    keys = [notice.key for notice in notices]
    # robust: whatever goes wrong while sending must not turn a saved change into an error
    # page; the notices wait in the outbox for `safestep remind`.
    transaction.on_commit(lambda: _notices_send_now(keys), robust=True)


def _concern_notice(
    concern: Concern,
    kind: NoticeKind,
    what: str,
    recipient: User,
    now: datetime,
    *,
    case_id: int | None,
) -> Notice:
    return Notice(
        key=notice_key(about="concern", about_id=concern.pk, what=what, recipient_id=recipient.pk),
        recipient=recipient,
        kind=kind,
        concern=concern,
        case_id=case_id,
        due_at=concern.report_due_at,
        created_at=now,
    )


def notice_concern_submitted(*, concern: Concern) -> None:
    """Tell the school's site administrators at once that a concern waits for triage.

    When the school has no site administrator who can be e-mailed, the district
    coordinators are told instead, so that no concern waits unseen. Call it inside the
    transaction that saves the concern.
    """
    now = timezone.now()
    case_id = concern_first_case_id(concern)
    _notices_write(
        [
            _concern_notice(
                concern, NoticeKind.CONCERN_SUBMITTED, "submitted", user, now, case_id=case_id
            )
            for user in site_admins_for_notice(concern.school_id)
        ]
    )


def notice_case_transferred(*, case: Case, transfer: CaseTransfer) -> None:
    """Tell the new school's site administrators at once that a case moved to their school
    (the district coordinators when it has none who can be e-mailed). The e-mail says no
    more than that and links to the case. Call it inside the transaction that records the
    transfer; once per transfer and person."""
    now = timezone.now()
    _notices_write(
        [
            Notice(
                key=notice_key(
                    about="case",
                    about_id=case.pk,
                    what=f"transfer-{transfer.pk}",
                    recipient_id=user.pk,
                ),
                recipient=user,
                kind=NoticeKind.CASE_TRANSFERRED,
                case_id=case.pk,
                transfer=transfer,
                created_at=now,
            )
            for user in site_admins_for_notice(transfer.to_school_id)
        ]
    )


def notice_review_opened(*, review: Review) -> None:
    """Tell every district coordinator that a decision waits for their review."""
    now = timezone.now()
    _notices_write(
        [
            Notice(
                key=notice_key(
                    about="review", about_id=review.pk, what="opened", recipient_id=user.pk
                ),
                recipient=user,
                kind=NoticeKind.REVIEW_OPENED,
                concern_id=review.concern_id,
                case_id=review.case_id,
                review=review,
                created_at=now,
            )
            for user in coordinators_for_notice()
        ]
    )


_DUTY_KINDS = {
    NoticeKind.CONCERN_NOT_OPENED.value: "not-opened",
    NoticeKind.REPORT_WAIVED.value: "report-waived",
    NoticeKind.CASE_VOIDED.value: "case-voided",
}


def notice_reporter_duty_stands(*, concern: Concern, kind: str, case: Case | None = None) -> None:
    """Tell the concern's reporter that the school will not report it, and that their own
    duty to report stands. ``kind`` says why: "concern_not_opened" (the concern was
    dismissed), "report_waived" (the report on its case was marked not applicable) or
    "case_voided" (the case opened from it was voided as opened in error). ``case`` is the
    case it is about, when the caller knows it; otherwise the concern's first case. Once
    per concern and kind, however often it is called."""
    if kind not in _DUTY_KINDS:
        raise ValueError(f"kind must be one of {sorted(_DUTY_KINDS)}, not {kind!r}")
    reporter = emailable_users().filter(pk=concern.submitted_by_id).first()
    if reporter is None:
        return
    notice = _concern_notice(
        concern,
        NoticeKind(kind),
        _DUTY_KINDS[kind],
        reporter,
        timezone.now(),
        case_id=case.pk if case is not None else concern_first_case_id(concern),
    )
    own_report = concern.own_report if isinstance(concern.own_report, dict) else {}
    if own_report.get("written_submitted_at"):
        notice.due_at = None  # their written report is in: no deadline left to tell them of
    _notices_write([notice])


def reminder_preference_set(
    *, acting_user: User, daily_digest: bool, digest_hour: int
) -> ReminderPreference:
    """A person chooses one e-mail per reminder, or one a day at DIGEST_HOUR (local)."""
    if (
        isinstance(digest_hour, bool)
        or not isinstance(digest_hour, int)
        or not 0 <= digest_hour <= 23
    ):
        raise ValidationFailed({"digest_hour": [gettext("An hour from 0 to 23.")]})
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

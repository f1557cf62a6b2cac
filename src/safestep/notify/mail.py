"""The reminder e-mails. They say what kind of task is due, when, and where to sign in to
see it: never a student's name, a SIS id, a case summary or any step details. The link
names the case by its database id, which means nothing without signing in; the readable
reference (CSEC-2026-0001) is left out too, because it is printed on the SS 8572 beside
the student's name and would let a forwarded e-mail be matched to a child.

Notices (a concern waits for triage, a review was opened, a reporter's own duty stands, a
case moved to another school) follow the same rule: what kind of task it is, when it is due,
and a link. Not even the school is named, nor who reported the concern (a reporter may have
withheld their identity from school staff).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy, ngettext

from safestep.accounts.models import User
from safestep.core.errors import ValidationFailed
from safestep.core.moment_text import moment_text
from safestep.notify.models import Notice, NoticeKind, Reminder, ReminderKind

# Worded lazily: each e-mail is written in its recipient's language (in_language_of).
SUBJECTS = {
    ReminderKind.DUE_SOON: gettext_lazy("SafeStep: a task is due within 24 hours"),
    ReminderKind.OVERDUE: gettext_lazy("SafeStep: a task is overdue"),
    ReminderKind.OVERDUE_24H: gettext_lazy("SafeStep: a task is more than 24 hours overdue"),
    ReminderKind.CHECK_IN_DUE: gettext_lazy("SafeStep: a check-in is due"),
    ReminderKind.CHECK_IN_UNKEPT: gettext_lazy(
        "SafeStep: a check-in is due and nobody at the school keeps it"
    ),
}
HEADLINES = {
    ReminderKind.DUE_SOON: gettext_lazy("A task on a case you work on is due within 24 hours."),
    ReminderKind.OVERDUE: gettext_lazy("A task on a case you work on is overdue."),
    ReminderKind.OVERDUE_24H: gettext_lazy(
        "A task on a case in the district is more than 24 hours overdue."
    ),
    ReminderKind.CHECK_IN_DUE: gettext_lazy("A check-in you are responsible for is due."),
    ReminderKind.CHECK_IN_UNKEPT: gettext_lazy(
        "A check-in is due on a case at a school you look after, and the person who keeps "
        "its check-ins does not work there. Give the check-ins to someone at the school."
    ),
}
DEFAULT_BASE_URL = "http://localhost:8000"
BASE_URL_VARIABLE = "SAFESTEP_BASE_URL"


def check_base_url(raw: str) -> str:
    """The address people reach SafeStep at, for links in e-mails."""
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ValidationFailed(
            {"base_url": [f"{raw!r} is not an http(s) address, e.g. https://safestep.example.org"]}
        )
    return url


def configured_base_url() -> str:
    """The link address for e-mails sent outside `safestep remind` (right after a change
    commits); raises ValidationFailed when SAFESTEP_BASE_URL is not an http(s) address."""
    return check_base_url(os.environ.get(BASE_URL_VARIABLE, DEFAULT_BASE_URL))


@dataclass(frozen=True)
class ItemText:
    headline: str
    task: str
    due: str
    link: str


def in_language_of(recipient: User) -> translation.override:
    """Write an e-mail in the language its recipient chose for the pages ("My account")."""
    return translation.override(recipient.language or settings.LANGUAGE_CODE)


def _local(moment: datetime) -> str:
    """MOMENT in the district's zone as the pages write it, in the active language (the
    recipient's: ``in_language_of``), and the zone's name: a mail is read off the page.
    (``strftime`` wrote the day and month in English whatever the recipient's language.)"""
    local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    return f"{moment_text(local)} {local.tzname()}"


def _name(user: User) -> str:
    return user.first_name or user.username


def item_text(reminder: Reminder, base_url: str) -> ItemText:
    return ItemText(
        headline=str(HEADLINES[ReminderKind(reminder.kind)]),
        task=reminder.task,
        due=_local(reminder.due_at),
        link=base_url + reverse("web:case", args=[reminder.case_id]),
    )


def reminder_message(reminder: Reminder, recipient: User, base_url: str) -> EmailMessage:
    with in_language_of(recipient):
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
        subject = str(SUBJECTS[ReminderKind(reminder.kind)])
    return EmailMessage(subject=subject, body=body, to=[recipient.email])


def digest_message(reminders: list[Reminder], recipient: User, base_url: str) -> EmailMessage:
    with in_language_of(recipient):
        body = render_to_string(
            "notify/email/digest.txt",
            {
                "name": _name(recipient),
                "items": [item_text(reminder, base_url) for reminder in reminders],
                "preferences_link": base_url + reverse("notify:preferences"),
            },
        )
        count = len(reminders)
        subject = ngettext(
            "SafeStep: your daily list (%(count)d task)",
            "SafeStep: your daily list (%(count)d tasks)",
            count,
        ) % {"count": count}
    return EmailMessage(subject=subject, body=body, to=[recipient.email])


# --- notices ----------------------------------------------------------------------------

_DUTY_STANDS = gettext_lazy(
    "Your own duty to report stands. As a mandated reporter you must report a reasonable "
    "suspicion of child abuse to Child Welfare Services or law enforcement yourself (Penal "
    "Code 11166): by phone at once, and in writing (SS 8572) within 36 hours of learning of "
    "it. Telling the school does not meet that duty, and nobody may stop you from reporting."
)
_TO_TRIAGE = gettext_lazy("Triage it in SafeStep (you will be asked to sign in):")
_TO_OWN_REPORT = gettext_lazy(
    "Record your own report on your concern in SafeStep (you will be asked to sign in):"
)


@dataclass(frozen=True)
class NoticeText:
    subject: str
    headline: str
    lines: list[str]
    action: str
    link: str


def _report_due_line(notice: Notice, now: datetime, *, own: bool = False) -> list[str]:
    """When the written report is due; ``own`` when it is the recipient's own report."""
    if notice.due_at is None:
        return []
    due = _local(notice.due_at)
    if now >= notice.due_at:
        if own:
            line = gettext(
                "Your written child abuse report (SS 8572) was due by %(due)s: it is overdue."
            )
        else:
            line = gettext(
                "The written child abuse report (SS 8572) was due by %(due)s: it is overdue."
            )
    elif own:
        line = gettext("Your written child abuse report (SS 8572) is due by %(due)s.")
    else:
        line = gettext("The written child abuse report (SS 8572) is due by %(due)s.")
    return [line % {"due": due}]


def _concern_link(notice: Notice, base_url: str) -> str:
    """The page of the concern a notice is about; only for kinds that have one."""
    assert notice.concern_id is not None, f"a {notice.kind} notice names a concern"
    return base_url + reverse("web:concern", args=[notice.concern_id])


def _case_link(notice: Notice, base_url: str) -> str:
    assert notice.case_id is not None, f"a {notice.kind} notice names a case"
    return base_url + reverse("web:case", args=[notice.case_id])


def notice_text(notice: Notice, base_url: str, now: datetime) -> NoticeText:
    """What a notice says: the kind of task, its due time and a link, nothing more."""
    kind = NoticeKind(notice.kind)
    overdue = notice.due_at is not None and now >= notice.due_at
    triage = base_url + reverse("web:triage")
    due = _report_due_line(notice, now)
    if kind == NoticeKind.CONCERN_SUBMITTED:
        return NoticeText(
            gettext("SafeStep: a concern at your school waits for triage"),
            gettext(
                "A staff member reported a concern at a school you look after. It waits for triage."
            ),
            due,
            str(_TO_TRIAGE),
            triage,
        )
    if kind == NoticeKind.CONCERN_WAITING:
        return NoticeText(
            gettext("SafeStep: a concern waits for triage and its report is overdue")
            if overdue
            else gettext(
                "SafeStep: a concern waits for triage and its report is due within 24 hours"
            ),
            gettext("A concern reported at a school you look after still waits for triage."),
            due,
            str(_TO_TRIAGE),
            triage,
        )
    if kind == NoticeKind.CONCERN_WAITING_COORDINATOR:
        return NoticeText(
            gettext("SafeStep: a concern's report is overdue and it waits for triage"),
            gettext(
                "A concern reported in the district has not been triaged, and the child abuse "
                "report it needs is overdue."
            ),
            due,
            str(_TO_TRIAGE),
            triage,
        )
    if kind == NoticeKind.OWN_REPORT_DUE:
        return NoticeText(
            gettext("SafeStep: your written child abuse report is overdue")
            if overdue
            else gettext("SafeStep: your written child abuse report is due within 24 hours"),
            gettext(
                "You phoned in a report of suspected child abuse. The law asks for your written "
                "report within 36 hours of when you learned of it."
            ),
            _report_due_line(notice, now, own=True),
            gettext(
                "When you have sent it, record it on your concern in SafeStep (you will be asked "
                "to sign in):"
            ),
            _concern_link(notice, base_url),
        )
    if kind == NoticeKind.CONCERN_NOT_OPENED:
        return NoticeText(
            gettext("SafeStep: a concern you reported was not opened as a case"),
            gettext("A concern you reported was not opened as a case."),
            [str(_DUTY_STANDS), *_report_due_line(notice, now, own=True)],
            str(_TO_OWN_REPORT),
            _concern_link(notice, base_url),
        )
    if kind == NoticeKind.REPORT_WAIVED:
        return NoticeText(
            gettext("SafeStep: the school will not make the report for a concern you reported"),
            gettext(
                "The school has decided not to make the child abuse report for a concern you "
                "reported."
            ),
            [str(_DUTY_STANDS), *_report_due_line(notice, now, own=True)],
            str(_TO_OWN_REPORT),
            _concern_link(notice, base_url),
        )
    if kind == NoticeKind.CASE_VOIDED:
        return NoticeText(
            gettext("SafeStep: the case opened from a concern you reported was voided"),
            gettext(
                "The case opened from a concern you reported was voided: it was opened in error."
            ),
            [str(_DUTY_STANDS), *_report_due_line(notice, now, own=True)],
            str(_TO_OWN_REPORT),
            _concern_link(notice, base_url),
        )
    if kind == NoticeKind.CASE_TRANSFERRED:
        return NoticeText(
            gettext("SafeStep: a case moved to your school"),
            gettext(
                "A case was transferred to a school you look after. Open it in SafeStep to see "
                "what is still to do."
            ),
            [],
            gettext("Open it in SafeStep (you will be asked to sign in):"),
            _case_link(notice, base_url),
        )
    assert kind == NoticeKind.REVIEW_OPENED
    label = notice.review.get_kind_display() if notice.review is not None else ""
    return NoticeText(
        gettext("SafeStep: a decision needs your review"),
        gettext("A decision that could stop a child abuse report needs your review."),
        [gettext("Decision: %(decision)s") % {"decision": label}] if label else [],
        gettext("Review it in SafeStep (you will be asked to sign in):"),
        base_url + reverse("web:reviews"),
    )


def notice_message(notice: Notice, recipient: User, base_url: str, now: datetime) -> EmailMessage:
    """The e-mail for a notice, worded for the moment it is sent ("due by" or "overdue")."""
    with in_language_of(recipient):
        text = notice_text(notice, base_url, now)
        body = render_to_string(
            "notify/email/notice.txt",
            {
                "name": _name(recipient),
                "headline": text.headline,
                "lines": text.lines,
                "action": text.action,
                "link": text.link,
            },
        )
    return EmailMessage(subject=text.subject, body=body, to=[recipient.email])

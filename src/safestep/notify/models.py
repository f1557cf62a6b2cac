"""The reminder outbox, the notice outbox, daily digests, and each person's choice.

A reminder row is written before its e-mail is sent, keyed by what it is about (case, step,
kind, due time) and who gets it. The database refuses a second row with the same key, so
running `safestep remind` twice, or twice at once, never sends the same reminder twice.

A notice is a one-off e-mail about a concern, a case or a review (a concern waits for
triage, a review was opened, a reporter's own duty to report stands, a case moved to another
school). It is written in the same transaction as the change it announces, so it cannot be
lost once that change commits, and its unique ``key`` makes it once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from safestep.cases.models import Case, CaseTransfer, Concern, Review

USER = settings.AUTH_USER_MODEL


class ReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", gettext_lazy("Due within 24 hours")
    OVERDUE = "overdue", gettext_lazy("Overdue")
    OVERDUE_24H = "overdue_24h", gettext_lazy("Overdue for more than 24 hours")
    CHECK_IN_DUE = "check_in_due", gettext_lazy("Check-in due")
    # The check-ins' keeper does not work at the case's school (the case was transferred):
    # the school's site administrators hear of each check-in until someone there keeps them.
    CHECK_IN_UNKEPT = (
        "check_in_unkept",
        gettext_lazy("Check-in due, and nobody at the school keeps them"),
    )


class Digest(models.Model):
    """One day's e-mail to a person who chose a daily digest."""

    recipient = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()  # local date
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "day"], name="one_digest_a_day")
        ]


class Reminder(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    # The protocol step; empty for a check-in, which belongs to the case's plan.
    step_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    due_at = models.DateTimeField()
    recipient = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    # What to do, in the protocol's words (the step's title); never anything about the
    # student or the case's content.
    task = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    # Set when the e-mail went out (alone, or in a digest).
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set instead when the reminder stopped being true before it went out (the step was
    # resolved, or a later reminder replaced it while it waited for a digest).
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    digest = models.ForeignKey(
        Digest, null=True, blank=True, on_delete=models.PROTECT, related_name="items"
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "step_id", "kind", "due_at", "recipient"],
                name="one_reminder_per_due_time",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[kind.value for kind in ReminderKind]),
                name="reminder_kind_is_known",
            ),
        ]
        indexes = [models.Index(fields=["recipient", "sent_at"], name="reminder_unsent")]


class ReminderPreference(models.Model):
    user = models.OneToOneField(USER, on_delete=models.PROTECT, related_name="reminder_preference")
    daily_digest = models.BooleanField(default=False)
    # Local hour at which the day's digest goes out (the first `remind` run after it).
    digest_hour = models.PositiveSmallIntegerField(default=7)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(digest_hour__gte=0, digest_hour__lte=23),
                name="digest_hour_0_to_23",
            )
        ]


class NoticeKind(models.TextChoices):
    CONCERN_SUBMITTED = "concern_submitted", gettext_lazy("A concern waits for triage")
    CONCERN_WAITING = "concern_waiting", gettext_lazy("A concern still waits for triage")
    CONCERN_WAITING_COORDINATOR = (
        "concern_waiting_coordinator",
        gettext_lazy("A concern's report is overdue and it waits for triage"),
    )
    OWN_REPORT_DUE = "own_report_due", gettext_lazy("Your written report is due")
    CONCERN_NOT_OPENED = "concern_not_opened", gettext_lazy("Your concern was not opened as a case")
    REPORT_WAIVED = "report_waived", gettext_lazy("The school will not make the report")
    REVIEW_OPENED = "review_opened", gettext_lazy("A decision needs your review")
    CASE_TRANSFERRED = "case_transferred", gettext_lazy("A case moved to your school")
    CASE_VOIDED = "case_voided", gettext_lazy("A case from your concern was voided")


class Notice(models.Model):
    """One e-mail that must not be lost, to one person.

    ``key`` says what it is about and for whom (``concern:12:submitted:user:5``); the
    database refuses a second row with the same key, so a notice is written once however
    often the code that wants it runs. It never holds anything about the student: the
    e-mail is built from the kind, the due time and a link.
    """

    key = models.CharField(max_length=200, unique=True)
    recipient = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    concern = models.ForeignKey(
        Concern, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The transfer a "case moved to your school" notice announces: it stays true only while
    # the case is still at that transfer's school.
    transfer = models.ForeignKey(
        CaseTransfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The written report's due time, when the notice is about one.
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set instead when it stopped being true before it went out (the concern was triaged,
    # the review decided, the written report recorded, the case moved on or was voided).
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[kind.value for kind in NoticeKind]),
                name="notice_kind_is_known",
            ),
        ]
        indexes = [
            # Every `remind` run reads the notices still waiting; once sent or withdrawn a
            # row leaves this (small) index, so the run does not slow as the table grows.
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True, withdrawn_at__isnull=True),
                name="notice_waiting",
            )
        ]

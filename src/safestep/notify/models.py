"""The reminder outbox, daily digests, and each person's choice between them.

A reminder row is written before its e-mail is sent, keyed by what it is about (case, step,
kind, due time) and who gets it. The database refuses a second row with the same key, so
running `safestep remind` twice, or twice at once, never sends the same reminder twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from safestep.cases.models import Case

USER = settings.AUTH_USER_MODEL


class ReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", "Due within 24 hours"
    OVERDUE = "overdue", "Overdue"
    OVERDUE_24H = "overdue_24h", "Overdue for more than 24 hours"
    CHECK_IN_DUE = "check_in_due", "Check-in due"


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

"""The one append-only event log: the case timeline and the audit trail in one table.

Every service writes exactly one event in its own transaction, and every read of a case
writes one too. Each event's hash covers the previous event's hash and a canonical encoding
of the event, so changing, removing or reordering a row breaks the chain.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Event(models.Model):
    # Assigned by event_record under the chain lock, so it is gap-free and ordered.
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Kept as text too, so the trail still reads correctly if an account is renamed.
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    # A plain id rather than a foreign key: the trail must outlive anything it mentions
    # and must never block or cascade a delete.
    case_id = models.BigIntegerField(null=True, blank=True)
    step_id = models.CharField(max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["case_id", "seq"], name="event_case_seq"),
            models.Index(fields=["actor", "seq"], name="event_actor_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

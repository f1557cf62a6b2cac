"""The one append-only event log: the case timeline and the audit trail in one table.

Every service writes exactly one event in its own transaction, every read of a case writes
one too, and so do sign-ins, permission denials, protocol loads and key rotations. Each
event's hash covers the previous event's hash and a canonical encoding of the event, so
changing, removing or reordering a row breaks the chain (see :mod:`safestep.audit.chain`).

Columns are chosen so the canonical encoding is cheap and identical on every database:
the time is an integer (microseconds since the Unix epoch, UTC) and the payload is stored
as the exact canonical JSON text that was hashed, never re-serialized by the database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models

from safestep.core.crypto import EncryptedTextField

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_microseconds(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class AppendOnlyQuerySet(models.QuerySet["Event"]):
    """Refuses bulk changes: the trail is only ever appended to."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


class Event(models.Model):
    # Assigned by event_record under the chain lock, so it is gap-free and ordered.
    seq = models.BigIntegerField(primary_key=True)
    at_us = models.BigIntegerField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        # Nothing reads events by account id: the trail is searched by the username kept
        # with each event (event_actor_name_seq, below).
        db_index=False,
    )
    # Kept as text too, so the trail still reads correctly if an account is renamed.
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=64)
    # A plain id rather than a foreign key: the trail must outlive anything it mentions
    # and must never block or cascade a delete.
    case_id = models.BigIntegerField(null=True, blank=True)
    step_id = models.CharField(max_length=64, blank=True)
    source_ip = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # Canonical JSON of what an auditor may read.
    payload_json = models.TextField(default="{}")
    # Encrypted canonical JSON of the sensitive part (reasons, narratives), or "".
    sealed = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        # Every event writes each of these: only what a read needs. The action's index and
        # the hash's uniqueness keep the names they had as field options, without the
        # second, pattern-matching copy PostgreSQL gave each of them (nothing searches
        # an action or a hash by its beginning).
        indexes = [
            models.Index(fields=["case_id", "seq"], name="event_case_seq"),
            models.Index(fields=["actor_username", "seq"], name="event_actor_name_seq"),
            models.Index(fields=["action"], name="audit_event_action_71fc5cf8"),
        ]
        constraints = [models.UniqueConstraint(fields=["hash"], name="audit_event_hash_key")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("force_insert"):
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")

    @property
    def at(self) -> datetime:
        return from_microseconds(self.at_us)

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.payload_json)
        return value


class Checkpoint(models.Model):
    """A signed statement that the chain reached SEQ with HASH at a given time.

    The signature is an HMAC with a key kept outside the database, so whoever can edit the
    database cannot forge one; a checkpoint beyond the end of the trail proves the tail was
    cut off. Checkpoints are also appended to a file outside the database.
    """

    seq = models.BigIntegerField(primary_key=True)
    hash = models.CharField(max_length=64)
    at_us = models.BigIntegerField()
    signature = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("force_insert"):
            raise PermissionError("audit checkpoints are append-only")
        super().save(*args, **kwargs)


class Disclosure(models.Model):
    """A disclosure of a student's information outside the school (FERPA 34 CFR 99.32)."""

    class LegalBasis(models.TextChoices):
        CANRA_REPORT = "canra_report", "Mandated child abuse report (CANRA, PC 11166)"
        HEALTH_OR_SAFETY = "ferpa_99_36", "Health or safety emergency (FERPA 34 CFR 99.36)"
        CONSENT = "consent", "Written consent"
        COURT_ORDER = "court_order", "Court order or subpoena"
        LAW_ENFORCEMENT_UNIT = "law_enforcement_unit", "Law-enforcement unit record (34 CFR 99.8)"
        PARENT = "parent_of_minor", "Parent or guardian of a minor (FERPA 34 CFR 99.10)"
        SCHOOL_TRANSFER = "school_transfer", "School the student transfers to (34 CFR 99.31(a)(2))"

    class RecipientType(models.TextChoices):
        CHILD_WELFARE = "child_welfare", "Child welfare agency"
        LAW_ENFORCEMENT = "law_enforcement", "Law enforcement agency"
        PARENT = "parent", "Parent or guardian"
        SCHOOL = "school", "Another school"
        SERVICE_PROVIDER = "service_provider", "Service provider"
        OTHER = "other", "Other"

    student_id = models.BigIntegerField(db_index=True)
    # A disclosure belongs to a case, or to a concern that has none yet (the reporter's own
    # report, made before triage).
    case_id = models.BigIntegerField(db_index=True, null=True, blank=True)
    concern_id = models.BigIntegerField(null=True, blank=True)
    step_id = models.CharField(max_length=64, blank=True)
    event_seq = models.BigIntegerField()
    # The recipient's name (the agency, the person) as recorded: sealed like the step
    # details it comes from (a parent's name is narrative).
    recipient = EncryptedTextField()
    recipient_type = models.CharField(
        max_length=20, choices=RecipientType.choices, default=RecipientType.OTHER
    )
    # Under the health-or-safety exception (34 CFR 99.32(a)(5)), the articulable and
    # significant threat that justified it.
    threat = EncryptedTextField(blank=True)
    categories = models.JSONField(default=list)
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices)
    disclosed_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["disclosed_at", "id"]

    def __str__(self) -> str:
        return f"disclosure to {self.recipient}"

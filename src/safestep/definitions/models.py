"""Protocol definitions as stored, immutable versions.

A case pins the exact version it was opened under, so a district can load a revised
protocol without changing the rules of a case half-way through.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ProtocolVersion(models.Model):
    protocol_id = models.CharField(max_length=64)
    version = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64, unique=True)
    # A shipped definition revised by a SafeStep release keeps its protocol version (the
    # district's document is unchanged) and is stored as its next revision; open cases stay
    # on the revision they were opened with. Files an operator loads get new versions.
    revision = models.PositiveIntegerField(default=1)
    source_text = models.TextField()
    source_name = models.CharField(max_length=300)
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["protocol_id", "-loaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol_id", "version", "revision"],
                name="one_content_per_protocol_revision",
            )
        ]

    def __str__(self) -> str:
        return f"{self.protocol_id} {self.version}"


class ActiveProtocol(models.Model):
    """Which protocol new cases follow: at most one row, whose primary key is always 1.

    The fixed key (checked by the database) is what keeps "exactly one active protocol"
    true when two operators activate at once: both write the same row, the last one wins,
    and there is never a second. With no row, the shipped protocol is active.

    ``version`` is the stored version that was activated. New cases open on its newest
    revision (a SafeStep release may revise a shipped definition without changing its
    version); a newer version of the same protocol is used only once it is activated.
    """

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    version = models.ForeignKey(ProtocolVersion, on_delete=models.PROTECT, related_name="+")
    activated_at = models.DateTimeField()
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="one_active_protocol_row")
        ]

    def __str__(self) -> str:
        return f"active: {self.version}"

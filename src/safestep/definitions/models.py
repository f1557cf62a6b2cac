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

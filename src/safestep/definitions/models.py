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
                fields=["protocol_id", "version"], name="one_content_per_protocol_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.protocol_id} {self.version}"

"""Files attached to a case: scanned forms, photos of evidence.

The bytes live encrypted on disk (storage.py); this row says whose they are and what they
are. The file name is the user's words and is encrypted like other free text.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from safestep.cases.models import Case
from safestep.core.crypto import EncryptedTextField


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    file_name = EncryptedTextField()
    # Decided from the file's first bytes, never from its name or the browser's word.
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    # A random name on disk: says nothing about the case or the file.
    storage_name = models.CharField(max_length=64, unique=True)
    # The key that encrypted the stored file, so a key rotation finds what is left to do.
    key_id = models.CharField(max_length=32, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"attachment {self.pk} of case {self.case_id}"

"""Attachment bytes on disk, encrypted, and what kind of file they are.

A file's type is read from its first bytes (its "magic number"), never from its name or
the type the browser claims: a script renamed to photo.jpg is refused.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext_noop

from safestep.core.crypto import decrypt_bytes, encrypt_bytes, key_id_of_bytes


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extensions: tuple[str, ...]
    matches: Callable[[bytes], bool]


HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
HEIF_BRANDS = {b"mif1", b"msf1"}

KINDS = (
    FileKind("application/pdf", (".pdf",), lambda head: head.startswith(b"%PDF-")),
    FileKind("image/png", (".png",), lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    FileKind("image/jpeg", (".jpg", ".jpeg"), lambda head: head.startswith(b"\xff\xd8\xff")),
    FileKind("image/webp", (".webp",), lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    FileKind(
        "image/heic",
        (".heic",),
        lambda head: head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS,
    ),
    FileKind(
        "image/heif",
        (".heif",),
        lambda head: head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS,
    ),
)

# Marked for the catalogue; translated where a message names it.
ALLOWED_DESCRIPTION = gettext_noop("a PDF or an image (PNG, JPEG, WebP, HEIC)")
MAX_NAME_LENGTH = 120


def sniff(content: bytes) -> FileKind | None:
    head = content[:32]
    return next((kind for kind in KINDS if kind.matches(head)), None)


def sanitize_file_name(raw: str, kind: FileKind) -> str:
    """A name safe to show and to offer as a download name.

    Only the last path component is kept; control characters, quotes and anything but
    letters, digits, spaces and ``._-()`` become ``_``; the extension always matches the
    file's real type.
    """
    name = unicodedata.normalize("NFKC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(char).startswith("C") else char for char in name)
    name = re.sub(r"[^\w .()-]", "_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if f".{extension.lower()}" not in kind.extensions:
        # A name that lies about the type gets the true extension instead.
        extension = kind.extensions[0].lstrip(".")
    stem = stem.strip(" .")[: MAX_NAME_LENGTH - len(extension) - 1] or "attachment"
    return f"{stem}.{extension.lower()}"


def attachments_dir() -> Path:
    directory = Path(settings.ATTACHMENTS_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def new_storage_name() -> str:
    return secrets.token_hex(16)


def _write_atomically(path: Path, blob: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def store(storage_name: str, content: bytes) -> str:
    """Encrypt and write CONTENT; return the id of the key used."""
    blob = encrypt_bytes(content)
    _write_atomically(attachments_dir() / storage_name, blob)
    return key_id_of_bytes(blob)


def load(storage_name: str) -> bytes:
    return decrypt_bytes((attachments_dir() / storage_name).read_bytes())


def discard(storage_name: str) -> None:
    (attachments_dir() / storage_name).unlink(missing_ok=True)


class AttachmentFiles:
    """Re-encrypts stored files whose key is not the current one (see `keys reencrypt`)."""

    label = "attachments.Attachment (stored files)"

    def _not_current(self, current_key_id: str):  # type: ignore[no-untyped-def]
        from safestep.attachments.models import Attachment

        return Attachment.objects.exclude(key_id=current_key_id)

    def pending(self, current_key_id: str) -> int:
        return int(self._not_current(current_key_id).count())

    def reencrypt_batch(self, current_key_id: str, batch_size: int) -> int:
        rows = list(self._not_current(current_key_id).order_by("pk")[:batch_size])
        for row in rows:
            # The key id inside the file is what decryption trusts; the column only
            # marks what is left to do, so a crash between the two steps is harmless.
            row.key_id = store(row.storage_name, load(row.storage_name))
            row.save(update_fields=["key_id"])
        return len(rows)

    def count_by_key(self) -> dict[str, int]:
        from safestep.attachments.models import Attachment

        return {
            row["key_id"]: row["count"]
            for row in Attachment.objects.values("key_id").annotate(count=Count("pk"))
        }

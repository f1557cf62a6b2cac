"""Encryption at rest: AES-256-GCM with named keys, and model fields that use it.

Every encrypted value carries the id of the key that sealed it, so keys can be rotated
without a flag day: the first key of SAFESTEP_ENCRYPTION_KEYS encrypts, every listed key
decrypts, and ``safestep keys reencrypt`` moves old values to the current key.

Text values read ``enc:v1:<key id>:<base64url(nonce + ciphertext + tag)>``; files start with
``SSE1``, the key id's length and the key id, then the nonce and the ciphertext. The key id
is also bound into the authentication tag, so a value cannot be relabelled with another key.

The database holds only ciphertext for these fields. They cannot be searched or sorted in
SQL; an empty string stays empty (it says nothing but "blank").
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.functions import Cast

from safestep.config import ConfigError, parse_encryption_keys

TEXT_PREFIX = "enc:v1:"
FILE_MAGIC = b"SSE1"
NONCE_BYTES = 12


class EncryptionError(Exception):
    """A value cannot be decrypted: its key is not configured, or it was altered."""


@dataclass(frozen=True)
class KeyRing:
    """The configured keys, the current (encrypting) one first."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    def key(self, key_id: str) -> bytes:
        for known, key in self.keys:
            if known == key_id:
                return key
        raise EncryptionError(
            f"a value is encrypted with key {key_id!r}, which is not in SAFESTEP_ENCRYPTION_KEYS; "
            "add that key back (old keys stay listed after a rotation)"
        )


# How often a process looks at the key file (a stat) to see whether the keys were rotated.
# Looking on every decryption cost about half of each decryption; once a second is
# enough, because a value sealed under a key this process does not know yet makes it
# look again at once (``_key_for``), and every key stays listed after a rotation.
KEY_FILE_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class _CachedRing:
    configured: tuple[tuple[str, bytes], ...]
    source: Path | None
    signature: object
    ring: KeyRing
    checked_at: float


_cache_lock = threading.Lock()
_cached: _CachedRing | None = None


def _file_signature(source: Path | None, configured: object) -> object:
    if source is None:
        return configured
    try:
        status = source.stat()
    except OSError:
        return configured
    return (str(source), status.st_ino, status.st_mtime_ns, status.st_size)


def keyring(*, recheck: bool = False) -> KeyRing:
    """The keys in force now.

    Keys read from a file are re-read when the file changes, so a rotation done by
    ``safestep keys rotate`` reaches every running process on the machine: the file is
    looked at no more than once every ``KEY_FILE_CHECK_SECONDS`` (RECHECK looks at once),
    and a value sealed with a key this process does not know yet makes it look at once.
    """
    global _cached
    configured: tuple[tuple[str, bytes], ...] = settings.ENCRYPTION_KEYS
    source: Path | None = settings.ENCRYPTION_KEYS_FILE
    now = time.monotonic()
    cached = _cached
    if (
        cached is not None
        and not recheck
        and (cached.configured is configured or cached.configured == configured)
        and cached.source == source
        and (source is None or now - cached.checked_at < KEY_FILE_CHECK_SECONDS)
    ):
        return cached.ring
    signature = _file_signature(source, configured)
    with _cache_lock:
        cached = _cached
        if (
            cached is not None
            and cached.signature == signature
            and cached.configured == configured
            and cached.source == source
        ):
            _cached = _CachedRing(configured, source, signature, cached.ring, now)
            return cached.ring
        keys = configured
        if signature is not configured and source is not None:
            try:
                keys = parse_encryption_keys(
                    "SAFESTEP_ENCRYPTION_KEYS_FILE", source.read_text(encoding="utf-8")
                )
            except (OSError, ConfigError):
                # A half-written or unreadable file must not take the service down: keep
                # the keys this process started with.
                keys = configured
        if not keys:
            raise EncryptionError("no encryption keys configured (SAFESTEP_ENCRYPTION_KEYS)")
        ring = KeyRing(keys)
        _cached = _CachedRing(configured, source, signature, ring, now)
        return ring


def _key_for(key_id: str) -> bytes:
    """The key KEY_ID, looking at the key file again at once if this process lacks it:
    another process may have rotated the keys within the last second."""
    try:
        return keyring().key(key_id)
    except EncryptionError:
        return keyring(recheck=True).key(key_id)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- text ------------------------------------------------------------------------------


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TEXT_PREFIX)


def key_id_of(value: str) -> str | None:
    """The id of the key that encrypted VALUE, or None for plain text."""
    if not is_encrypted(value):
        return None
    return value[len(TEXT_PREFIX) :].split(":", 1)[0]


def encrypt_text(plaintext: str) -> str:
    ring = keyring()
    key_id = ring.current_id
    nonce = os.urandom(NONCE_BYTES)
    header = f"{TEXT_PREFIX}{key_id}:"
    sealed = AESGCM(ring.key(key_id)).encrypt(nonce, plaintext.encode("utf-8"), header.encode())
    return header + _b64encode(nonce + sealed)


def decrypt_text(token: str) -> str:
    if not is_encrypted(token):
        raise EncryptionError("not an encrypted value")
    key_id, separator, body = token[len(TEXT_PREFIX) :].partition(":")
    if not separator:
        raise EncryptionError("an encrypted value is malformed")
    header = f"{TEXT_PREFIX}{key_id}:"
    try:
        raw = _b64decode(body)
        plain = AESGCM(_key_for(key_id)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], header.encode()
        )
    except (InvalidTag, ValueError):
        raise EncryptionError(
            f"a value encrypted with key {key_id!r} failed its integrity check"
        ) from None
    return plain.decode("utf-8")


def encrypt_json(obj: Any) -> str:
    """OBJ as JSON, encrypted. Keys are sorted so equal objects encode alike before sealing."""
    return encrypt_text(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def decrypt_json(token: str) -> Any:
    return json.loads(decrypt_text(token))


# --- files -----------------------------------------------------------------------------


def _file_header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")
    return FILE_MAGIC + bytes([len(encoded)]) + encoded


def encrypt_bytes(data: bytes) -> bytes:
    ring = keyring()
    header = _file_header(ring.current_id)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(ring.key(ring.current_id)).encrypt(nonce, data, header)


def key_id_of_bytes(blob: bytes) -> str:
    if not blob.startswith(FILE_MAGIC) or len(blob) < len(FILE_MAGIC) + 1:
        raise EncryptionError("not an encrypted file")
    length = blob[len(FILE_MAGIC)]
    return blob[len(FILE_MAGIC) + 1 : len(FILE_MAGIC) + 1 + length].decode("ascii")


def decrypt_bytes(blob: bytes) -> bytes:
    key_id = key_id_of_bytes(blob)
    header = _file_header(key_id)
    nonce = blob[len(header) : len(header) + NONCE_BYTES]
    try:
        return AESGCM(_key_for(key_id)).decrypt(nonce, blob[len(header) + NONCE_BYTES :], header)
    except InvalidTag:
        raise EncryptionError(
            f"a file encrypted with key {key_id!r} failed its integrity check"
        ) from None


# --- model fields ----------------------------------------------------------------------


class EncryptedTextField(models.TextField):
    """A TextField stored encrypted; code reads and writes plain strings as usual."""

    description = "Text, encrypted at rest"

    def from_db_value(self, value: str | None, expression: object, connection: object) -> Any:
        if value is None or not is_encrypted(value):
            # Plain text written before the field was encrypted; `keys reencrypt` seals it.
            return value
        return decrypt_text(value)

    def to_python(self, value: Any) -> Any:
        if is_encrypted(value):
            return decrypt_text(value)
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(str(value))

    def value_to_string(self, obj: models.Model) -> str:
        # Serialized copies (dumpdata) stay encrypted; loading them decrypts in to_python.
        value = str(self.value_from_object(obj) or "")
        return encrypt_text(value) if value else ""


class EncryptedJSONField(models.TextField):
    """A JSON value (dict, list ...) stored encrypted as text."""

    # For type checkers: the attribute holds JSON values, not the text column's str.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    description = "JSON, encrypted at rest"

    def from_db_value(self, value: str | None, expression: object, connection: object) -> Any:
        if value is None:
            return None
        if is_encrypted(value):
            return decrypt_json(value)
        return json.loads(value)  # written before the field was encrypted

    def to_python(self, value: Any) -> Any:
        if is_encrypted(value):
            return decrypt_json(value)
        if isinstance(value, str):
            return json.loads(value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = models.Field.get_prep_value(self, value)
        if value is None:
            return None
        return encrypt_json(value)

    def value_to_string(self, obj: models.Model) -> str:
        return encrypt_json(self.value_from_object(obj))


ENCRYPTED_FIELD_TYPES = (EncryptedTextField, EncryptedJSONField)


# --- re-encryption ---------------------------------------------------------------------


class Reencryptor(Protocol):
    """Something holding encrypted values that can move them to the current key."""

    @property
    def label(self) -> str: ...

    def pending(self, current_key_id: str) -> int: ...

    def reencrypt_batch(self, current_key_id: str, batch_size: int) -> int:
        """Re-encrypt up to BATCH_SIZE values not under the current key; return how many."""
        ...

    def count_by_key(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class ColumnReencryptor:
    """One encrypted model field. Only rows not yet under the current key are touched,
    so an interrupted run resumes where it stopped."""

    model: type[models.Model]
    field: models.Field[Any, Any]

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    def _raw(self) -> models.QuerySet[Any]:
        # Cast to a plain text column: its values come back as stored, undecrypted.
        return (
            self.model._default_manager.annotate(
                stored=Cast(self.field.name, output_field=models.TextField())
            )
            .exclude(stored__isnull=True)
            .exclude(stored="")
        )

    def _not_current(self, current_key_id: str) -> models.QuerySet[Any]:
        return self._raw().exclude(stored__startswith=f"{TEXT_PREFIX}{current_key_id}:")

    def pending(self, current_key_id: str) -> int:
        return self._not_current(current_key_id).count()

    def reencrypt_batch(self, current_key_id: str, batch_size: int) -> int:
        with transaction.atomic():
            rows = list(
                self._not_current(current_key_id)
                .select_for_update()
                .order_by("pk")
                .values_list("pk", "stored")[:batch_size]
            )
            for pk, stored in rows:
                value = self.field.from_db_value(stored, None, connection)  # type: ignore[attr-defined]
                # update() runs the field's get_prep_value: sealed again with the current key.
                self.model._default_manager.filter(pk=pk).update(**{self.field.name: value})
        return len(rows)

    def count_by_key(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for key_id in keyring().ids:
            found = self._raw().filter(stored__startswith=f"{TEXT_PREFIX}{key_id}:").count()
            if found:
                counts[key_id] = found
        plain = self._raw().exclude(stored__startswith=TEXT_PREFIX).count()
        if plain:
            counts["(not encrypted)"] = plain
        return counts


_extra_reencryptors: list[Callable[[], Reencryptor]] = []


def register_reencryptor(factory: Callable[[], Reencryptor]) -> None:
    """Add encrypted storage that is not a model field (files, for example)."""
    if factory not in _extra_reencryptors:
        _extra_reencryptors.append(factory)


def encrypted_columns() -> Iterator[ColumnReencryptor]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, ENCRYPTED_FIELD_TYPES):
                yield ColumnReencryptor(model, field)


def reencryptors() -> list[Reencryptor]:
    found: list[Reencryptor] = [*encrypted_columns()]
    found.extend(factory() for factory in _extra_reencryptors)
    return found


def reencrypt_all(
    *,
    batch_size: int = 500,
    targets: Iterable[Reencryptor] | None = None,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Move every value that is not under the current key to it, in batches.

    Each batch is its own transaction: an interrupted run keeps what it finished, and the
    next run picks up only what is left.
    """
    current = keyring().current_id
    done = 0
    for target in targets if targets is not None else reencryptors():
        while True:
            count = target.reencrypt_batch(current, batch_size)
            if not count:
                break
            done += count
            if progress is not None:
                progress(count)
    return done

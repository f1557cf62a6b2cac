"""`safestep keys`: rotate the encryption key and re-encrypt what the old keys sealed."""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from safestep.audit.services import event_record
from safestep.config import format_encryption_keys, new_encryption_key
from safestep.core.commands import one_line_errors
from safestep.core.crypto import EncryptionError, keyring, reencrypt_all, reencryptors
from safestep.core.errors import Conflict, SafeStepError


def next_key_id(existing: list[str]) -> str:
    numbers = [
        int(match.group(1)) for key_id in existing if (match := re.match(r"^k(\d+)$", key_id))
    ]
    return f"k{max(numbers, default=0) + 1}"


def write_key_file(path: Path, keys: list[tuple[str, bytes]]) -> None:
    """Replace the key file in one step, owner-only, so no process reads half a file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(format_encryption_keys(keys) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = "Rotate the encryption key, re-encrypt stored values, or show which keys are in use."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        rotate = actions.add_parser(
            "rotate",
            help="add a new current key to the key file, then re-encrypt everything with it",
        )
        reencrypt = actions.add_parser(
            "reencrypt",
            help="re-encrypt values not yet under the current key (resumes a rotation)",
        )
        for sub in (rotate, reencrypt):
            sub.add_argument("--batch-size", type=int, default=500, metavar="N")
        actions.add_parser("status", help="how many stored values each key encrypts")
        actions.add_parser(
            "new", help="print a new key entry for SAFESTEP_ENCRYPTION_KEYS (nothing is changed)"
        )

    @one_line_errors
    def handle(self, *args: Any, **options: Any) -> None:
        try:
            action = options["action"]
            if action == "rotate":
                self._rotate(options["batch_size"])
            elif action == "reencrypt":
                self._reencrypt(options["batch_size"])
            elif action == "status":
                self._status()
            elif action == "new":
                ring = keyring()
                entry = format_encryption_keys([(next_key_id(ring.ids), new_encryption_key())])
                self.stdout.write(entry)
        except EncryptionError as error:
            raise SafeStepError(str(error)) from None

    def _rotate(self, batch_size: int) -> None:
        source: Path | None = settings.ENCRYPTION_KEYS_FILE
        ring = keyring()
        if source is None:
            raise Conflict(
                "the keys come from SAFESTEP_ENCRYPTION_KEYS: put a new entry first "
                "(`safestep keys new` makes one), keep the old ones, restart SafeStep, "
                "then run `safestep keys reencrypt`"
            )
        new_id = next_key_id(ring.ids)
        try:
            write_key_file(source, [(new_id, new_encryption_key()), *ring.keys])
        except OSError as error:
            raise Conflict(f"cannot write the key file {source}: {error.strerror}") from None
        if keyring(recheck=True).current_id != new_id:
            raise Conflict(f"the key file {source} did not take the new key; nothing re-encrypted")
        event_record(actor=None, action="keys.rotate", payload={"key_id": new_id})
        self.stdout.write(f"new current key {new_id} added to {source}; old keys kept")
        self._reencrypt(batch_size)

    def _reencrypt(self, batch_size: int) -> None:
        if batch_size < 1:
            raise Conflict("--batch-size must be at least 1")
        current = keyring().current_id
        targets = reencryptors()
        total = sum(target.pending(current) for target in targets)
        with tqdm(
            total=total, unit="value", desc=f"re-encrypting with {current}", file=sys.stderr
        ) as bar:
            done = reencrypt_all(batch_size=batch_size, targets=targets, progress=bar.update)
        event_record(
            actor=None, action="keys.reencrypt", payload={"key_id": current, "values": done}
        )
        self.stdout.write(f"{done} values re-encrypted; everything is under key {current}")

    def _status(self) -> None:
        ring = keyring()
        self.stdout.write(f"current key: {ring.current_id}; configured: {', '.join(ring.ids)}")
        totals: dict[str, int] = {}
        for target in reencryptors():
            for key_id, count in target.count_by_key().items():
                totals[key_id] = totals.get(key_id, 0) + count
        for key_id in [*ring.ids, *sorted(set(totals) - set(ring.ids))]:
            self.stdout.write(f"  {key_id:<16} {totals.get(key_id, 0)} values")

"""Loading protocol definitions into the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from safestep.audit.services import event_record
from safestep.core.errors import Conflict
from safestep.definitions.models import ProtocolVersion
from safestep.protocol import load_protocol_text, shipped_protocol_paths

if TYPE_CHECKING:
    from safestep.accounts.models import User


@dataclass(frozen=True)
class LoadResult:
    version: ProtocolVersion
    created: bool


def protocol_load(
    *,
    text: str,
    source_name: str,
    acting_user: User | None = None,
    new_revision_allowed: bool = False,
) -> LoadResult:
    """Validate TEXT and store it as a new immutable version; identical content is a no-op.

    Raises ProtocolInvalid (nothing stored) or Conflict when the same id and version are
    already stored with different content: a changed definition needs a new version. Only
    SafeStep's own shipped definitions (``new_revision_allowed``) are stored as the next
    revision of the same version instead.
    """
    definition = load_protocol_text(text, source_name)
    existing = ProtocolVersion.objects.filter(content_hash=definition.content_hash).first()
    if existing is not None:
        return LoadResult(existing, created=False)
    with transaction.atomic():
        latest = (
            ProtocolVersion.objects.filter(protocol_id=definition.id, version=definition.version)
            .order_by("-revision")
            .first()
        )
        if latest is not None and not new_revision_allowed:
            raise Conflict(
                f"protocol {definition.id} version {definition.version} is already loaded "
                "with different content; give the changed definition a new version"
            )
        try:
            with transaction.atomic():
                stored = ProtocolVersion.objects.create(
                    protocol_id=definition.id,
                    version=definition.version,
                    revision=latest.revision + 1 if latest is not None else 1,
                    title=definition.title,
                    content_hash=definition.content_hash,
                    source_text=definition.source_text,
                    source_name=source_name,
                    loaded_by=acting_user,
                )
        except IntegrityError:
            # Another process loaded the same file at the same moment.
            return LoadResult(
                ProtocolVersion.objects.get(content_hash=definition.content_hash), False
            )
        event_record(
            actor=acting_user,
            action="protocol.load",
            payload={
                "protocol": definition.id,
                "version": definition.version,
                "revision": stored.revision,
                "content_hash": definition.content_hash,
                "source": source_name,
            },
        )
    return LoadResult(stored, created=True)


def protocol_load_file(*, path: Path, acting_user: User | None = None) -> LoadResult:
    return protocol_load(
        text=path.read_text(encoding="utf-8"), source_name=str(path), acting_user=acting_user
    )


def protocol_load_shipped() -> list[LoadResult]:
    """Load every definition that ships with SafeStep (idempotent; run at each start)."""
    return [
        protocol_load(
            text=path.read_text(encoding="utf-8"),
            source_name=f"shipped:{path.name}",
            new_revision_allowed=True,
        )
        for path in shipped_protocol_paths()
    ]

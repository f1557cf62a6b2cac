"""Reading stored protocol versions, parsed once per process."""

from __future__ import annotations

from functools import lru_cache

from django.db.models import QuerySet

from safestep.core.errors import NotFound
from safestep.definitions.models import ActiveProtocol, ProtocolVersion
from safestep.protocol import Protocol, load_protocol_text

# The protocol new cases follow until an operator activates another (`safestep protocol
# activate`): the one SafeStep ships. A protocol id, not a step id: it names the file.
SHIPPED_PROTOCOL_ID = "sdusd-csec"


@lru_cache(maxsize=64)
def _parse(content_hash: str, text: str, source: str) -> Protocol:
    # Keyed by content hash: a stored version never changes, so the parse never goes stale.
    return load_protocol_text(text, source)


def definition_of(version: ProtocolVersion) -> Protocol:
    return _parse(version.content_hash, version.source_text, version.source_name)


def protocol_versions() -> QuerySet[ProtocolVersion]:
    return ProtocolVersion.objects.all()


def protocol_current(protocol_id: str, version: str | None = None) -> ProtocolVersion:
    """The named version, or the most recently loaded one of PROTOCOL_ID."""
    versions = ProtocolVersion.objects.filter(protocol_id=protocol_id)
    if version is not None:
        versions = versions.filter(version=version)
    found = versions.order_by("-loaded_at", "-id").first()
    if found is None:
        suffix = f" version {version}" if version else ""
        raise NotFound(f"no protocol {protocol_id}{suffix} is loaded")
    return found


def protocols_current() -> list[ProtocolVersion]:
    """The most recently loaded version of each protocol, by id."""
    latest: dict[str, ProtocolVersion] = {}
    for stored in ProtocolVersion.objects.order_by("protocol_id", "-loaded_at", "-id"):
        latest.setdefault(stored.protocol_id, stored)
    return list(latest.values())


def protocol_active() -> ProtocolVersion:
    """The protocol version new concerns and cases follow.

    The activated one, at its newest revision (a release's revision of a shipped definition
    keeps its version), else the shipped protocol's most recently loaded version. A case
    stays on the version it was opened with whatever is activated later.
    """
    active = ActiveProtocol.objects.select_related("version").filter(pk=ActiveProtocol.SINGLETON)
    chosen = active.first()
    if chosen is None:
        return protocol_current(SHIPPED_PROTOCOL_ID)
    newest = (
        ProtocolVersion.objects.filter(
            protocol_id=chosen.version.protocol_id, version=chosen.version.version
        )
        .order_by("-revision")
        .first()
    )
    return newest or chosen.version

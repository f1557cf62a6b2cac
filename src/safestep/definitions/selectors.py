"""Reading stored protocol versions, parsed once per process."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from safestep.core.errors import NotFound
from safestep.definitions.models import ActiveProtocol, ProtocolVersion
from safestep.protocol import Protocol, load_protocol_text

# The protocol new cases follow until an operator activates another (`safestep protocol
# activate`): the one SafeStep ships. A protocol id, not a step id: it names the file.
SHIPPED_PROTOCOL_ID = "sdusd-csec"


# Compiled protocols by content hash, for the life of the process: a stored version never
# changes, so a compiled one never goes stale. Parsing and checking the YAML takes tens of
# milliseconds; a page reads the compiled one.
_COMPILED: dict[str, Protocol] = {}
_COMPILED_MAX = 64


def definition_of(version: ProtocolVersion) -> Protocol:
    """VERSION's protocol, compiled once per process.

    Reads of cases leave the version's source text out of their query (``source_text`` is
    deferred, tens of kilobytes a row); it is read here, once, the first time a version is
    needed.
    """
    compiled = _COMPILED.get(version.content_hash)
    if compiled is None:
        compiled = load_protocol_text(version.source_text, version.source_name)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[version.content_hash] = compiled
    return compiled


def definition_of_id(version_id: int, content_hash: str) -> Protocol:
    """The protocol of the version VERSION_ID, whose content hashes to CONTENT_HASH: for
    reads that took only those two columns of it. The version is read the first time only."""
    compiled = _COMPILED.get(content_hash)
    if compiled is not None:
        return compiled
    return definition_of(ProtocolVersion.objects.get(pk=version_id))


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


def protocols_current(versions: Iterable[ProtocolVersion] | None = None) -> list[ProtocolVersion]:
    """The most recently loaded version of each protocol, by id: of VERSIONS when a caller
    has read them all already (the dashboard, to spare a query), else of every stored one."""
    latest: dict[str, ProtocolVersion] = {}
    ordered = (
        ProtocolVersion.objects.order_by("protocol_id", "-loaded_at", "-id")
        if versions is None
        else sorted(
            versions,
            key=lambda stored: (stored.protocol_id, -stored.loaded_at.timestamp(), -stored.pk),
        )
    )
    for stored in ordered:
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

"""Loading protocol definitions into the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import Role
from safestep.audit.actions import Action
from safestep.audit.services import event_record
from safestep.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from safestep.definitions.models import ActiveProtocol, ProtocolVersion
from safestep.definitions.selectors import definition_of, protocol_active, protocol_current
from safestep.protocol import (
    STEP_ROLE_CHILD_ABUSE_REPORT,
    Protocol,
    load_protocol_text,
    shipped_protocol_paths,
)

if TYPE_CHECKING:
    from safestep.accounts.models import User

# The step roles a protocol must declare before new cases may follow it. California law
# requires the child abuse report (PC 11166), and its safeguards hang on that role: the
# 36-hour clock, the refusal of School Police as its recipient, the SS 8572, the review
# when it is waived or reopened. A protocol loaded only to read it may lack the role (it
# then simply has none of those); it is activation that needs it. The other step roles
# (placement review, police involvement, parent contact) are features a protocol may do
# without.
REQUIRED_STEP_ROLES: tuple[str, ...] = (STEP_ROLE_CHILD_ABUSE_REPORT,)


def _require_manager(acting_user: User | None) -> None:
    """Protocols are the district coordinator's; None is an operator on the command line."""
    if acting_user is not None and not has_capability(acting_user, Capability.PROTOCOL_MANAGE):
        raise PermissionDenied(f"your role ({acting_user.role}) may not manage protocols")


def protocol_check(*, text: str, source_name: str, acting_user: User | None = None) -> Protocol:
    """TEXT read as a definition, stored nowhere: ProtocolInvalid lists every problem found,
    each as SOURCE_NAME:LINE:COLUMN."""
    _require_manager(acting_user)
    return load_protocol_text(text, source_name)


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
    _require_manager(acting_user)
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
            action=Action.PROTOCOL_LOAD,
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


def _cannot_run(definition: Protocol) -> list[str]:
    """Why this install cannot run DEFINITION's cases, in words; empty when it can."""
    problems = []
    missing = [role for role in REQUIRED_STEP_ROLES if definition.step_with_role(role) is None]
    if missing:
        problems.append(
            "it has no step with the step role this install needs: " + ", ".join(missing)
        )
    report = definition.step_with_role(STEP_ROLE_CHILD_ABUSE_REPORT)
    if report is not None:
        # The agency is the detail its disclosure names the recipient by (else `agency`).
        agency = report.discloses.recipient.field_name if report.discloses else "agency"
        spec = next((item for item in report.fields if item.name == agency), None)
        if spec is not None and Role.SCHOOL_POLICE.value in spec.choices:
            problems.append(
                f"its child abuse report step ({report.id}) accepts School Police as the "
                f"agency ({agency}), which PC 11165.9 excludes: list "
                f"{Role.SCHOOL_POLICE.value} under refused"
            )
    # A step or fact only a role SafeStep has no accounts for could never be resolved.
    acting = {
        role
        for pathway in definition.pathways
        for step in pathway.steps
        for role in step.actor_roles
    }
    acting |= {role for fact in definition.facts for role in fact.actor_roles}
    unknown = sorted(acting - set(Role.values))
    if unknown:
        problems.append(
            "it names roles this install has no accounts for: "
            + ", ".join(unknown)
            + " (SafeStep's roles: "
            + ", ".join(Role.values)
            + ")"
        )
    return problems


def protocol_activate(
    *, acting_user: User | None, protocol_id: str, version: str | None = None
) -> ProtocolVersion:
    """Make a loaded protocol the one new concerns and cases follow, and say which it is.

    VERSION names one of its loaded versions; without it, the most recently loaded one.
    Cases already open stay on the version they were opened with. Refused (ValidationFailed
    naming ``protocol`` or ``version``) for a protocol or version that is not loaded, and
    for a definition this install cannot run, with what is missing named: a step for each
    of ``REQUIRED_STEP_ROLES``, a child abuse report that does not take School Police as
    its agency, and only roles SafeStep has accounts for. ACTING_USER is None on
    the command line; a person needs the capability to manage protocols.
    """
    _require_manager(acting_user)
    protocol_id = (protocol_id or "").strip()
    version = version.strip() if version is not None else None
    loaded = ProtocolVersion.objects.filter(protocol_id=protocol_id)
    if not protocol_id or not loaded.exists():
        known = sorted(set(ProtocolVersion.objects.values_list("protocol_id", flat=True)))
        raise ValidationFailed(
            {
                "protocol": [
                    f"No protocol {protocol_id!r} is loaded; loaded: {', '.join(known) or 'none'}."
                ]
            }
        )
    if version is not None and not loaded.filter(version=version).exists():
        versions = sorted(set(loaded.values_list("version", flat=True)))
        raise ValidationFailed(
            {
                "version": [
                    f"Protocol {protocol_id} has no version {version!r} loaded; "
                    f"loaded: {', '.join(versions)}."
                ]
            }
        )
    stored = protocol_current(protocol_id, version)
    problems = _cannot_run(definition_of(stored))
    if problems:
        raise ValidationFailed(
            {
                "protocol": [
                    f"Protocol {protocol_id} {stored.version} cannot be activated: "
                    + "; ".join(problems)
                    + "."
                ]
            }
        )
    with transaction.atomic():
        now = timezone.now()
        row = ActiveProtocol.objects.select_for_update().filter(pk=ActiveProtocol.SINGLETON).first()
        previous = _active_or_none()
        if row is None:
            try:
                with transaction.atomic():
                    row = ActiveProtocol.objects.create(
                        pk=ActiveProtocol.SINGLETON,
                        version=stored,
                        activated_at=now,
                        activated_by=acting_user,
                    )
            except IntegrityError:
                # Another operator activated one at the same moment: this one wins, last.
                row = ActiveProtocol.objects.select_for_update().get(pk=ActiveProtocol.SINGLETON)
                previous = _active_or_none()
        row.version = stored
        row.activated_at = now
        row.activated_by = acting_user
        row.save(update_fields=["version", "activated_at", "activated_by"])
        event_record(
            actor=acting_user,
            action=Action.PROTOCOL_ACTIVATE,
            payload={
                "protocol": stored.protocol_id,
                "version": stored.version,
                "revision": stored.revision,
                "content_hash": stored.content_hash,
                "previous": (
                    f"{previous.protocol_id}@{previous.version}" if previous is not None else None
                ),
            },
        )
    return stored


def _active_or_none() -> ProtocolVersion | None:
    """The protocol version new cases followed until now, or None when none was loaded."""
    try:
        return protocol_active()
    except NotFound:
        return None

"""How a stored protocol version reads over the API and on the protocol page."""

from __future__ import annotations

from typing import Any

from safestep.core.errors import NotFound
from safestep.definitions.models import ProtocolVersion
from safestep.definitions.selectors import definition_of, protocol_active
from safestep.protocol import condition_to_data


def protocol_output(stored: ProtocolVersion) -> dict[str, Any]:
    definition = definition_of(stored)
    return {
        "id": definition.id,
        "version": definition.version,
        "title": definition.title,
        "jurisdiction": definition.jurisdiction,
        "content_hash": stored.content_hash,
        # Whether new concerns and cases follow this version (`safestep protocol activate`).
        "active": _is_active(stored),
        "facts": [{"id": fact.id, "question": fact.question} for fact in definition.facts],
        "pathways": [
            {
                "id": pathway.id,
                "code": pathway.code,
                "title": pathway.title,
                "steps": [
                    {
                        "id": step.id,
                        "number": step.number,
                        "code": step.code,
                        "title": step.title,
                        "actor_roles": list(step.actor_roles),
                        "condition": condition_to_data(step.condition),
                        "deadline": step.deadline.within_text if step.deadline else None,
                        "police_only": step.police_only,
                    }
                    for step in pathway.steps
                ],
            }
            for pathway in definition.pathways
        ],
    }


def _is_active(stored: ProtocolVersion) -> bool:
    try:
        return protocol_active().pk == stored.pk
    except NotFound:
        return False

"""Which protocol a case opens on, at triage, when the district has loaded more than one.

The choice is offered only then. Its first option (sent as an empty value) is the active
protocol, which ``cases.services.case_open`` uses when no protocol is named; every other
loaded protocol is offered by its id, which opens the case on that protocol's most recently
loaded version (the service's rule). The pathways triage lists are the active protocol's:
another protocol must name the chosen pathway too, or the case is refused next to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from safestep.core.errors import NotFound
from safestep.definitions.selectors import protocol_active, protocols_current


@dataclass(frozen=True)
class ProtocolOption:
    value: str  # "" for the active protocol
    label: str


def triage_protocol_options() -> list[ProtocolOption]:
    """The options, the active protocol first; none when there is nothing to choose."""
    newest = protocols_current()
    try:
        active = protocol_active()
    except NotFound:
        return []
    others = [stored for stored in newest if stored.pk != active.pk]
    if not others:
        return []
    options = [
        ProtocolOption(
            "",
            _("%(title)s, version %(version)s (active)")
            % {"title": active.title, "version": active.version},
        )
    ]
    options += [
        ProtocolOption(
            stored.protocol_id,
            _("%(title)s, version %(version)s")
            % {"title": stored.title, "version": stored.version},
        )
        for stored in others
    ]
    return options

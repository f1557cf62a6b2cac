"""Auditing switched off, inside a benchmark process only, to measure what it costs.

SafeStep itself has no way to turn auditing off: every service and every read records its
event, and nothing in settings or the environment changes that. This context manager
exists so ``safestep bench`` can time a case read and a step completion with and without
their events in one run. It replaces ``event_record`` in the modules of this one process
for the duration of the ``with`` block, and puts it back afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from safestep.audit import services as audit_services
from safestep.audit.models import Event


def _no_event(**kwargs: Any) -> Event:
    # An unsaved stand-in: callers that keep the returned event get a harmless object.
    return Event(seq=0, action=str(kwargs.get("action", "")))


@contextmanager
def auditing_disabled() -> Iterator[None]:
    real = audit_services.event_record
    patched: list[Any] = []
    for name, module in list(sys.modules.items()):
        if name.startswith("safestep.") and getattr(module, "event_record", None) is real:
            module.event_record = _no_event  # type: ignore[attr-defined]
            patched.append(module)
    try:
        yield
    finally:
        for module in patched:
            module.event_record = real

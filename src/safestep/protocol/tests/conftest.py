"""Fixtures for the protocol engine's tests (no Django needed)."""

from __future__ import annotations

import pytest

from safestep.protocol import Protocol
from safestep.protocol.tests.support import shipped_protocol


@pytest.fixture(scope="session")
def shipped() -> Protocol:
    """The shipped SDUSD protocol, loaded once."""
    return shipped_protocol()

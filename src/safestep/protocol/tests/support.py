"""Shared test data and helpers for the protocol engine's tests (no Django needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from safestep.protocol import Protocol, load_protocol_file, shipped_protocol_paths

SHIPPED_PATH = next(p for p in shipped_protocol_paths() if p.name == "sdusd-csec.yaml")
SHIPPED_TEXT = SHIPPED_PATH.read_text(encoding="utf-8")
_SHIPPED = load_protocol_file(SHIPPED_PATH)

# A small, valid definition that the loader tests break in one place at a time.
MINI = """\
protocol:
  id: test-protocol
  version: "1"
  title: Test protocol
  jurisdiction: Testland
  time_zone: America/Los_Angeles
roles: [admin, police]
facts:
  - id: danger
    question: Is there danger?
steps:
  - id: first
    title: First step
    actors: [admin]
    deadline: {from: case_opened_at, within: P1D}
    fields:
      - {name: agency, label: Agency, type: choice, required: true, choices: [a, b]}
  - id: second
    title: Second step
    actors: [police]
    depends_on: [first]
  - id: third
    title: Third step
    actors: [admin]
pathways:
  - id: one
    code: A
    title: Pathway one
    steps:
      - first
      - id: second
        condition: {fact: danger, is: true}
  - id: two
    code: B
    title: Pathway two
    steps: [first, second, third]
escalations:
  - from: one
    to: two
    carries: [first, second]
"""

T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # Monday 2 March 2026, 09:00 in San Diego


def shipped_protocol() -> Protocol:
    """The shipped protocol, for module-level use (e.g. building Hypothesis strategies)."""
    return _SHIPPED


def edit(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence of ``old``; fails loudly if it is not unique."""
    count = text.count(old)
    assert count == 1, f"expected {old!r} exactly once, found it {count} times"
    return text.replace(old, new)


def locate(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the start of the n-th occurrence of ``needle``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column

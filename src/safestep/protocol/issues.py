"""Problems found in a protocol definition, each pinned to a line and column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Issue:
    """One problem in a definition file. Line and column are 1-based."""

    source: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


class ProtocolInvalid(ValueError):
    """A definition has problems; ``issues`` lists every one found, sorted by position."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = sorted(set(issues))
        super().__init__("\n".join(str(issue) for issue in self.issues))

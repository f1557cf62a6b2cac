"""Errors that services raise and every front end (API, pages, commands) translates.

Services know nothing of HTTP; each error says what kind of refusal it is, and
:func:`http_status` is the one mapping of that kind to a status code, which the API
(problem+json) and the pages (messages next to fields) both answer with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class SafeStepError(Exception):
    """Base class for refusals a user can understand and act on."""

    title = "Request refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(SafeStepError):
    """Input is wrong; ``errors`` names each bad field (HTTP 400)."""

    title = "Invalid input"

    def __init__(self, errors: Mapping[str, Sequence[str]], detail: str | None = None) -> None:
        self.errors = {field: list(messages) for field, messages in errors.items()}
        first = next(iter(self.errors.items()), ("input", ["is invalid"]))
        super().__init__(detail or f"{first[0]}: {first[1][0]}")


class NotFound(SafeStepError):
    """Does not exist, or the user may not know it exists (HTTP 404)."""

    title = "Not found"


class PermissionDenied(SafeStepError):
    """The user may see this but their role may not do that (HTTP 403)."""

    title = "Not allowed"


class Conflict(SafeStepError):
    """The request clashes with the current state: stale version, closed case (HTTP 409)."""

    title = "Conflict"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.extra = extra


class StaleVersion(Conflict):
    title = "Stale version"


# The one mapping from a kind of refusal to an HTTP status, for the API and the pages alike.
# Most specific first: StaleVersion is a Conflict.
HTTP_STATUS: tuple[tuple[type[SafeStepError], int], ...] = (
    (ValidationFailed, 400),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
)


def http_status(error: SafeStepError) -> int:
    """The status code that answers ERROR: 400, 403, 404 or 409."""
    return next(code for kind, code in HTTP_STATUS if isinstance(error, kind))

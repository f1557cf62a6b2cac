"""Shared behaviour of SafeStep's management commands.

Expected failures become one line on stderr and an exit code (2 for wrong input, as argparse
does; 1 otherwise); only real bugs show a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.management.base import CommandError

from safestep.core.errors import SafeStepError, ValidationFailed

Handler = TypeVar("Handler", bound=Callable[..., Any])


def one_line_errors(handler: Handler) -> Handler:
    @wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except ValidationFailed as error:
            problems = "; ".join(
                f"{field}: {message}"
                for field, messages in error.errors.items()
                for message in messages
            )
            raise CommandError(problems, returncode=2) from None
        except SafeStepError as error:
            raise CommandError(error.detail, returncode=1) from None

    return wrapper  # type: ignore[return-value]

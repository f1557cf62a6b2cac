"""The `safestep` console script: Django's management entry point with our settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safestep.settings")
    from safestep.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as error:
        # A bad setting is an operator's typo, not a crash: one line, no traceback.
        print(f"safestep: configuration error: {error}", file=sys.stderr)
        raise SystemExit(1) from None

    from django.core.management import execute_from_command_line

    execute_from_command_line(["safestep", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()

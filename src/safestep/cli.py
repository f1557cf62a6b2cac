"""The `safestep` console script: Django's management entry point with our settings."""

from __future__ import annotations

import os
import sys

# The benchmark's commands (a development tool: src/safestep_bench in a source checkout)
# switch bench mode on for their own process, which loads the benchmark app if it is there.
BENCH_COMMANDS = ("bench", "seed-bench")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safestep.settings")
    if args[:1] and args[0] in BENCH_COMMANDS:
        os.environ.setdefault("SAFESTEP_BENCH", "true")
    from safestep.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as error:
        # A bad setting is an operator's typo, not a crash: one line, no traceback.
        print(f"safestep: configuration error: {error}", file=sys.stderr)
        raise SystemExit(1) from None

    from django.core.management import execute_from_command_line

    execute_from_command_line(["safestep", *args])


if __name__ == "__main__":
    main()

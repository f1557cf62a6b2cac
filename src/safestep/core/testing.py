"""Helpers for tests that run the `safestep` command in a throw-away install."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def install_runner(data_dir: Path, *, umask: int | None = None) -> Callable[..., str]:
    """A function that runs `safestep ARGS...` on the embedded database in DATA_DIR and
    returns what it printed, failing the test (with its stderr) when it exits non-zero."""
    env = {**os.environ, "SAFESTEP_DATA_DIR": str(data_dir)}
    # As on a new install: none of the test run's database, settings, keys or bench mode.
    for name in (
        "DATABASE_URL",
        "DJANGO_SETTINGS_MODULE",
        "SAFESTEP_ENCRYPTION_KEYS",
        "SAFESTEP_BENCH",
    ):
        env.pop(name, None)

    def run(*args: str) -> str:
        # The arguments are the test's own: nothing from outside reaches the command.
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "safestep", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            umask=-1 if umask is None else umask,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run

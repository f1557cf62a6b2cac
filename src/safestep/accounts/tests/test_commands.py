"""The account commands, run as an operator runs them: the real `safestep` program."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def safestep(tmp_path_factory):
    """Run `safestep ...` against a fresh embedded install of its own."""
    data_dir: Path = tmp_path_factory.mktemp("install")
    env = {**os.environ, "SAFESTEP_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "safestep", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    migrated = run("migrate", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr
    return run


def test_it_adds_a_school_and_a_user_with_a_one_time_password(safestep):
    assert safestep("school", "add", "LIN", "Lincoln High School").returncode == 0
    added = safestep(
        "user",
        "add",
        "couns_lin",
        "--role",
        "counselor",
        "--school",
        "LIN",
        "--email",
        "c@example.org",
    )
    assert added.returncode == 0, added.stderr
    lines = added.stdout.strip().splitlines()
    assert lines[0] == "created couns_lin (counselor)"
    assert lines[1].startswith("one-time password: ") and len(lines[1]) > 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "janitor"], "invalid choice: 'janitor'"),
        (["--role", "counselor", "--school", "NOPE"], "school: unknown school code: NOPE"),
        (["--role", "counselor"], "school: a counselor needs at least one --school"),
        (["--role", "reporter", "--email", "not-an-address"], "email:"),
    ],
)
def test_it_exits_2_with_one_line_on_bad_user_input(safestep, args, message):
    result = safestep("user", "add", "someone", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert safestep("user", "token", "someone").returncode == 1


def test_it_refuses_a_duplicate_user_with_exit_1(safestep):
    assert safestep("user", "add", "dup", "--role", "reporter").returncode == 0
    again = safestep("user", "add", "dup", "--role", "reporter")
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == ["CommandError: user dup already exists"]


def test_it_prints_the_same_token_until_it_is_revoked(safestep):
    safestep("user", "add", "police1", "--role", "school_police")
    first = safestep("user", "token", "police1").stdout.strip()
    assert len(first) == 40
    assert safestep("user", "token", "police1").stdout.strip() == first
    assert safestep("user", "revoke-token", "police1").stdout.strip() == "token revoked"
    assert safestep("user", "token", "police1").stdout.strip() != first

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


def test_it_prints_a_token_once_then_says_how_to_replace_it(safestep):
    safestep("user", "add", "police1", "--role", "school_police")
    made = safestep("user", "token", "police1")
    assert made.returncode == 0, made.stderr
    first = made.stdout.strip()
    assert len(first) == 40 and "shown once" in made.stderr

    again = safestep("user", "token", "police1")
    assert again.returncode == 1 and again.stdout == ""
    (line,) = again.stderr.strip().splitlines()
    assert f"police1 already has an API token ({first[:8]}..." in line
    assert "cannot be shown again" in line and "--rotate" in line and first not in line

    rotated = safestep("user", "token", "police1", "--rotate")
    assert rotated.returncode == 0 and rotated.stdout.strip() not in ("", first)
    assert safestep("user", "revoke-tokens", "police1").stdout.strip() == "token revoked"
    assert safestep("user", "revoke-token", "police1").stdout.strip() == "no token to revoke"
    assert safestep("user", "token", "police1").stdout.strip() not in ("", first)


@pytest.fixture(scope="module")
def police2(safestep):
    assert safestep("user", "add", "police2", "--role", "school_police").returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["role", "police2", "janitor"], 2, "invalid choice: 'janitor'"),
        (["role", "police2", "counselor"], 2, "a counselor needs at least one school"),
        (["role", "ghost", "auditor"], 1, "no user ghost"),
        (["schools", "police2"], 2, "the following arguments are required: CODE"),
        (["schools", "police2", "NOPE"], 2, "unknown school code: NOPE"),
        (["deactivate", "ghost"], 1, "no user ghost"),
        (["revoke-sessions"], 2, "give a USERNAME or --all"),
        (["revoke-tokens", "ghost"], 1, "no user ghost"),
        (["token", "ghost", "--rotate"], 1, "no active user ghost"),
    ],
)
def test_it_answers_bad_account_commands_with_one_line(safestep, police2, args, code, message):
    result = safestep("user", *args)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    # The reason is one line, the last (argparse puts its usage before it).
    assert message in result.stderr.strip().splitlines()[-1]


def test_it_deactivates_moves_and_promotes_a_user(safestep):
    safestep("school", "add", "ROO", "Roosevelt Middle School")
    safestep("user", "add", "teacher1", "--role", "reporter", "--school", "LIN")
    assert safestep("user", "schools", "teacher1", "ROO", "LIN").stdout.strip() == (
        "teacher1 works at LIN, ROO"
    )
    assert safestep("user", "role", "teacher1", "counselor").stdout.strip() == (
        "teacher1 is now counselor"
    )
    safestep("user", "token", "teacher1")
    deactivated = safestep("user", "deactivate", "teacher1")
    assert deactivated.returncode == 0, deactivated.stderr
    assert deactivated.stdout.strip() == (
        "teacher1 deactivated; its API token revoked, 0 sessions ended"
    )
    assert safestep("user", "token", "teacher1").returncode == 1

"""`safestep keys`, run as an operator runs it, on an embedded install with demo data."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from safestep import config

READ_SUMMARIES = (
    "from safestep.cases.models import Case; "
    "print('|'.join(sorted(case.summary for case in Case.objects.all())))"
)


def runner(data_dir: Path):
    base_env = {**os.environ, "SAFESTEP_DATA_DIR": str(data_dir)}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SAFESTEP_ENCRYPTION_KEYS"):
        base_env.pop(name, None)

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "safestep", *args],
            env={**base_env, **extra_env},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    run.data_dir = data_dir  # type: ignore[attr-defined]
    return run


@pytest.fixture(scope="module")
def demo_install(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo") / "install"
    run = runner(data_dir)
    for command in (("migrate", "--verbosity", "0"), ("demo",)):
        done = run(*command)
        assert done.returncode == 0, done.stderr
    return data_dir


@pytest.fixture
def install(demo_install, tmp_path):
    """A copy of one demo install per test: each test may rotate keys as it likes."""
    data_dir = tmp_path / "install"
    shutil.copytree(demo_install, data_dir)
    return runner(data_dir)


def test_it_rotates_the_key_and_reencrypts_everything_with_a_progress_bar(install):
    before = install("shell", "-c", READ_SUMMARIES)
    assert before.returncode == 0 and "hotel key card" in before.stdout
    status = install("keys", "status")
    assert "current key: k1" in status.stdout

    rotated = install("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "new current key k2" in rotated.stdout
    assert "re-encrypting with k2" in rotated.stderr and "100%" in rotated.stderr

    key_file: Path = install.data_dir / "encryption_keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ids = [key_id for key_id, _ in config.parse_encryption_keys("test", key_file.read_text())]
    assert ids == ["k2", "k1"]
    after = install("keys", "status").stdout
    assert "current key: k2; configured: k2, k1" in after
    assert "k1               0 values" in after
    assert install("shell", "-c", READ_SUMMARIES).stdout == before.stdout


def test_it_resumes_and_touches_only_values_not_under_the_current_key(install):
    key_file: Path = install.data_dir / "encryption_keys"
    entry = install("keys", "new").stdout.strip()
    assert entry.startswith("k2:")
    # The keys now come from the environment, the new one first: as after an operator
    # put the new key in place and restarted, before (or halfway through) re-encrypting.
    keys = f"{entry}\n{key_file.read_text()}"
    first = install("keys", "reencrypt", "--batch-size", "2", SAFESTEP_ENCRYPTION_KEYS=keys)
    assert first.returncode == 0, first.stderr
    moved = int(first.stdout.split()[0])
    assert moved > 0
    again = install("keys", "reencrypt", SAFESTEP_ENCRYPTION_KEYS=keys)
    assert again.stdout.startswith("0 values re-encrypted")
    readable = install("shell", "-c", READ_SUMMARIES, SAFESTEP_ENCRYPTION_KEYS=keys)
    assert "hotel key card" in readable.stdout


def test_it_refuses_to_rotate_keys_that_live_in_the_environment(install):
    key_file: Path = install.data_dir / "encryption_keys"
    refused = install("keys", "rotate", SAFESTEP_ENCRYPTION_KEYS=key_file.read_text())
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "SAFESTEP_ENCRYPTION_KEYS" in refused.stderr and "keys new" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_it_says_which_key_is_missing_instead_of_a_traceback(install):
    other = config.format_encryption_keys([("k9", os.urandom(32))])
    broken = install("keys", "reencrypt", SAFESTEP_ENCRYPTION_KEYS=other)
    assert broken.returncode == 1
    assert "key 'k1'" in broken.stderr and "not in SAFESTEP_ENCRYPTION_KEYS" in broken.stderr
    assert "Traceback" not in broken.stderr

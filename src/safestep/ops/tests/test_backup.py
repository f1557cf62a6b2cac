from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from safestep.ops.backup import FORMAT, MANIFEST, BackupError, backup_create, backup_restore


def _archive(path: Path, manifest: dict, members: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {MANIFEST: json.dumps(manifest).encode(), **(members or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_it_refuses_to_overwrite_a_file(tmp_path):
    existing = tmp_path / "backup.tar.gz"
    existing.write_text("keep me")

    with pytest.raises(BackupError, match="already exists"):
        backup_create(existing)
    assert existing.read_text() == "keep me"


def test_it_refuses_a_file_that_is_not_a_backup(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar file")

    with pytest.raises(CommandError, match="cannot read"):
        call_command("restore", str(junk))


def test_it_refuses_an_archive_without_a_manifest(tmp_path):
    path = tmp_path / "other.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("hello.txt")
        tar.addfile(info, io.BytesIO(b""))

    with pytest.raises(BackupError, match="not a SafeStep backup"):
        backup_restore(path)


@pytest.mark.django_db
def test_it_restores_only_into_an_empty_install(tmp_path, district):
    manifest = {
        "format": FORMAT,
        "database": {"vendor": connection.vendor, "member": "database/x", "tables": {}},
        "files": {},
    }
    path = _archive(tmp_path / "backup.tar.gz", manifest)

    with pytest.raises(BackupError, match="needs an empty install"):
        backup_restore(path)


@pytest.mark.django_db
def test_it_refuses_a_backup_of_another_kind_of_database(tmp_path):
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    manifest = {
        "format": FORMAT,
        "database": {"vendor": other, "member": "x", "tables": {}},
        "files": {},
    }
    path = _archive(tmp_path / "backup.tar.gz", manifest)

    with pytest.raises(BackupError, match=f"holds a {other} database"):
        backup_restore(path)


# --- as an operator runs it: the real `safestep` program on an embedded install ---------

READ_BACK = (
    "from safestep.cases.models import Case; from django.contrib.sessions.models import Session; "
    "print(len([c.summary for c in Case.objects.all() if c.summary]), Session.objects.count())"
)
MAKE_SESSION = (
    "from importlib import import_module; from django.conf import settings; "
    "from safestep.accounts.models import User; "
    "store = import_module(settings.SESSION_ENGINE).SessionStore(); "
    "store['_auth_user_id'] = str(User.objects.get(username='reporter').pk); "
    "store.create(); print(store.session_key)"
)


def runner(data_dir: Path):
    env = {**os.environ, "SAFESTEP_DATA_DIR": str(data_dir)}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SAFESTEP_ENCRYPTION_KEYS"):
        env.pop(name, None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "safestep", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    return run


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A demo install with a live web session, backed up once apart and once --with-keys."""
    root = tmp_path_factory.mktemp("source")
    run = runner(root / "install")
    for command in (("migrate", "--verbosity", "0"), ("demo",)):
        done = run(*command)
        assert done.returncode == 0, done.stderr
    session_key = run("shell", "-c", MAKE_SESSION).stdout.strip().splitlines()[-1]
    apart = run("backup", str(root / "apart.tar.gz"))
    inside = run("backup", "--with-keys", str(root / "inside.tar.gz"))
    assert apart.returncode == 0 and inside.returncode == 0, apart.stderr + inside.stderr
    return {
        "root": root,
        "keys": (root / "install" / "encryption_keys").read_text().strip(),
        "session_key": session_key,
        "apart": apart,
        "inside": inside,
    }


def archive_contents(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {
            member.name: tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar.getmembers()
            if member.isfile()
        }


def moved(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    return path.rename(folder / path.name)


def test_it_writes_the_keys_apart_from_the_backup_and_says_where(source):
    root = source["root"]
    lines = source["apart"].stdout.strip().splitlines()
    assert lines[0].startswith(f"backup written to {root / 'apart.tar.gz'}: ")
    assert lines[1] == (
        f"key material written to {root / 'apart.tar.gz.keys'}: store it apart from the "
        f"backup (restore with --keys {root / 'apart.tar.gz.keys'})"
    )
    backup = archive_contents(root / "apart.tar.gz")
    keys = archive_contents(root / "apart.tar.gz.keys")
    assert not [name for name in backup if name.startswith("keys/")]
    assert {"keys/secret_key", "keys/encryption_keys"} <= set(keys)
    secret = source["keys"].split(":", 1)[1].encode()
    assert not [name for name, data in backup.items() if secret in data]
    assert secret in keys["keys/encryption_keys"]
    for path in (root / "apart.tar.gz", root / "apart.tar.gz.keys"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_it_leaves_web_sessions_out_of_the_backup(source):
    database = archive_contents(source["root"] / "apart.tar.gz")["database/safestep.sqlite3"]
    assert len(source["session_key"]) == 32
    assert source["session_key"].encode() not in database


def test_it_restores_with_the_keys_file_given_apart(source, tmp_path):
    keys = moved(source["root"] / "apart.tar.gz.keys", tmp_path / "vault")
    try:
        run = runner(tmp_path / "restored")
        without = run("restore", str(source["root"] / "apart.tar.gz"))
        assert without.returncode == 1 and "Traceback" not in without.stderr
        assert without.stderr.strip().splitlines()[-1] == (
            "CommandError: this backup's keys were written apart, to apart.tar.gz.keys: "
            "give that file with --keys FILE (or configure SAFESTEP_SECRET_KEY, "
            "SAFESTEP_ENCRYPTION_KEYS)"
        )
        restored = run("restore", str(source["root"] / "apart.tar.gz"), "--keys", str(keys))
        assert restored.returncode == 0, restored.stderr
        summaries, sessions = run("shell", "-c", READ_BACK).stdout.splitlines()[-1].split()
        assert int(summaries) > 0 and sessions == "0"
    finally:
        moved(keys, source["root"])


def test_it_finds_the_keys_file_beside_the_backup(source, tmp_path):
    run = runner(tmp_path / "restored")
    restored = run("restore", str(source["root"] / "apart.tar.gz"))
    assert restored.returncode == 0, restored.stderr
    assert "using the keys in" in restored.stderr
    assert int(run("shell", "-c", READ_BACK).stdout.splitlines()[-1].split()[0]) > 0


def test_it_refuses_the_keys_of_another_backup(source, tmp_path):
    run = runner(tmp_path / "restored")
    other = source["root"] / "other.tar.gz"
    made = runner(source["root"] / "install")("backup", str(other))
    assert made.returncode == 0, made.stderr
    refused = run("restore", str(source["root"] / "apart.tar.gz"), "--keys", f"{other}.keys")
    assert refused.returncode == 1
    assert "holds the keys of another backup" in refused.stderr
    swapped = run("restore", f"{other}.keys")
    assert swapped.returncode == 1 and "is the keys file of a backup" in swapped.stderr


def test_it_puts_the_keys_inside_only_when_asked_and_says_so(source, tmp_path):
    root = source["root"]
    lines = source["inside"].stdout.strip().splitlines()
    assert lines[1].startswith(f"key material is INSIDE {root / 'inside.tar.gz'} (--with-keys)")
    assert not (root / "inside.tar.gz.keys").exists()
    assert "keys/encryption_keys" in archive_contents(root / "inside.tar.gz")
    run = runner(tmp_path / "restored")
    refused = run("restore", str(root / "inside.tar.gz"), "--keys", str(root / "apart.tar.gz.keys"))
    assert refused.returncode == 1 and "leave out --keys" in refused.stderr
    restored = run("restore", str(root / "inside.tar.gz"))
    assert restored.returncode == 0, restored.stderr
    assert int(run("shell", "-c", READ_BACK).stdout.splitlines()[-1].split()[0]) > 0


def test_it_refuses_to_overwrite_a_keys_file(source):
    root = source["root"]
    (root / "taken.tar.gz.keys").write_text("keep me")
    refused = runner(root / "install")("backup", str(root / "taken.tar.gz"))
    assert refused.returncode == 1 and "taken.tar.gz.keys already exists" in refused.stderr
    assert not (root / "taken.tar.gz").exists()

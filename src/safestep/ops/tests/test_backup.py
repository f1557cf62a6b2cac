from __future__ import annotations

import io
import json
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

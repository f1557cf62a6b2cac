"""Online backup and restore: the database and attachments, and the key material apart.

A backup is a gzip'd tar file, owner-only (0600), holding ``manifest.json`` (what is in it,
with a SHA-256 per file, row counts per table and the end of the audit trail) and:

- ``database/safestep.sqlite3``: a consistent copy made with SQLite's online backup API,
  or ``database/safestep.pgdump``: ``pg_dump --format=custom`` of one exported snapshot,
  the same snapshot the manifest's counts were taken from. Both keep every row exactly
  as stored (the audit chain's hashes cover stored values, so a dump that re-serialized
  them could break it);
- ``attachments/``: the encrypted attachment files;
- ``audit/audit-checkpoints.jsonl``: the signed checkpoints kept outside the database.

The key material (the secret key, encryption keys and audit checkpoint key, where they are
files) goes to a second archive beside it, ``PATH.keys`` (0600, its own manifest naming the
backup it belongs to), so that the database backup alone is useless to whoever finds it:
store the two apart. ``--with-keys`` puts the keys inside the one archive instead, as
``keys/``. Web sessions are left out (their keys would sign someone in): after a restore
everyone signs in again.

The order is deliberate, for a backup taken while SafeStep runs: the checkpoint file is
copied first (every checkpoint in it names an event the later database snapshot holds),
attachments after the snapshot (every attachment row in it has its file), keys last (keys
are only ever added, so every value in the snapshot can be decrypted).

Restore goes into an empty install only: a database without tables, no attachments and no
checkpoint file. It checks every file against the manifest before it writes anything, and
afterwards compares row counts and verifies the audit trail.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, transaction

from safestep.audit.chain import checkpoint_file
from safestep.audit.selectors import audit_verify
from safestep.core.errors import SafeStepError

FORMAT = 2
# Format 1 (keys always inside, sessions included) is still restored.
READABLE_FORMATS = (1, 2)
KEYS_FORMAT = 1
KEYS_SUFFIX = ".keys"
MANIFEST = "manifest.json"
SESSION_TABLE = "django_session"
SQLITE_MEMBER = "database/safestep.sqlite3"
PGDUMP_MEMBER = "database/safestep.pgdump"
CHECKPOINTS_MEMBER = "audit/audit-checkpoints.jsonl"
# Key files: (member name, environment variable, file name in the data directory).
KEY_FILES = (
    ("keys/secret_key", "SAFESTEP_SECRET_KEY", "secret_key"),
    ("keys/encryption_keys", "SAFESTEP_ENCRYPTION_KEYS", "encryption_keys"),
    ("keys/audit_key", "SAFESTEP_AUDIT_KEY", "audit_key"),
)


KEY_MEMBERS = frozenset(member for member, _, _ in KEY_FILES)


class BackupError(SafeStepError):
    title = "Backup or restore refused"


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    tables: dict[str, int]
    files: int
    audit_last_seq: int
    notes: list[str]
    # Where the key material went: PATH.keys, PATH itself (--with-keys), or None (no key
    # files: every key comes from the environment).
    keys_path: Path | None = None

    def describe(self) -> str:
        cases = self.tables.get("cases_case", 0)
        events = self.tables.get("audit_event", 0)
        return (
            f"backup written to {self.path}: {cases} cases, {events} audit events "
            f"(last #{self.audit_last_seq}), {self.files} files"
        )

    def describe_keys(self) -> str:
        if self.keys_path is None:
            return "no key files to back up: every key is set in the environment; keep it safe"
        if self.keys_path == self.path:
            return (
                f"key material is INSIDE {self.path} (--with-keys): "
                "store it as carefully as the keys themselves"
            )
        return (
            f"key material written to {self.keys_path}: store it apart from the backup "
            f"(restore with --keys {self.keys_path})"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _safestep_version() -> str:
    try:
        return version("safestep")
    except PackageNotFoundError:
        return "unknown"


def _tables() -> list[str]:
    return sorted({model._meta.db_table for model in apps.get_models() if model._meta.managed})


def _copy_private(source: Path, target: Path) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)


def _key_source(variable: str, file_name: str) -> Path | str | None:
    """Where a key comes from: a file (Path), the environment ("environment"), or nowhere."""
    if os.environ.get(variable):
        return "environment"
    configured = os.environ.get(f"{variable}_FILE")
    path = Path(configured) if configured else Path(settings.DATA_DIR) / file_name
    return path if path.exists() else None


# --- taking a backup ------------------------------------------------------------------


def _snapshot_sqlite(staging: Path) -> tuple[str, dict[str, int], tuple[int, str]]:
    target = staging / SQLITE_MEMBER
    target.parent.mkdir(parents=True)
    source = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]), timeout=30)
    copy = sqlite3.connect(str(target))
    try:
        # The online backup API copies a consistent state, WAL included, while others write.
        source.backup(copy)
    finally:
        source.close()
    try:
        existing = {row[0] for row in copy.execute("SELECT name FROM sqlite_master")}
        if SESSION_TABLE in existing:
            # Overwrite the rows, not just unlink them: the file must not hold session keys.
            copy.execute("PRAGMA secure_delete = ON")
            copy.execute(f'DELETE FROM "{SESSION_TABLE}"')  # noqa: S608
            copy.commit()
        counts = {
            table: int(copy.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])  # noqa: S608
            for table in _tables()
            if table in existing
        }
        tail = copy.execute(
            "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    finally:
        copy.close()
    os.chmod(target, 0o600)
    return SQLITE_MEMBER, counts, (int(tail[0]), str(tail[1])) if tail else (0, "")


def _pg_environment() -> tuple[list[str], dict[str, str]]:
    database = settings.DATABASES["default"]
    arguments = [f"--dbname={database['NAME']}"]
    if database.get("HOST"):
        arguments.append(f"--host={database['HOST']}")
    if database.get("PORT"):
        arguments.append(f"--port={database['PORT']}")
    if database.get("USER"):
        arguments.append(f"--username={database['USER']}")
    env = dict(os.environ)
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    return arguments, env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client tools (e.g. postgresql-client)"
        )
    return found


def _snapshot_postgres(staging: Path) -> tuple[str, dict[str, int], tuple[int, str]]:
    target = staging / PGDUMP_MEMBER
    target.parent.mkdir(parents=True)
    tool = _pg_tool("pg_dump")
    arguments, env = _pg_environment()
    with transaction.atomic(), connection.cursor() as cursor:
        # One snapshot for the dump and the counts: they describe exactly the same rows.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = str(cursor.fetchone()[0])
        done = subprocess.run(  # noqa: S603
            [
                tool,
                *arguments,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--exclude-table-data={SESSION_TABLE}",
                f"--file={target}",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip().splitlines()[-1:]}")
        cursor.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
        )
        existing = {row[0] for row in cursor.fetchall()}
        counts = {}
        for table in _tables():
            if table == SESSION_TABLE and table in existing:
                counts[table] = 0  # its rows are left out of the dump
            elif table in existing:
                cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608
                counts[table] = int(cursor.fetchone()[0])
        cursor.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
        tail = cursor.fetchone()
    os.chmod(target, 0o600)
    return PGDUMP_MEMBER, counts, (int(tail[0]), str(tail[1])) if tail else (0, "")


def _files_manifest(staging: Path, members: list[str]) -> dict[str, dict[str, Any]]:
    return {
        member: {"sha256": _sha256(staging / member), "size": (staging / member).stat().st_size}
        for member in members
    }


def _write_archive(path: Path, manifest: dict[str, Any], staging: Path, members: list[str]) -> None:
    """Write the tar.gz at PATH (0600) atomically: complete, or not there at all."""
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            encoded = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(encoded), 0o600
            tar.addfile(info, io.BytesIO(encoded))
            for member in members:
                tar.add(staging / member, arcname=member, recursive=False)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def keys_path_for(path: Path) -> Path:
    return path.with_name(path.name + KEYS_SUFFIX)


def _snapshot_database(staging: Path) -> tuple[str, dict[str, int], tuple[int, str]]:
    if connection.vendor == "sqlite":
        return _snapshot_sqlite(staging)
    if connection.vendor == "postgresql":
        return _snapshot_postgres(staging)
    raise BackupError(f"cannot back up a {connection.vendor} database")


def _stage_attachments(staging: Path) -> list[str]:
    """Copy the stored attachments into STAGING; their archive member names."""
    members: list[str] = []
    attachments = Path(settings.ATTACHMENTS_DIR)
    if not attachments.is_dir():
        return members
    for item in sorted(attachments.iterdir()):
        # Dot-files are uploads still being written; their rows do not exist yet.
        if item.is_file() and not item.name.startswith("."):
            member = f"attachments/{item.name}"
            _copy_private(item, staging / member)
            members.append(member)
    return members


def _stage_keys(
    staging: Path, *, with_keys: bool, notes: list[str]
) -> tuple[dict[str, str], list[str]]:
    """Copy the key files into STAGING: what the manifest says of each key, and the members."""
    keys: dict[str, str] = {}
    key_members: list[str] = []
    for member, variable, file_name in KEY_FILES:
        source = _key_source(variable, file_name)
        if isinstance(source, Path):
            _copy_private(source, staging / member)
            key_members.append(member)
            keys[member] = "included" if with_keys else "in the keys file"
        elif source == "environment":
            keys[member] = "set in the environment: not included, keep it with the backup"
            notes.append(f"{variable} comes from the environment and is not in the backup")
        else:
            keys[member] = "none"
    return keys, key_members


def backup_create(path: Path, *, with_keys: bool = False) -> BackupSummary:
    """Write a backup archive to PATH (which must not exist yet).

    The key material goes to PATH.keys, unless WITH_KEYS puts it inside PATH.
    """
    path = path.expanduser().resolve()
    keys_path = keys_path_for(path)
    for target in (path,) if with_keys else (path, keys_path):
        if target.exists():
            raise BackupError(f"{target} already exists; choose a new file name")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory")
    notes: list[str] = []
    backup_id = uuid.uuid4().hex
    created_at = datetime.now(UTC).isoformat()
    with tempfile.TemporaryDirectory(prefix="safestep-backup-") as temporary:
        staging = Path(temporary)
        os.chmod(staging, 0o700)
        members: list[str] = []
        checkpoints = checkpoint_file()
        if checkpoints.exists():
            _copy_private(checkpoints, staging / CHECKPOINTS_MEMBER)
            members.append(CHECKPOINTS_MEMBER)
        database_member, counts, tail = _snapshot_database(staging)
        members.insert(0, database_member)
        members.extend(_stage_attachments(staging))
        keys, key_members = _stage_keys(staging, with_keys=with_keys, notes=notes)
        if with_keys:
            members.extend(key_members)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "id": backup_id,
            "safestep_version": _safestep_version(),
            "created_at": created_at,
            "database": {
                "vendor": connection.vendor,
                "member": database_member,
                "tables": counts,
                "audit": {"last_seq": tail[0], "last_hash": tail[1]},
                "sessions": "left out",
            },
            "keys": keys,
            "keys_file": keys_path.name if key_members and not with_keys else None,
            "files": _files_manifest(staging, members),
        }
        if key_members and not with_keys:
            # The keys first: a backup whose keys are missing is worse than no backup.
            _write_archive(
                keys_path,
                {
                    "format": KEYS_FORMAT,
                    "kind": "keys",
                    "backup_id": backup_id,
                    "backup_file": path.name,
                    "created_at": created_at,
                    "files": _files_manifest(staging, key_members),
                },
                staging,
                key_members,
            )
        try:
            _write_archive(path, manifest, staging, members)
        except BaseException:
            if key_members and not with_keys:
                keys_path.unlink(missing_ok=True)
            raise
    written_keys = None
    if key_members:
        written_keys = path if with_keys else keys_path
    return BackupSummary(path, counts, len(members) - 1, tail[0], notes, written_keys)


# --- restoring ------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreSummary:
    tables: dict[str, int]
    files: int
    audit: str
    notes: list[str]

    def describe(self) -> str:
        return (
            f"restored {self.tables.get('cases_case', 0)} cases and "
            f"{self.tables.get('audit_event', 0)} audit events, {self.files} files; {self.audit}"
        )


@contextmanager
def _archive(path: Path, what: str) -> Iterator[tuple[tarfile.TarFile, dict[str, Any]]]:
    """The archive at PATH and its manifest; WHAT names it in errors ("backup", "keys file")."""
    try:
        tar = tarfile.open(path, mode="r:gz")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as error:
        raise BackupError(f"cannot read {path}: {error}") from None
    with tar:
        try:
            extracted = tar.extractfile(MANIFEST)
            if extracted is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(extracted.read())
        except (KeyError, ValueError):
            raise BackupError(f"{path} is not a SafeStep {what} (no readable manifest)") from None
        yield tar, manifest


@contextmanager
def _opened(path: Path) -> Iterator[tuple[tarfile.TarFile, dict[str, Any]]]:
    with _archive(path, "backup") as (tar, manifest):
        if manifest.get("kind") == "keys":
            raise BackupError(
                f"{path} is the keys file of a backup: restore the backup, and give this "
                "file with --keys"
            )
        if manifest.get("format") not in READABLE_FORMATS:
            raise BackupError(
                f"{path} has backup format {manifest.get('format')}; expected {FORMAT}"
            )
        yield tar, manifest


@contextmanager
def _opened_keys(
    path: Path, backup: dict[str, Any]
) -> Iterator[tuple[tarfile.TarFile, dict[str, Any]]]:
    """The keys archive at PATH, checked to belong to the backup whose manifest is BACKUP."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    with _archive(path, "keys file") as (tar, manifest):
        if manifest.get("kind") != "keys" or manifest.get("format") != KEYS_FORMAT:
            raise BackupError(f"{path} is not a SafeStep keys file")
        if manifest.get("backup_id") != backup.get("id"):
            raise BackupError(
                f"{path} holds the keys of another backup (made {manifest.get('created_at')}); "
                f"this backup was made {backup.get('created_at')}"
            )
        unknown = [name for name in manifest["files"] if name not in KEY_MEMBERS]
        if unknown:
            raise BackupError(f"the keys file names an unexpected file: {unknown[0]}")
        yield tar, manifest


def _database_is_empty() -> tuple[bool, str]:
    database = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        name = Path(str(database["NAME"]))
        if not name.exists() or name.stat().st_size == 0:
            return True, str(name)
        # Read-only: looking must not create or change anything.
        probe = sqlite3.connect(f"file:{name}?mode=ro", uri=True)
        try:
            tables = probe.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
        finally:
            probe.close()
        return tables == 0, str(name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
        )
        tables = cursor.fetchone()[0]
    return tables == 0, f"database {database['NAME']}"


def _check_empty_target(manifest: dict[str, Any]) -> None:
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            f"this backup holds a {vendor} database but DATABASE_URL points at {connection.vendor}"
        )
    empty, where = _database_is_empty()
    if not empty:
        raise BackupError(f"restore needs an empty install: {where} already has tables")
    attachments = Path(settings.ATTACHMENTS_DIR)
    if attachments.is_dir() and any(attachments.iterdir()):
        raise BackupError(f"restore needs an empty install: {attachments} holds files")
    checkpoints = checkpoint_file()
    if checkpoints.exists() and checkpoints.stat().st_size:
        raise BackupError(f"restore needs an empty install: {checkpoints} exists")


def _verified_members(tar: tarfile.TarFile, manifest: dict[str, Any], staging: Path) -> None:
    """Extract every file the manifest lists into STAGING, checking size and SHA-256."""
    for member, expected in manifest["files"].items():
        if member.startswith("/") or ".." in Path(member).parts:
            raise BackupError(f"the backup names an unsafe path: {member}")
        try:
            source = tar.extractfile(member)
        except KeyError:
            source = None
        if source is None:
            raise BackupError(f"the backup is missing {member}")
        target = staging / member
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                shutil.copyfileobj(source, out)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise BackupError(f"cannot read {member} from the backup: {error}") from None
        if target.stat().st_size != expected["size"] or _sha256(target) != expected["sha256"]:
            raise BackupError(f"{member} does not match its checksum: the backup is damaged")


def _restore_database(staging: Path, manifest: dict[str, Any]) -> None:
    member = manifest["database"]["member"]
    connections.close_all()
    if connection.vendor == "sqlite":
        name = Path(str(settings.DATABASES["default"]["NAME"]))
        for leftover in (name, Path(f"{name}-wal"), Path(f"{name}-shm")):
            leftover.unlink(missing_ok=True)
        name.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(str(staging / member))
        target = sqlite3.connect(str(name))
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        os.chmod(name, 0o600)
        return
    tool = _pg_tool("pg_restore")
    arguments, env = _pg_environment()
    done = subprocess.run(  # noqa: S603
        [
            tool,
            *arguments,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            str(staging / member),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BackupError(f"pg_restore failed: {last}")


def _write_private(source: Path, target: Path) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.restoring")
    temporary.unlink(missing_ok=True)
    _copy_private(source, temporary)
    os.replace(temporary, target)


def _key_configured(variable: str) -> bool:
    return bool(os.environ.get(variable) or os.environ.get(f"{variable}_FILE"))


def _restore_files(
    staging: Path, manifest: dict[str, Any], key_members: Collection[str]
) -> tuple[int, list[str]]:
    notes: list[str] = []
    count = 0
    attachments = Path(settings.ATTACHMENTS_DIR)
    for member in manifest["files"]:
        if member.startswith("attachments/"):
            _write_private(staging / member, attachments / Path(member).name)
            count += 1
    if attachments.is_dir():
        os.chmod(attachments, 0o700)
    if CHECKPOINTS_MEMBER in manifest["files"]:
        _write_private(staging / CHECKPOINTS_MEMBER, checkpoint_file())
        count += 1
    for member, variable, file_name in KEY_FILES:
        if member not in manifest["files"] and member not in key_members:
            continue
        count += 1
        if _key_configured(variable):
            # The operator configured this key elsewhere: leave it, and say so.
            aside = Path(settings.DATA_DIR) / "restored-keys" / file_name
            _write_private(staging / member, aside)
            notes.append(
                f"{variable} is configured in the environment; the backed-up key is in {aside}"
            )
        else:
            _write_private(staging / member, Path(settings.DATA_DIR) / file_name)
    return count, notes


def _current_counts(tables: list[str]) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608
            counts[table] = int(cursor.fetchone()[0])
    return counts


def _keys_file_to_use(
    path: Path, manifest: dict[str, Any], keys: Path | None, log: Callable[[str], None] | None
) -> tuple[Path | None, list[str]]:
    """The keys archive to restore from (None: none needed), and notes for the operator."""
    apart = [
        member
        for member, status in manifest.get("keys", {}).items()
        if status == "in the keys file"
    ]
    if keys is not None:
        keys = keys.expanduser().resolve()
        if not apart:
            raise BackupError(
                f"{path} was made with its keys inside (or without key files); leave out --keys"
            )
        return keys, []
    if not apart:
        return None, []
    beside = keys_path_for(path)
    if beside.is_file():
        if log:
            log(f"using the keys in {beside}")
        return beside, []
    missing = [
        variable
        for member, variable, _ in KEY_FILES
        if member in apart and not _key_configured(variable)
    ]
    if missing:
        raise BackupError(
            f"this backup's keys were written apart, to {manifest.get('keys_file')}: "
            f"give that file with --keys FILE (or configure {', '.join(missing)})"
        )
    return None, ["the backup's keys were not given: using the keys configured in the environment"]


def backup_restore(
    path: Path, *, keys: Path | None = None, log: Callable[[str], None] | None = None
) -> RestoreSummary:
    """Restore the archive at PATH into this (empty) install, then check it.

    The key material comes from inside PATH (a backup made ``--with-keys`` or before keys
    were written apart), from KEYS, or from PATH.keys when it lies beside PATH.
    """
    path = path.expanduser().resolve()
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    with _opened(path) as (tar, manifest):
        _check_empty_target(manifest)
        keys_file, notes = _keys_file_to_use(path, manifest, keys, log)
        with tempfile.TemporaryDirectory(prefix="safestep-restore-") as temporary:
            staging = Path(temporary)
            os.chmod(staging, 0o700)
            key_members: list[str] = []
            if keys_file is not None:
                with _opened_keys(keys_file, manifest) as (keys_tar, keys_manifest):
                    _verified_members(keys_tar, keys_manifest, staging)
                    key_members = list(keys_manifest["files"])
            _verified_members(tar, manifest, staging)
            if log:
                log("every file matches its checksum; restoring ...")
            _restore_database(staging, manifest)
            files, file_notes = _restore_files(staging, manifest, key_members)
            notes.extend(file_notes)
    connections.close_all()
    if connection.vendor == "postgresql":
        # pg_restore leaves the planner without statistics until autovacuum comes by.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    expected: dict[str, int] = manifest["database"]["tables"]
    found = _current_counts(sorted(expected))
    differing = [table for table in expected if found.get(table) != expected[table]]
    if differing:
        first = differing[0]
        raise BackupError(
            f"restored {first} has {found.get(first)} rows; the backup says {expected[first]}"
        )
    result = audit_verify()
    if not result.ok:
        raise BackupError(f"the restored audit trail does not verify: {result.describe()}")
    return RestoreSummary(found, files, result.describe(), notes)

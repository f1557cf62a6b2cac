"""Settings from the environment: defaults, secrets kept owner-only, one-line errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from safestep import config


def load(tmp_path: Path, **env: str):
    return config.load({"SAFESTEP_DATA_DIR": str(tmp_path / "data"), **env})


def test_it_defaults_to_sqlite_in_the_data_dir(tmp_path):
    loaded = load(tmp_path)
    assert loaded.database["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded.database["NAME"] == str(tmp_path / "data" / "safestep.sqlite3")
    assert loaded.database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert loaded.time_zone == "America/Los_Angeles"
    assert loaded.allowed_hosts == ["localhost", "127.0.0.1"]
    assert loaded.debug is False


def test_it_generates_a_secret_key_once_and_keeps_it_owner_only(tmp_path):
    first = load(tmp_path)
    key_file = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load(tmp_path).secret_key == first.secret_key
    assert len(first.secret_key) >= 50


def test_it_refuses_a_key_file_others_can_read(tmp_path):
    load(tmp_path)
    key_file = tmp_path / "data" / "secret_key"
    key_file.chmod(0o644)
    with pytest.raises(config.ConfigError, match=r"SAFESTEP_SECRET_KEY: .* readable by others"):
        load(tmp_path)


def test_it_reads_secrets_from_a_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("k" * 40 + "\n")
    assert load(tmp_path, SAFESTEP_SECRET_KEY_FILE=str(secret)).secret_key == "k" * 40
    with pytest.raises(config.ConfigError, match=r"^SAFESTEP_SECRET_KEY_FILE: cannot read"):
        load(tmp_path, SAFESTEP_SECRET_KEY_FILE=str(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SAFESTEP_DEBUG", "maybe", "expected true or false"),
        ("SAFESTEP_TIME_ZONE", "Mars/Olympus", "unknown time zone"),
        ("DATABASE_URL", "mysql://x/y", "unsupported scheme 'mysql'"),
        ("DATABASE_URL", "postgres://host:5432/", "must name a database"),
        ("SAFESTEP_EMAIL_URL", "carrier-pigeon://coop", "unsupported scheme"),
        ("SAFESTEP_EMAIL_URL", "smtp://", "needs a host"),
        ("SAFESTEP_ALLOWED_HOSTS", " , ", "at least one host"),
        ("SAFESTEP_SECRET_KEY", "short", "at least 32 characters"),
    ],
)
def test_it_names_the_variable_holding_a_bad_value(tmp_path, variable, value, message):
    with pytest.raises(config.ConfigError) as error:
        load(tmp_path, **{variable: value})
    assert str(error.value).startswith(f"{variable}: ")
    assert message in str(error.value)


def test_it_parses_postgres_and_smtp_urls(tmp_path):
    loaded = load(
        tmp_path,
        DATABASE_URL="postgres://app:pw@db.example:5433/safestep",
        SAFESTEP_EMAIL_URL="smtp://mailer:secret@mail.example:587?tls=1",
    )
    assert loaded.database["ENGINE"] == "django.db.backends.postgresql"
    assert (loaded.database["HOST"], loaded.database["PORT"]) == ("db.example", 5433)
    assert loaded.email.backend.endswith("smtp.EmailBackend")
    assert (loaded.email.host, loaded.email.port, loaded.email.use_tls) == (
        "mail.example",
        587,
        True,
    )


def test_it_writes_mail_to_files_in_the_data_dir_by_default(tmp_path):
    assert load(tmp_path).email.file_path == tmp_path / "data" / "mail"


def test_it_runs_sqlite_in_wal_mode(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_it_stops_the_command_line_with_one_line_naming_the_variable(tmp_path):
    env = {**os.environ, "SAFESTEP_DATA_DIR": str(tmp_path), "SAFESTEP_DEBUG": "perhaps"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "safestep", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "safestep: configuration error: SAFESTEP_DEBUG: expected true or false, got 'perhaps'"
    ]

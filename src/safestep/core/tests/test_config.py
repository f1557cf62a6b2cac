"""Settings from the environment: defaults, secrets kept owner-only, one-line errors."""

from __future__ import annotations

import json
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
        ("SAFESTEP_HTTPS", "sometimes", "expected true or false"),
        ("SAFESTEP_TRUSTED_PROXIES", "10.0.0.300", "'10.0.0.300' is not an IP address"),
        ("SAFESTEP_TRUSTED_PROXIES", "10.0.0.1, proxy.example", "'proxy.example' is not an IP"),
        ("SAFESTEP_TRUSTED_PROXIES", "0.0.0.0/0", "would believe every address"),
        ("SAFESTEP_TRUSTED_PROXIES", "::/0", "would believe every address"),
        ("SAFESTEP_CSRF_TRUSTED_ORIGINS", "http://safestep.example.org", "not an https origin"),
        ("SAFESTEP_CSRF_TRUSTED_ORIGINS", "safestep.example.org", "not an https origin"),
        ("SAFESTEP_CSRF_TRUSTED_ORIGINS", "https://safestep.example.org/app", "not an origin"),
        ("SAFESTEP_CSRF_TRUSTED_ORIGINS", "https://user@safestep.example.org", "not an origin"),
        ("SAFESTEP_CSRF_TRUSTED_ORIGINS", "https://", "not an origin"),
        ("SAFESTEP_CSRF_TRUSTED_ORIGINS", "https://a.example:https", "port that is not a number"),
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
    # Parameters apart from the SQL, and a query sent five times prepared: PostgreSQL plans
    # the case read once per connection instead of on every read.
    options = loaded.database["OPTIONS"]
    assert (options["server_side_binding"], options["prepare_threshold"]) == (True, 5)
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


def test_it_serves_https_with_secure_cookies_unless_told_otherwise(tmp_path):
    assert load(tmp_path).https is True
    assert load(tmp_path, SAFESTEP_DEBUG="true").https is False
    assert load(tmp_path, SAFESTEP_DEBUG="true", SAFESTEP_HTTPS="true").https is True
    assert load(tmp_path, SAFESTEP_HTTPS="false").https is False


def test_it_reads_trusted_proxies_and_csrf_origins(tmp_path):
    loaded = load(
        tmp_path,
        SAFESTEP_TRUSTED_PROXIES=" 10.0.0.5, 10.1.0.0/16 ,::1,",
        SAFESTEP_CSRF_TRUSTED_ORIGINS="https://SafeStep.example.org, https://*.district.example:8443",
    )
    assert [str(network) for network in loaded.trusted_proxies] == [
        "10.0.0.5/32",
        "10.1.0.0/16",
        "::1/128",
    ]
    assert loaded.csrf_trusted_origins == (
        "https://safestep.example.org",
        "https://*.district.example:8443",
    )
    nothing = load(tmp_path)
    assert (nothing.trusted_proxies, nothing.csrf_trusted_origins) == ((), ())


def test_it_stops_the_command_line_on_a_bad_proxy_with_one_line(tmp_path):
    env = {
        **os.environ,
        "SAFESTEP_DATA_DIR": str(tmp_path),
        "SAFESTEP_TRUSTED_PROXIES": "10.0.0.1/40",
    }
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
        "safestep: configuration error: SAFESTEP_TRUSTED_PROXIES: '10.0.0.1/40' is not an IP "
        "address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
    ]


def settings_with(tmp_path: Path, **env: str) -> dict:
    """Django's settings as a fresh process builds them from ENV."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS, "
        "[str(n) for n in s.TRUSTED_PROXIES]]))"
    )
    full = {
        **os.environ,
        "SAFESTEP_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "safestep.settings",
        **env,
    }
    for name in ("SAFESTEP_HTTPS", "SAFESTEP_TRUSTED_PROXIES", "SAFESTEP_CSRF_TRUSTED_ORIGINS"):
        if name not in env:
            full.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(
        zip(
            ["session_secure", "csrf_secure", "hsts", "proxy_header", "origins", "proxies"],
            json.loads(done.stdout.strip().splitlines()[-1]),
            strict=True,
        )
    )


def test_it_makes_cookies_secure_and_sends_hsts_when_served_over_https(tmp_path):
    served = settings_with(tmp_path)
    assert (served["session_secure"], served["csrf_secure"], served["hsts"]) == (
        True,
        True,
        31_536_000,
    )
    # No proxy named: X-Forwarded-Proto means nothing.
    assert served["proxy_header"] is None
    plain = settings_with(tmp_path, SAFESTEP_HTTPS="false")
    assert (plain["session_secure"], plain["csrf_secure"], plain["hsts"]) == (False, False, 0)


def test_it_believes_x_forwarded_proto_only_with_a_proxy_named(tmp_path):
    behind = settings_with(
        tmp_path,
        SAFESTEP_TRUSTED_PROXIES="10.0.0.5",
        SAFESTEP_CSRF_TRUSTED_ORIGINS="https://safestep.example.org",
    )
    assert behind["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert behind["proxies"] == ["10.0.0.5/32"]
    assert behind["origins"] == ["https://safestep.example.org"]

"""What a copy of the database gives away of people's credentials: nothing that works.

A user sets up their authenticator on the real pages and an operator makes them an API
token on the command line. Then the database is searched, the SQLite files byte by byte
(write-ahead log included) and every column of every table through SQL, for the token,
the authenticator's secret and the unused backup codes.
"""

from __future__ import annotations

import io
from base64 import b32encode
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from safestep.accounts.models import ApiToken, AuthenticatorDevice, BackupCodeDevice
from safestep.accounts.testing import fresh_totp_code
from safestep.accounts.tests.test_signin import enrol, post_password, signed_in
from safestep.core import crypto
from safestep.core.crypto import key_id_of, reencrypt_all


def token_made_on_the_command_line(username: str, *extra: str) -> str:
    printed = io.StringIO()
    call_command("user", "token", username, *extra, stdout=printed, stderr=io.StringIO())
    return printed.getvalue().strip()


def columns_holding(needle: str) -> list[str]:
    found = []
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                cast = f"CAST({quoted(column.name)} AS TEXT)"
                cursor.execute(
                    f"SELECT COUNT(*) FROM {quoted(table)} WHERE {cast} LIKE %s",
                    [f"%{needle}%"],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column.name}")
    return found


def sqlite_files() -> list[Path]:
    main = Path(connection.settings_dict["NAME"])
    return [path for path in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if path.exists()]


def api_status(key: str, path: str = "/api/v1/protocols") -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get(path).status_code


@pytest.mark.django_db(transaction=True)
def test_it_keeps_no_token_secret_or_backup_code_in_a_copy_of_the_database(district):
    codes = enrol(Client(), "site_admin")
    signin = Client()
    post_password(signin, "site_admin")
    assert signin.post("/signin/code/", {"code": codes[0]}).status_code == 302
    token = token_made_on_the_command_line("site_admin")
    secret_hex = AuthenticatorDevice.objects.get(user=district["site_admin"]).key
    secret_b32 = b32encode(bytes.fromhex(secret_hex)).decode().rstrip("=")
    unused = codes[1:]
    assert api_status(token) == 200 and len(unused) == 9

    needles = {"API token": token, "TOTP secret": secret_hex, "TOTP secret (base32)": secret_b32}
    needles |= {f"backup code {code}": code for code in unused}
    assert columns_holding("site_admin")  # the search finds what is there
    in_columns = {name: columns_holding(value) for name, value in needles.items()}
    assert {name: where for name, where in in_columns.items() if where} == {}
    if connection.vendor == "sqlite":
        files = sqlite_files()
        assert any(b"site_admin" in path.read_bytes() for path in files)  # the right files
        leaks = [
            f"{name} in {path.name}"
            for path in files
            for name, value in needles.items()
            if value.encode() in path.read_bytes() or value.upper().encode() in path.read_bytes()
        ]
        assert leaks == []


def test_it_refuses_what_a_database_copy_holds_in_place_of_a_token(district):
    token = token_made_on_the_command_line("district_coordinator")
    stored = ApiToken.objects.get(user=district["district_coordinator"])
    assert stored.digest != token and token not in (stored.prefix, stored.digest)
    assert api_status(token) == 200
    assert api_status(stored.digest) == 401
    assert api_status(stored.prefix + "0" * 32) == 401
    assert api_status(token[:-1] + ("0" if token[-1] != "0" else "1")) == 401
    answer = Client(HTTP_AUTHORIZATION=f"Token {stored.prefix}").get("/api/v1/protocols")
    assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Token")


def test_it_shows_a_token_once_and_replaces_it_only_when_asked(district):
    first = token_made_on_the_command_line("school_police")
    assert len(first) == 40
    with pytest.raises(Exception, match="cannot be shown again") as refused:
        token_made_on_the_command_line("school_police")
    assert "--rotate" in str(refused.value)
    assert api_status(first) == 200  # refusing changed nothing

    second = token_made_on_the_command_line("school_police", "--rotate")
    assert second != first
    assert api_status(first) == 401
    assert api_status(second) == 200


def test_it_seals_second_factors_with_the_encryption_keys_and_follows_a_rotation(district):
    codes = enrol(Client(), "counselor")
    device = AuthenticatorDevice.objects.get(user=district["counselor"])
    backup = BackupCodeDevice.objects.get(user=district["counselor"])
    old_id = crypto.keyring().current_id
    stored = _raw("accounts_authenticatordevice", "key", device.pk)
    assert key_id_of(stored) == old_id and device.key not in stored
    assert key_id_of(_raw("accounts_backupcodedevice", "codes", backup.pk)) == old_id

    new_key = ("rotated", b"\x07" * 32)
    with override_settings(
        ENCRYPTION_KEYS=(new_key, *crypto.keyring().keys), ENCRYPTION_KEYS_FILE=None
    ):
        reencrypt_all()
        assert key_id_of(_raw("accounts_authenticatordevice", "key", device.pk)) == "rotated"
        assert key_id_of(_raw("accounts_backupcodedevice", "codes", backup.pk)) == "rotated"
        with_app = Client()
        post_password(with_app, "counselor")
        answer = with_app.post("/signin/code/", {"code": fresh_totp_code("counselor")})
        assert answer.status_code == 302 and signed_in(with_app)
        with_code = Client()
        post_password(with_code, "counselor")
        assert with_code.post("/signin/code/", {"code": codes[3]}).status_code == 302


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])

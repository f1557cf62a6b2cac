"""Upgrading an install whose credentials were stored in the clear.

The install is migrated only as far as the version before (DRF's plaintext tokens,
django-otp's own tables), given a token, an authenticator and backup codes there, and then
upgraded as `safestep serve` does. Everything keeps working, and none of it is left in
the database file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safestep.core.testing import install_runner

# The account is made with the model as it was then: today's User has columns (added by
# later migrations) that the old table lacks.
BEFORE = """
import json
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
then = MigrationLoader(connection).project_state(("accounts", "0001_initial")).apps
User = then.get_model("accounts", "User")
user = User.objects.create(username="coordinator", password=make_password("a long old password"),
                           role="district_coordinator")
token = Token.objects.create(user_id=user.pk)
app = TOTPDevice.objects.create(user_id=user.pk, name="Authenticator app", confirmed=True)
backup = StaticDevice.objects.create(user_id=user.pk, name="Backup codes", confirmed=True)
for code in ("aaaabbbb", "ccccdddd"):
    StaticToken.objects.create(device=backup, token=code)
print(json.dumps({"token": token.key, "secret": app.key}))
"""

AFTER = """
import json
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from safestep.accounts.models import AuthenticatorDevice, BackupCodeDevice
from safestep.accounts.tokens import user_for_key
old = json.loads(OLD)
app = AuthenticatorDevice.objects.get(user__username="coordinator")
code = TOTP(bytes.fromhex(old["secret"]), step=app.step).token()
backup = BackupCodeDevice.objects.get(user__username="coordinator")
print(json.dumps({
    "token_user": getattr(user_for_key(old["token"]), "username", None),
    "totp_accepted": app.verify_token(f"{code:06d}"),
    "backup_accepted": backup.verify_token("ccccdddd"),
    "backup_again": BackupCodeDevice.objects.get(pk=backup.pk).verify_token("ccccdddd"),
    "backup_left": BackupCodeDevice.objects.get(pk=backup.pk).codes_left,
    "old_rows": Token.objects.count() + TOTPDevice.objects.count() + StaticToken.objects.count(),
}))
"""


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory) -> tuple[dict[str, str], dict[str, object], Path]:
    data_dir = tmp_path_factory.mktemp("upgrade") / "install"
    run = install_runner(data_dir)

    for app in (("accounts", "0001"), ("authtoken",), ("otp_totp",), ("otp_static",)):
        run("migrate", *app, "--verbosity", "0")
    old = json.loads(run("shell", "-c", BEFORE).splitlines()[-1])
    run("migrate", "--verbosity", "0")
    printed = run("shell", "-c", f"OLD = {json.dumps(json.dumps(old))}\n{AFTER}")
    after = json.loads(printed.splitlines()[-1])
    return old, after, data_dir


def test_it_keeps_old_tokens_and_second_factors_working(upgraded):
    _, after, _ = upgraded
    assert after["token_user"] == "coordinator"
    assert after["totp_accepted"] is True
    assert after["backup_accepted"] is True and after["backup_again"] is False
    assert after["backup_left"] == 1


def test_it_leaves_no_old_credential_in_the_database_file(upgraded):
    old, after, data_dir = upgraded
    assert after["old_rows"] == 0
    content = b"".join(
        path.read_bytes() for path in data_dir.iterdir() if path.name.startswith("safestep.sqlite3")
    )
    assert b"coordinator" in content  # the right file
    for secret in (old["token"], old["secret"], "aaaabbbb", "ccccdddd"):
        assert secret.encode() not in content, secret

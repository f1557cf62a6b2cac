"""What another account on the server can read of a fresh embedded install: nothing.

The install runs as an operator runs it, under the common umask 022 (which would leave new
files world-readable), writes a database with its WAL, e-mail to a folder and an
attachment, and lists every file's mode while the database is still open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safestep.core.testing import install_runner

WRITE_AND_LIST = """
import json, os, stat
from django.core.mail import send_mail
from django.db import connection
from safestep.accounts.models import User
from safestep.attachments.services import attachment_add
from safestep.cases.models import Case
counselor = User.objects.get(username="counselor")
case = Case.objects.filter(school__code="LIN", status="open").first()
attachment_add(acting_user=counselor, case_id=case.pk, file_name="scan.pdf",
               content=b"%PDF-1.4\\nscanned form\\n%%EOF\\n")
send_mail("Reminder", "A step is due.", "safestep@localhost", ["coordinator@example.org"])
with connection.cursor() as cursor:
    cursor.execute("SELECT COUNT(*) FROM cases_case")
modes = {}
for folder, _, files in os.walk(os.environ["SAFESTEP_DATA_DIR"]):
    for name in [folder, *(os.path.join(folder, f) for f in files)]:
        modes[name] = stat.S_IMODE(os.stat(name).st_mode)
print(json.dumps(modes))
"""


@pytest.fixture(scope="module")
def modes(tmp_path_factory) -> dict[str, int]:
    data_dir = tmp_path_factory.mktemp("modes") / "install"
    run = install_runner(data_dir, umask=0o022)

    run("migrate", "--verbosity", "0")
    run("demo")
    listed: dict[str, int] = json.loads(run("shell", "-c", WRITE_AND_LIST).splitlines()[-1])
    return {str(Path(path).relative_to(data_dir)): mode for path, mode in listed.items()}


def test_it_writes_the_database_and_its_wal_owner_only(modes):
    assert modes["safestep.sqlite3"] == 0o600
    assert modes.get("safestep.sqlite3-wal") == 0o600, "expected the WAL while connected"
    assert modes.get("safestep.sqlite3-shm") == 0o600


def test_it_writes_mail_and_attachments_owner_only(modes):
    mail = [name for name in modes if name.startswith("mail/")]
    attachments = [name for name in modes if name.startswith("attachments/")]
    assert mail and attachments
    assert {modes[name] for name in mail + attachments} == {0o600}
    assert modes["mail"] == modes["attachments"] == 0o700


def test_it_leaves_nothing_in_the_data_directory_for_other_accounts(modes):
    readable = {name: f"{mode:o}" for name, mode in modes.items() if mode & 0o077}
    assert readable == {}
    assert modes["."] == 0o700

"""Encryption at rest: values tagged with their key, rotation, tampering, the model fields."""

from __future__ import annotations

import base64
import os
import time

import pytest
from django.db import connection
from django.test import override_settings

from safestep import config
from safestep.cases.models import Case, StepRecord
from safestep.core import crypto

# Ids unlike the generated "k1" of the test install, so no value is read with the wrong key.
K1 = ("t1", bytes(range(32)))
K2 = ("t2", bytes(range(32, 64)))


def keys(*pairs: tuple[str, bytes]):
    return override_settings(ENCRYPTION_KEYS=tuple(pairs), ENCRYPTION_KEYS_FILE=None)


def stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_it_tags_each_value_with_the_key_that_sealed_it():
    with keys(K1):
        token = crypto.encrypt_text("She said he keeps her phone.")
    assert token.startswith("enc:v1:t1:")
    assert "phone" not in token
    assert crypto.key_id_of(token) == "t1"
    with keys(K1):
        assert crypto.decrypt_text(token) == "She said he keeps her phone."


def test_it_never_encrypts_the_same_text_the_same_way_twice():
    with keys(K1):
        assert crypto.encrypt_text("same") != crypto.encrypt_text("same")


def test_it_decrypts_old_values_after_a_rotation_while_the_old_key_stays_listed():
    with keys(K1):
        old = crypto.encrypt_text("written before the rotation")
    with keys(K2, K1):
        new = crypto.encrypt_text("written after")
        assert crypto.decrypt_text(old) == "written before the rotation"
        assert crypto.key_id_of(new) == "t2"


def test_it_names_the_missing_key_when_an_old_key_was_dropped():
    with keys(K1):
        old = crypto.encrypt_text("needs t1")
    with keys(K2), pytest.raises(crypto.EncryptionError, match=r"key 't1'.*not in"):
        crypto.decrypt_text(old)


def test_it_refuses_a_value_that_was_altered_or_relabelled():
    with keys(K1, K2):
        token = crypto.encrypt_text("original")
        body = token.rsplit(":", 1)[1]
        raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        raw[-1] ^= 1
        altered = "enc:v1:t1:" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
        with pytest.raises(crypto.EncryptionError, match="integrity"):
            crypto.decrypt_text(altered)
        # The key id is authenticated too: the same ciphertext under another label fails.
        with pytest.raises(crypto.EncryptionError, match="integrity"):
            crypto.decrypt_text(token.replace("enc:v1:t1:", "enc:v1:t2:"))


def test_it_round_trips_json_for_other_parts_of_safestep():
    payload = {"reason": "Parent may be involved.", "n": 3, "nested": ["ä", None, True]}
    with keys(K1):
        token = crypto.encrypt_json(payload)
        assert "Parent" not in token
        assert crypto.decrypt_json(token) == payload


def test_it_seals_files_with_their_key_id_in_the_header():
    with keys(K1):
        blob = crypto.encrypt_bytes(b"%PDF-1.7 scanned form")
    assert blob.startswith(b"SSE1")
    assert b"scanned form" not in blob
    assert crypto.key_id_of_bytes(blob) == "t1"
    with keys(K2, K1):
        assert crypto.decrypt_bytes(blob) == b"%PDF-1.7 scanned form"
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with keys(K1), pytest.raises(crypto.EncryptionError, match="integrity"):
        crypto.decrypt_bytes(tampered)


def test_it_rereads_a_key_file_when_it_changes(tmp_path):
    key_file = tmp_path / "keys"
    key_file.write_text(config.format_encryption_keys([K1]))
    with override_settings(ENCRYPTION_KEYS=(K1,), ENCRYPTION_KEYS_FILE=key_file):
        assert crypto.keyring().current_id == "t1"
        key_file.write_text(config.format_encryption_keys([K2, K1]) + "\n")
        # The file is looked at once a second, not on every decryption.
        assert crypto.keyring().current_id == "t1"
        assert crypto.keyring(recheck=True).current_id == "t2"
        assert crypto.keyring().ids == ["t2", "t1"]


def test_it_picks_up_a_rotation_by_another_process_within_a_second(tmp_path):
    key_file = tmp_path / "keys"
    key_file.write_text(config.format_encryption_keys([K1]))
    with override_settings(ENCRYPTION_KEYS=(K1,), ENCRYPTION_KEYS_FILE=key_file):
        assert crypto.keyring().current_id == "t1"
        # Another process rotates (`safestep keys rotate`) and at once seals a value with
        # the new key; this process has not looked at the file since.
        key_file.write_text(config.format_encryption_keys([K2, K1]) + "\n")
        with keys(K2, K1):
            sealed_elsewhere = crypto.encrypt_text("Grandmother picks her up on Fridays.")
        assert crypto.key_id_of(sealed_elsewhere) == "t2"
        assert crypto.decrypt_text(sealed_elsewhere) == "Grandmother picks her up on Fridays."
        assert crypto.keyring().current_id == "t2"


def test_it_encrypts_with_a_rotated_key_after_a_second(tmp_path):
    key_file = tmp_path / "keys"
    key_file.write_text(config.format_encryption_keys([K1]))
    with override_settings(ENCRYPTION_KEYS=(K1,), ENCRYPTION_KEYS_FILE=key_file):
        assert crypto.key_id_of(crypto.encrypt_text("before")) == "t1"
        key_file.write_text(config.format_encryption_keys([K2, K1]) + "\n")
        time.sleep(crypto.KEY_FILE_CHECK_SECONDS + 0.05)
        assert crypto.key_id_of(crypto.encrypt_text("after")) == "t2"


def test_it_keeps_working_with_the_startup_keys_if_the_key_file_breaks(tmp_path):
    key_file = tmp_path / "keys"
    key_file.write_text(config.format_encryption_keys([K1]))
    with override_settings(ENCRYPTION_KEYS=(K1,), ENCRYPTION_KEYS_FILE=key_file):
        key_file.write_text("half-writ")
        assert crypto.keyring().ids == ["t1"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "no keys given"),
        ("k1", "entry 1 is not id:base64key"),
        ("bad id!:" + base64.b64encode(bytes(32)).decode(), "entry 1 is not id:base64key"),
        ("k1:%%%", "key 'k1' is not valid base64"),
        ("k1:" + base64.b64encode(bytes(16)).decode(), "is 16 bytes; AES-256 needs 32"),
        (
            "k1:"
            + base64.b64encode(bytes(32)).decode()
            + ",k1:"
            + base64.b64encode(bytes(32)).decode(),
            "key id 'k1' appears twice",
        ),
    ],
)
def test_it_explains_a_bad_key_list_in_one_line_without_showing_key_material(raw, message):
    with pytest.raises(config.ConfigError, match=message) as caught:
        config.parse_encryption_keys("SAFESTEP_ENCRYPTION_KEYS", raw)
    text = str(caught.value)
    assert text.startswith("SAFESTEP_ENCRYPTION_KEYS: ")
    assert "\n" not in text
    assert "AAAA" not in text


def test_it_accepts_standard_and_url_safe_base64_and_new_lines():
    key = os.urandom(32)
    raw = f"new:{base64.urlsafe_b64encode(key).decode().rstrip('=')}\nold:{base64.b64encode(key).decode()}"
    parsed = config.parse_encryption_keys("SAFESTEP_ENCRYPTION_KEYS", raw)
    assert parsed == (("new", key), ("old", key))


def test_it_makes_an_owner_only_key_file_on_first_run_and_keeps_it(tmp_path):
    first = config.load({"SAFESTEP_DATA_DIR": str(tmp_path / "data")})
    key_file = tmp_path / "data" / "encryption_keys"
    assert first.encryption_keys_file == key_file
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert [key_id for key_id, _ in first.encryption_keys] == ["k1"]
    assert config.load({"SAFESTEP_DATA_DIR": str(tmp_path / "data")}).encryption_keys == (
        first.encryption_keys
    )


def test_it_takes_keys_from_the_environment_or_a_file(tmp_path):
    entry = config.format_encryption_keys([K2, K1])
    from_env = config.load(
        {"SAFESTEP_DATA_DIR": str(tmp_path / "data"), "SAFESTEP_ENCRYPTION_KEYS": entry}
    )
    assert from_env.encryption_keys == (K2, K1)
    assert from_env.encryption_keys_file is None
    assert not (tmp_path / "data" / "encryption_keys").exists()
    key_file = tmp_path / "keys"
    key_file.write_text(entry)
    from_file = config.load(
        {
            "SAFESTEP_DATA_DIR": str(tmp_path / "data"),
            "SAFESTEP_ENCRYPTION_KEYS_FILE": str(key_file),
        }
    )
    assert from_file.encryption_keys == (K2, K1)
    assert from_file.encryption_keys_file == key_file.resolve()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SAFESTEP_SESSION_IDLE_MINUTES", "soon", "expected a whole number"),
        ("SAFESTEP_SESSION_IDLE_MINUTES", "0", "must be at least 1"),
        ("SAFESTEP_MAX_UPLOAD_MB", "lots", "expected a whole number"),
    ],
)
def test_it_stops_on_a_bad_session_or_upload_limit(tmp_path, variable, value, message):
    with pytest.raises(config.ConfigError, match=f"^{variable}: {message}"):
        config.load({"SAFESTEP_DATA_DIR": str(tmp_path / "data"), variable: value})


def test_it_stores_case_text_encrypted_and_reads_it_back_plain(open_case):
    case = open_case()
    assert stored("cases_case", "summary", case.pk).startswith("enc:v1:")
    assert Case.objects.get(pk=case.pk).summary == "Older adult picks the student up after school."


def test_it_keeps_step_details_as_json_while_encrypting_them(district, open_case):
    from datetime import timedelta

    from django.utils import timezone

    from safestep.cases import services

    case = open_case("confirmed_victim")
    services.step_complete(
        acting_user=district["site_admin"],
        case_id=case.pk,
        step_id="campus_impact",
        occurred_at=timezone.now() - timedelta(hours=1),
        details={"findings": "Two friends were approached too.", "other_students_involved": True},
        expected_version=case.version,
    )
    record = StepRecord.objects.get(case=case, step_id="campus_impact")
    assert record.details["findings"] == "Two friends were approached too."
    assert record.details["other_students_involved"] is True
    raw = stored("cases_steprecord", "details", record.pk)
    assert raw.startswith("enc:v1:") and "friends" not in raw


def test_it_reencrypts_only_what_is_not_under_the_current_key_and_can_resume(open_case):
    with keys(K1):
        cases = [open_case(sis_id=f"S-{n}") for n in range(5)]
    with keys(K2, K1):
        column = crypto.ColumnReencryptor(Case, Case._meta.get_field("summary"))
        assert column.pending("t2") == 5
        # An interrupted run: one batch of two, then stop.
        assert column.reencrypt_batch("t2", 2) == 2
        assert column.pending("t2") == 3
        assert column.count_by_key() == {"t2": 2, "t1": 3}
        done = crypto.reencrypt_all(batch_size=2, targets=[column])
        assert done == 3
        assert column.pending("t2") == 0
        assert all(
            stored("cases_case", "summary", case.pk).startswith("enc:v1:t2:") for case in cases
        )
        assert {case.summary for case in Case.objects.all()} == {
            "Older adult picks the student up after school."
        }


def test_it_seals_plain_text_written_before_encryption(open_case):
    case = open_case()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case SET summary = %s WHERE id = %s", ["legacy words", case.pk]
        )
    assert Case.objects.get(pk=case.pk).summary == "legacy words"
    column = crypto.ColumnReencryptor(Case, Case._meta.get_field("summary"))
    assert column.count_by_key().get("(not encrypted)") == 1
    crypto.reencrypt_all(targets=[column])
    assert stored("cases_case", "summary", case.pk).startswith("enc:v1:")
    assert Case.objects.get(pk=case.pk).summary == "legacy words"


def test_it_lists_every_encrypted_column_for_rotation():
    labels = {target.label for target in crypto.reencryptors()}
    assert {
        "cases.Case.summary",
        "cases.Case.outcome",
        "cases.Case.review_reasons",
        "cases.CaseFact.reason",
        "cases.CheckIn.notes",
        "cases.Concern.description",
        "cases.Concern.dismissed_reason",
        "cases.Note.text",
        "cases.StepRecord.details",
        "cases.StepRecord.reason",
        "cases.StepRecord.reopen_reason",
        "attachments.Attachment.file_name",
        "attachments.Attachment (stored files)",
    } <= labels

"""Credentials at rest: API tokens hashed, second factors sealed with the encryption keys.

Until now DRF's token table held API keys in the clear, and django-otp's tables the TOTP
secrets and unused backup codes. This moves every one of them into SafeStep's own tables:
a token keeps working (only its SHA-256 digest is stored), an authenticator app keeps its
secret (sealed), a backup code stays usable once (sealed). The old rows are deleted.

Sessions signed in with an old device end at their next request (the device they name is
gone), so everyone signs in again once after the upgrade.
"""

import hashlib

import django.db.models.deletion
import django_otp.plugins.otp_totp.models
from django.conf import settings
from django.db import migrations, models

import safestep.core.crypto

TOKEN_PREFIX_LENGTH = 8
DEVICE_FIELDS = (
    "user_id",
    "name",
    "confirmed",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "last_used_at",
)
TOTP_FIELDS = ("key", "step", "t0", "digits", "tolerance", "drift", "last_t")


def _overwrite_deleted_rows(schema_editor):
    """On SQLite, make the deletes below overwrite the plaintext, not just unlink it: a
    copy of the file must not recover a key that still works."""
    if schema_editor is not None and schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


def hash_api_tokens(apps, schema_editor):
    """Replace each plaintext DRF token with its digest; the same key keeps working."""
    _overwrite_deleted_rows(schema_editor)
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("accounts", "ApiToken")
    for token in Token.objects.all():
        hashed = ApiToken.objects.create(
            user_id=token.user_id,
            prefix=token.key[:TOKEN_PREFIX_LENGTH],
            digest=hashlib.sha256(token.key.encode("utf-8")).hexdigest(),
        )
        ApiToken.objects.filter(pk=hashed.pk).update(created_at=token.created)
    Token.objects.all().delete()


def _copy(model, old, fields, **extra):
    new = model.objects.create(**{name: getattr(old, name) for name in fields}, **extra)
    model.objects.filter(pk=new.pk).update(created_at=old.created_at)
    return new


def seal_second_factors(apps, schema_editor):
    """Move TOTP secrets and unused backup codes into tables that seal them."""
    _overwrite_deleted_rows(schema_editor)
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    StaticToken = apps.get_model("otp_static", "StaticToken")
    AuthenticatorDevice = apps.get_model("accounts", "AuthenticatorDevice")
    BackupCodeDevice = apps.get_model("accounts", "BackupCodeDevice")
    for old in TOTPDevice.objects.all():
        _copy(AuthenticatorDevice, old, DEVICE_FIELDS + TOTP_FIELDS)
    for old in StaticDevice.objects.all():
        codes = list(
            StaticToken.objects.filter(device_id=old.pk)
            .order_by("pk")
            .values_list("token", flat=True)
        )
        _copy(BackupCodeDevice, old, DEVICE_FIELDS, codes=codes)
    StaticToken.objects.all().delete()
    StaticDevice.objects.all().delete()
    TOTPDevice.objects.all().delete()


def unseal_second_factors(apps, schema_editor):
    """Going back: second factors return to django-otp's tables (API tokens cannot)."""
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    StaticToken = apps.get_model("otp_static", "StaticToken")
    AuthenticatorDevice = apps.get_model("accounts", "AuthenticatorDevice")
    BackupCodeDevice = apps.get_model("accounts", "BackupCodeDevice")
    for new in AuthenticatorDevice.objects.all():
        _copy(TOTPDevice, new, DEVICE_FIELDS + TOTP_FIELDS)
    for new in BackupCodeDevice.objects.all():
        device = _copy(StaticDevice, new, DEVICE_FIELDS)
        StaticToken.objects.bulk_create(
            StaticToken(device=device, token=code) for code in new.codes
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("otp_static", "0003_add_timestamps"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("prefix", models.CharField(db_index=True, max_length=8)),
                ("digest", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_token",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="AuthenticatorDevice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="The human-readable name of this device.", max_length=64
                    ),
                ),
                (
                    "confirmed",
                    models.BooleanField(default=True, help_text="Is this device ready for use?"),
                ),
                (
                    "throttling_failure_timestamp",
                    models.DateTimeField(
                        blank=True,
                        default=None,
                        help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                        null=True,
                    ),
                ),
                (
                    "throttling_failure_count",
                    models.PositiveIntegerField(
                        default=0, help_text="Number of successive failed attempts."
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True,
                        help_text="The date and time when this device was initially created in the system.",
                        null=True,
                    ),
                ),
                (
                    "last_used_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="The most recent date and time this device was used.",
                        null=True,
                    ),
                ),
                (
                    "key",
                    safestep.core.crypto.EncryptedTextField(
                        default=django_otp.plugins.otp_totp.models.default_key
                    ),
                ),
                ("step", models.PositiveSmallIntegerField(default=30)),
                ("t0", models.BigIntegerField(default=0)),
                ("digits", models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)),
                ("tolerance", models.PositiveSmallIntegerField(default=1)),
                ("drift", models.SmallIntegerField(default=0)),
                ("last_t", models.BigIntegerField(default=-1)),
                (
                    "user",
                    models.ForeignKey(
                        help_text="The user that this device belongs to.",
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "authenticator app",
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="BackupCodeDevice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="The human-readable name of this device.", max_length=64
                    ),
                ),
                (
                    "confirmed",
                    models.BooleanField(default=True, help_text="Is this device ready for use?"),
                ),
                (
                    "throttling_failure_timestamp",
                    models.DateTimeField(
                        blank=True,
                        default=None,
                        help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                        null=True,
                    ),
                ),
                (
                    "throttling_failure_count",
                    models.PositiveIntegerField(
                        default=0, help_text="Number of successive failed attempts."
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        auto_now_add=True,
                        help_text="The date and time when this device was initially created in the system.",
                        null=True,
                    ),
                ),
                (
                    "last_used_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="The most recent date and time this device was used.",
                        null=True,
                    ),
                ),
                ("codes", safestep.core.crypto.EncryptedJSONField(default=list)),
                (
                    "user",
                    models.ForeignKey(
                        help_text="The user that this device belongs to.",
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "backup codes",
                "abstract": False,
            },
        ),
        migrations.RunPython(hash_api_tokens, migrations.RunPython.noop),
        migrations.RunPython(seal_second_factors, unseal_second_factors),
    ]

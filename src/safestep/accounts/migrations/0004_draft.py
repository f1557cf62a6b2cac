"""Drafts: what someone typed into a form when their session ended, sealed, for two hours."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import safestep.core.crypto


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_language"),
    ]

    operations = [
        migrations.CreateModel(
            name="Draft",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("page", models.CharField(max_length=500)),
                ("action", models.CharField(max_length=500)),
                ("fields", safestep.core.crypto.EncryptedJSONField(default=dict)),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField(db_index=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="drafts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "pk"],
                "indexes": [models.Index(fields=["user", "page"], name="draft_user_page")],
            },
        ),
    ]

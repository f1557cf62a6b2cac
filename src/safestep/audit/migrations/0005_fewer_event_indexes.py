"""The event table's indexes: one for each way the trail is read, and no other.

Every event writes each of them. Four served no read:
- The account's two indexes (its id, and its id with the sequence): nothing reads events
  by account id. The trail is searched by the username kept with each event, which no
  index held, so that search read the whole trail (452 ms to count one person's events
  among 5 million). One index of the username and the sequence takes their place.
- On PostgreSQL, the pattern-matching copies (``varchar_pattern_ops``) Django adds beside a
  text column's index: nothing searches actions or hashes by their beginning. The copy of
  the hash index was as large as the unique index itself (600 MB at 5 million events)
  and, hashes being random, each event wrote to a random page of it.

The action's index and the hash's uniqueness stay as they are in the database; the model
now names them (``Meta.indexes`` and ``Meta.constraints``), so that nothing is rebuilt.
"""

from __future__ import annotations

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

ACTOR_INDEX = "audit_event_actor_id_fdb5de2b"
# PostgreSQL only: (name, column) of each pattern-matching copy.
PATTERN_COPIES = (
    ("audit_event_action_71fc5cf8_like", "action"),
    ("audit_event_hash_254485c8_like", "hash"),
)


def _postgresql(schema_editor: BaseDatabaseSchemaEditor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def drop_indexes(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    names = [ACTOR_INDEX]
    if _postgresql(schema_editor):
        names += [name for name, _ in PATTERN_COPIES]
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def restore_indexes(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {quote(ACTOR_INDEX)} ON audit_event (actor_id)"
    )
    if _postgresql(schema_editor):
        for name, column in PATTERN_COPIES:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(name)} "
                f"ON audit_event ({quote(column)} varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_seal_disclosure_recipients"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="action",
                    field=models.CharField(max_length=64),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="hash",
                    field=models.CharField(max_length=64),
                ),
                migrations.AddIndex(
                    model_name="event",
                    index=models.Index(fields=["action"], name="audit_event_action_71fc5cf8"),
                ),
                migrations.AddConstraint(
                    model_name="event",
                    constraint=models.UniqueConstraint(
                        fields=("hash",), name="audit_event_hash_key"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, restore_indexes)],
        ),
        migrations.RemoveIndex(model_name="event", name="event_actor_seq"),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["actor_username", "seq"], name="event_actor_name_seq"),
        ),
    ]

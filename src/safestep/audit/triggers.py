"""Database triggers that refuse UPDATE, DELETE (and TRUNCATE) on the audit tables.

The ORM already refuses changes; the triggers also stop a person with a database console
or a buggy script. Someone who can drop the triggers can still edit rows, which is what the
hash chain and the signed checkpoints are for: the change is then detected by `verify`.
"""

from __future__ import annotations

from typing import Any

PROTECTED_TABLES = ("audit_event", "audit_checkpoint")

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION safestep_refuse_change() RETURNS trigger AS $body$
BEGIN
    RAISE EXCEPTION 'audit records are append-only (% on %)', TG_OP, TG_TABLE_NAME;
END;
$body$ LANGUAGE plpgsql
"""


def create_triggers(connection: Any) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_FUNCTION)
            for table in PROTECTED_TABLES:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
                    f"ON {table} FOR EACH ROW EXECUTE FUNCTION safestep_refuse_change()"
                )
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE "
                    f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION safestep_refuse_change()"
                )
        elif connection.vendor == "sqlite":
            for table in PROTECTED_TABLES:
                for operation in ("UPDATE", "DELETE"):
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{operation.lower()} "
                        f"BEFORE {operation} ON {table} BEGIN "
                        f"SELECT RAISE(ABORT, 'audit records are append-only'); END"
                    )


def drop_triggers(connection: Any) -> None:
    """Only for emptying a test database between tests; never called by SafeStep itself."""
    with connection.cursor() as cursor:
        for table in PROTECTED_TABLES:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            elif connection.vendor == "sqlite":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")

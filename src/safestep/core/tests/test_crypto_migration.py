"""Upgrading an install whose free text was stored before encryption existed."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.db import connection

from safestep.cases.models import Case, Concern, StepRecord

migration = importlib.import_module("safestep.cases.migrations.0002_encrypt_free_text")


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def set_raw(table: str, column: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])


def test_it_encrypts_text_and_json_written_before_the_upgrade(district, open_case):
    from datetime import timedelta

    from django.utils import timezone

    from safestep.cases import services

    case = open_case()
    services.step_complete(
        acting_user=district["site_admin"],
        case_id=case.pk,
        step_id="police_involved",
        occurred_at=timezone.now() - timedelta(hours=1),
        details={"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
        expected_version=case.version,
    )
    record = StepRecord.objects.get(case=case)
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        student=services.StudentInput(sis_id="S-2", first_name="Lee", last_name="Park"),
        observed_at=timezone.now() - timedelta(hours=1),
        description="placeholder",
        indicators=[],
    )
    # As an install from before encryption holds them: plain text and plain JSON.
    set_raw("cases_case", "summary", case.pk, "Plain summary from last year")
    set_raw("cases_case", "review_reasons", case.pk, '["plain reason"]')
    set_raw("cases_steprecord", "details", record.pk, '{"agency": "sdpd", "officer": "Diaz"}')
    set_raw("cases_concern", "description", concern.pk, "Plain description")

    migration.encrypt_existing_values(apps, None)

    for table, column, pk in [
        ("cases_case", "summary", case.pk),
        ("cases_case", "review_reasons", case.pk),
        ("cases_steprecord", "details", record.pk),
        ("cases_concern", "description", concern.pk),
    ]:
        assert raw(table, column, pk).startswith("enc:v1:"), f"{table}.{column}"
    case = Case.objects.get(pk=case.pk)
    assert case.summary == "Plain summary from last year"
    assert case.review_reasons == ["plain reason"]
    assert StepRecord.objects.get(pk=record.pk).details == {"agency": "sdpd", "officer": "Diaz"}
    assert Concern.objects.get(pk=concern.pk).description == "Plain description"


def test_it_seals_every_field_the_upgrade_turns_encrypted():
    altered = {
        (operation.model_name, operation.name)
        for operation in migration.Migration.operations
        if getattr(operation, "field", None) is not None
        and operation.field.__class__.__name__.startswith("Encrypted")
    }
    listed = {
        (model_name, name)
        for model_name, names in migration.ENCRYPTED_FIELDS.items()
        for name in names
    }
    assert listed == altered

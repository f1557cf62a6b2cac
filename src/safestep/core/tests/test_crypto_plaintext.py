"""What a stolen database gives away: no narrative, anywhere in its files.

Every free-text field is written through the real services with one distinctive phrase,
committed, and then the database is searched byte by byte: the main SQLite file, its
write-ahead log and its shared-memory file, and (on any database) every column of every
table through SQL. Attachments are checked on disk too.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from safestep.attachments.services import attachment_add
from safestep.cases import people, services

pytestmark = pytest.mark.django_db(transaction=True)

PHRASE = "Quokka-Lantern-4471 motel on Fifth"
NEEDLES = [PHRASE.encode("utf-8"), PHRASE.encode("utf-16-le"), b"Quokka-Lantern"]
PDF = b"%PDF-1.4\n" + f"scanned form: {PHRASE}".encode() + b"\n%%EOF\n"


def write_the_phrase_everywhere(district) -> None:
    admin, counselor, police = (
        district["site_admin"],
        district["counselor"],
        district["school_police"],
    )
    now = timezone.now()
    student = services.StudentInput(sis_id="S-77", first_name="Ana", last_name="Lopez")
    concern = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        student=student,
        observed_at=now - timedelta(hours=3),
        description=f"Seen at the {PHRASE}.",
        indicators=[],
    )
    other = services.concern_submit(
        acting_user=district["reporter"],
        school_code="LIN",
        student=student,
        observed_at=now - timedelta(hours=3),
        description="Duplicate report.",
        indicators=[],
    )
    services.concern_dismiss(acting_user=admin, concern_id=other.pk, reason=f"Dup: {PHRASE}")
    case = services.case_open(
        acting_user=admin,
        pathway="suspected_victim",
        suspicion_formed_at=now - timedelta(hours=3),
        summary=f"Summary: {PHRASE}",
        concern_id=concern.pk,
    )

    def version() -> int:
        case.refresh_from_db()
        return case.version

    services.case_facts_set(
        acting_user=admin,
        case_id=case.pk,
        facts={"abuse_or_neglect_suspected": False},
        reason=f"Fact reason: {PHRASE}",
        expected_version=version(),
    )
    services.step_complete(
        acting_user=admin,
        case_id=case.pk,
        step_id="campus_impact",
        occurred_at=now - timedelta(hours=1),
        details={"findings": f"Findings: {PHRASE}", "other_students_involved": False},
        expected_version=version(),
    )
    services.step_reopen(
        acting_user=admin,
        case_id=case.pk,
        step_id="campus_impact",
        reason=f"Reopened: {PHRASE}",
        expected_version=version(),
    )
    services.step_mark_not_applicable(
        acting_user=counselor,
        case_id=case.pk,
        step_id="parent_contact",
        reason=f"Not applicable: {PHRASE}",
        details={"victim_consulted": True},
        expected_version=version(),
    )
    services.step_complete(
        acting_user=police,
        case_id=case.pk,
        step_id="police_involved",
        occurred_at=now - timedelta(hours=1),
        details={"agency": "school_police", "officer": f"Officer at {PHRASE}"},
        expected_version=version(),
    )
    services.checkin_record(
        acting_user=counselor,
        case_id=case.pk,
        occurred_at=now - timedelta(minutes=30),
        method="in_person",
        notes=f"Check-in: {PHRASE}",
    )
    services.note_add(acting_user=counselor, case_id=case.pk, text=f"Note: {PHRASE}")
    # The people on the case and the student's details for the form: who they are, where
    # they live, what they look like.
    suspect = people.case_person_add(
        acting_user=admin,
        case_id=case.pk,
        values={"role": "suspect", "description": f"Drives a sedan to the {PHRASE}"},
        expected_version=version(),
    )
    people.case_person_update(
        acting_user=police,
        case_id=case.pk,
        person_id=suspect.pk,
        changes={"name": f"Dre of {PHRASE}", "address": f"Room 9, {PHRASE}"},
        expected_version=version(),
    )
    people.case_person_add(
        acting_user=counselor,
        case_id=case.pk,
        values={"role": "parent", "name": "Rosa Lopez", "phone": f"{PHRASE} 555-0100"},
        expected_version=version(),
    )
    people.case_victim_details_set(
        acting_user=counselor,
        case_id=case.pk,
        changes={"present_location": f"Staying at the {PHRASE}", "primary_language": "Spanish"},
        expected_version=version(),
    )
    services.case_escalate(
        acting_user=admin,
        case_id=case.pk,
        pathway="confirmed_victim",
        reason=f"Escalated: {PHRASE}",
        expected_version=version(),
    )
    services.case_void(
        acting_user=admin, case_id=case.pk, reason=f"Voided: {PHRASE}", expected_version=version()
    )
    services.review_decide(
        acting_user=district["district_coordinator"],
        review_id=case.reviews.get(kind="case_voided").pk,
        decision="overruled",
        comment=f"Not void: {PHRASE}",
    )
    attachment_add(
        acting_user=counselor,
        case_id=case.pk,
        file_name=f"{PHRASE}.pdf",
        content=PDF,
    )


def database_files() -> list[Path]:
    main = Path(connection.settings_dict["NAME"])
    return [path for path in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if path.exists()]


def test_it_leaves_no_narrative_in_the_sqlite_files_wal_included(district):
    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's files; the SQL scan below covers PostgreSQL")
    write_the_phrase_everywhere(district)
    files = database_files()
    assert any(path.name.endswith("-wal") for path in files), "expected the WAL in use"
    # Sanity: the files hold this test's data (names are not encrypted, narratives are).
    assert any(b"Lopez" in path.read_bytes() for path in files)
    leaks = [
        f"{needle!r} in {path.name}"
        for path in files
        for needle in NEEDLES
        if needle in path.read_bytes()
    ]
    assert leaks == []


def test_it_leaves_no_narrative_in_any_column_of_any_table(district):
    write_the_phrase_everywhere(district)
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            ]
            quoted = connection.ops.quote_name
            for column in columns:
                cast = f"CAST({quoted(column)} AS TEXT)"
                cursor.execute(
                    f"SELECT COUNT(*) FROM {quoted(table)} WHERE {cast} LIKE %s",
                    ["%Quokka-Lantern%"],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column}")
    assert found == []


def test_it_stores_attachments_encrypted_on_disk(district):
    write_the_phrase_everywhere(district)
    stored = list(Path(settings.ATTACHMENTS_DIR).iterdir())
    assert stored
    for path in stored:
        content = path.read_bytes()
        assert b"Quokka" not in content
        assert not content.startswith(b"%PDF")

"""The event table's indexes: each is written by every event, so each must serve a read."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes() -> dict[tuple[str, ...], bool]:
    """Each index of the event table: its columns, and whether it is unique."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "audit_event")
    return {
        tuple(details["columns"]): bool(details["unique"] or details["primary_key"])
        for details in found.values()
        if details["index"] or details["unique"] or details["primary_key"]
    }


def test_it_keeps_one_index_for_each_way_the_trail_is_read() -> None:
    assert _indexes() == {
        ("seq",): True,  # the chain's order, and its end
        ("hash",): True,  # no two events with one hash
        ("at_us",): False,  # the trail between two moments
        ("action",): False,  # the trail by what happened
        ("case_id", "seq"): False,  # a case's timeline
        ("actor_username", "seq"): False,  # what one person did, by the name kept with it
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own index classes")
def test_it_keeps_no_pattern_matching_copy_of_an_index_on_postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'audit_event' "
            "AND indexdef LIKE '%%pattern_ops%%'"
        )
        assert cursor.fetchall() == []

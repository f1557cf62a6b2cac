"""A SafeStep release that revises its shipped definition: open cases follow a revision
that keeps their steps, so safeguards it declares (disclosures, roles) reach them too."""

from __future__ import annotations

from safestep.audit.models import Event
from safestep.cases.models import Case
from safestep.cases.services import cases_adopt_shipped_revisions
from safestep.definitions.services import protocol_load
from safestep.protocol import shipped_protocol_paths

SHIPPED = shipped_protocol_paths()[0].read_text(encoding="utf-8")


def test_it_moves_open_cases_to_a_revision_that_keeps_their_steps(open_case):
    case = open_case()
    first = case.protocol
    revised = SHIPPED.replace(
        "title: CSEC Reporting Protocol", "title: CSEC Reporting Protocol (r2)"
    )
    newer = protocol_load(text=revised, source_name="shipped:r2", new_revision_allowed=True).version
    assert cases_adopt_shipped_revisions() == 1
    moved = Case.objects.get(pk=case.pk)
    assert (moved.protocol_id, moved.version) == (newer.pk, case.version + 1)
    assert moved.protocol_id != first.pk
    event = Event.objects.get(action="case.protocol_revision", case_id=case.pk)
    assert (event.payload["from_revision"], event.payload["to_revision"]) == (1, 2)
    assert cases_adopt_shipped_revisions() == 0


def test_it_leaves_cases_on_a_revision_that_changes_their_steps(open_case):
    case = open_case("recruitment_by_student")
    changed = SHIPPED.replace("      - school_consequences                   # A3\n", "", 1)
    assert changed != SHIPPED
    protocol_load(text=changed, source_name="shipped:r2", new_revision_allowed=True)
    assert cases_adopt_shipped_revisions() == 0
    assert Case.objects.get(pk=case.pk).protocol_id == case.protocol_id

"""Storing protocol versions: immutable, keyed by content, loaded idempotently."""

from __future__ import annotations

import pytest

from safestep.audit.models import Event
from safestep.core.errors import Conflict
from safestep.definitions.models import ProtocolVersion
from safestep.definitions.services import protocol_load, protocol_load_shipped
from safestep.protocol import ProtocolInvalid, shipped_protocol_paths

SHIPPED = shipped_protocol_paths()[0].read_text(encoding="utf-8")


def test_it_loads_the_shipped_protocol_once(db):
    first = protocol_load_shipped()
    again = protocol_load_shipped()
    assert [result.created for result in first] == [True]
    assert [result.created for result in again] == [False]
    assert ProtocolVersion.objects.count() == 1
    assert Event.objects.filter(action="protocol.load").count() == 1


def test_it_refuses_changed_content_under_the_same_version(db):
    protocol_load(text=SHIPPED, source_name="a.yaml")
    changed = SHIPPED.replace("title: CSEC Reporting Protocol", "title: CSEC Protocol (edited)")
    with pytest.raises(Conflict, match="new version"):
        protocol_load(text=changed, source_name="b.yaml")
    renamed = changed.replace('version: "2012-03"', 'version: "2012-03-local"')
    assert protocol_load(text=renamed, source_name="b.yaml").created
    assert ProtocolVersion.objects.count() == 2


def test_it_stores_a_revised_shipped_definition_as_a_new_revision_of_its_version(db):
    older = SHIPPED.replace("title: CSEC Reporting Protocol", "title: CSEC Protocol (older)")
    first = protocol_load(text=older, source_name="shipped:old.yaml", new_revision_allowed=True)
    (current,) = protocol_load_shipped()
    assert current.created
    assert (first.version.version, first.version.revision) == ("2012-03", 1)
    assert (current.version.version, current.version.revision) == ("2012-03", 2)
    # A case opened on the older revision keeps it: the row is still there, unchanged.
    assert ProtocolVersion.objects.get(pk=first.version.pk).source_text == older


def test_it_stores_nothing_from_an_invalid_file(db):
    with pytest.raises(ProtocolInvalid):
        protocol_load(
            text=SHIPPED.replace("actors: [school_police]", "actors: [janitor]"),
            source_name="broken.yaml",
        )
    assert not ProtocolVersion.objects.exists()
    assert not Event.objects.exists()

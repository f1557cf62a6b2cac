"""The active protocol: the one new concerns and cases follow, chosen by an operator."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from safestep.audit.models import Event
from safestep.core.errors import PermissionDenied, ValidationFailed
from safestep.definitions.models import ActiveProtocol
from safestep.definitions.outputs import protocol_output
from safestep.definitions.selectors import SHIPPED_PROTOCOL_ID, protocol_active
from safestep.definitions.services import (
    protocol_activate,
    protocol_load,
    protocol_load_shipped,
)
from safestep.protocol import shipped_protocol_paths

CA_GENERIC_PATH = (
    Path(__file__).resolve().parents[2] / "cases" / "tests" / "protocols" / "ca-generic.yaml"
)
CA_GENERIC = CA_GENERIC_PATH.read_text(encoding="utf-8")
SHIPPED = shipped_protocol_paths()[0].read_text(encoding="utf-8")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("protocol", *args, stdout=out)
    return out.getvalue()


def test_it_follows_the_shipped_protocol_until_another_is_activated(db):
    (shipped,) = protocol_load_shipped()
    other = protocol_load(text=CA_GENERIC, source_name="ca-generic.yaml").version
    assert protocol_active() == shipped.version
    assert protocol_active().protocol_id == SHIPPED_PROTOCOL_ID

    assert protocol_activate(acting_user=None, protocol_id="ca-generic", version=None) == other
    assert protocol_active() == other
    assert ActiveProtocol.objects.count() == 1

    # Back to the shipped one: still one row.
    protocol_activate(acting_user=None, protocol_id=SHIPPED_PROTOCOL_ID, version="2012-03")
    assert protocol_active() == shipped.version
    assert ActiveProtocol.objects.count() == 1


def test_it_records_each_activation_in_the_trail(district):
    protocol_load(text=CA_GENERIC, source_name="ca-generic.yaml")
    coordinator = district["district_coordinator"]
    protocol_activate(acting_user=coordinator, protocol_id="ca-generic", version=None)
    event = Event.objects.get(action="protocol.activate")
    assert event.actor == coordinator
    assert event.payload["protocol"] == "ca-generic"
    assert event.payload["version"] == "2026-01"
    assert event.payload["previous"] == f"{SHIPPED_PROTOCOL_ID}@2012-03"


def test_it_lets_only_those_who_manage_protocols_activate_one(district):
    protocol_load(text=CA_GENERIC, source_name="ca-generic.yaml")
    with pytest.raises(PermissionDenied):
        protocol_activate(acting_user=district["counselor"], protocol_id="ca-generic", version=None)
    assert protocol_active().protocol_id == SHIPPED_PROTOCOL_ID
    assert not Event.objects.filter(action="protocol.activate").exists()


def test_it_refuses_an_unknown_protocol_or_version_naming_which(db):
    protocol_load_shipped()
    with pytest.raises(ValidationFailed) as unknown:
        protocol_activate(acting_user=None, protocol_id="nope", version=None)
    assert list(unknown.value.errors) == ["protocol"]
    assert SHIPPED_PROTOCOL_ID in unknown.value.errors["protocol"][0]
    with pytest.raises(ValidationFailed) as wrong_version:
        protocol_activate(acting_user=None, protocol_id=SHIPPED_PROTOCOL_ID, version="1999")
    assert list(wrong_version.value.errors) == ["version"]
    assert "2012-03" in wrong_version.value.errors["version"][0]
    assert not ActiveProtocol.objects.exists()


def test_it_refuses_a_protocol_without_a_child_abuse_report_naming_the_role(db):
    protocol_load_shipped()
    # Loading it is fine: such a protocol simply has none of the report's safeguards.
    protocol_load(
        text=CA_GENERIC.replace("    role: child_abuse_report\n", ""),
        source_name="no-report.yaml",
    )
    with pytest.raises(ValidationFailed) as refused:
        protocol_activate(acting_user=None, protocol_id="ca-generic", version=None)
    message = refused.value.errors["protocol"][0]
    assert "child_abuse_report" in message
    assert protocol_active().protocol_id == SHIPPED_PROTOCOL_ID


def test_it_refuses_a_protocol_naming_roles_the_install_has_no_accounts_for(db):
    nurse = CA_GENERIC.replace(
        "roles: [reporter, site_admin, counselor, school_police, district_coordinator]",
        "roles: [reporter, site_admin, counselor, school_police, district_coordinator, nurse]",
    ).replace("    actors: [counselor, site_admin]\n", "    actors: [nurse]\n")
    protocol_load(text=nurse, source_name="nurse.yaml")
    with pytest.raises(ValidationFailed) as refused:
        protocol_activate(acting_user=None, protocol_id="ca-generic", version=None)
    assert "nurse" in refused.value.errors["protocol"][0]
    assert not ActiveProtocol.objects.exists()


def test_it_refuses_a_protocol_whose_report_may_go_to_school_police(db):
    offered = CA_GENERIC.replace(
        "          - {value: sheriff, label: Sheriff, report_label: Eastfield County Sheriff}\n",
        "          - {value: sheriff, label: Sheriff, report_label: Eastfield County Sheriff}\n"
        "          - {value: school_police, label: School Police}\n",
    )
    # Without its refusal, and with School Police inside the district for the disclosure log.
    offered = (
        offered[: offered.index("        refused:")]
        + offered[offered.index("      - name: phoned_at") :]
    ).replace(
        "          sheriff: {type: law_enforcement, name: County Sheriff}\n",
        "          sheriff: {type: law_enforcement, name: County Sheriff}\n"
        "        inside: [school_police]\n",
    )
    protocol_load(text=offered, source_name="school-police.yaml")
    with pytest.raises(ValidationFailed) as refused:
        protocol_activate(acting_user=None, protocol_id="ca-generic", version=None)
    message = refused.value.errors["protocol"][0]
    assert "PC 11165.9" in message and "report_to_cps" in message
    assert not ActiveProtocol.objects.exists()


def test_it_keeps_the_activated_version_until_a_newer_one_is_activated(db):
    first = protocol_load(text=CA_GENERIC, source_name="v1.yaml").version
    protocol_activate(acting_user=None, protocol_id="ca-generic", version=None)
    second = protocol_load(
        text=CA_GENERIC.replace('version: "2026-01"', 'version: "2026-09"'),
        source_name="v2.yaml",
    ).version
    # Loading a newer version changes nothing until it is activated.
    assert protocol_active() == first
    protocol_activate(acting_user=None, protocol_id="ca-generic", version=None)
    assert protocol_active() == second
    protocol_activate(acting_user=None, protocol_id="ca-generic", version="2026-01")
    assert protocol_active() == first


def test_it_follows_a_releases_revision_of_the_activated_shipped_version(db):
    older = SHIPPED.replace("title: CSEC Reporting Protocol", "title: CSEC Protocol (older)")
    protocol_load(text=older, source_name="shipped:old.yaml", new_revision_allowed=True)
    protocol_activate(acting_user=None, protocol_id=SHIPPED_PROTOCOL_ID, version="2012-03")
    (revised,) = protocol_load_shipped()
    assert revised.version.revision == 2
    assert protocol_active() == revised.version


def test_it_never_holds_a_second_active_row(db):
    (shipped,) = protocol_load_shipped()
    with pytest.raises(IntegrityError), transaction.atomic():
        ActiveProtocol.objects.create(pk=2, version=shipped.version, activated_at=timezone.now())


def test_it_marks_the_active_version_over_the_api_shape(db):
    (shipped,) = protocol_load_shipped()
    other = protocol_load(text=CA_GENERIC, source_name="ca-generic.yaml").version
    assert protocol_output(shipped.version)["active"] is True
    assert protocol_output(other)["active"] is False
    protocol_activate(acting_user=None, protocol_id="ca-generic", version=None)
    assert protocol_output(shipped.version)["active"] is False
    assert protocol_output(other)["active"] is True


def test_it_activates_from_the_command_line_and_lists_the_active_one(db):
    run("load", str(shipped_protocol_paths()[0]))
    run("load", str(CA_GENERIC_PATH))
    listed = run("list").splitlines()
    assert [line.split("\t")[0] for line in listed if line.endswith("\tactive")] == [
        SHIPPED_PROTOCOL_ID
    ]

    said = run("activate", "ca-generic", "--version", "2026-01")
    assert said.startswith("activated ca-generic 2026-01 (")
    listed = run("list").splitlines()
    assert [line.split("\t")[0] for line in listed if line.endswith("\tactive")] == ["ca-generic"]
    assert Event.objects.get(action="protocol.activate").actor is None


@pytest.mark.parametrize(
    ("args", "named"),
    [(("nope",), "protocol: "), (("ca-generic", "--version", "1999"), "version: ")],
)
def test_it_refuses_on_the_command_line_with_one_line_and_exit_2(db, args, named):
    run("load", str(CA_GENERIC_PATH))
    with pytest.raises(CommandError) as refused:
        run("activate", *args)
    assert refused.value.returncode == 2
    assert str(refused.value).startswith(named)
    assert "\n" not in str(refused.value)

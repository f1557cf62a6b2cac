"""`safestep protocol ...` as an operator uses it."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from safestep.protocol import shipped_protocol_paths

SHIPPED = shipped_protocol_paths()[0]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("protocol", *args, stdout=out)
    return out.getvalue()


def test_it_validates_the_shipped_file(db):
    assert run("validate", str(SHIPPED)).strip() == (
        f"{SHIPPED}: valid: sdusd-csec 2012-03, 3 pathways, 18 steps"
    )


def test_it_refuses_a_broken_copy_with_located_messages_and_exit_1(tmp_path, capsys, db):
    broken = tmp_path / "broken.yaml"
    text = SHIPPED.read_text().replace(
        "    actors: [school_police]\n", "    actors: [janitor]\n", 1
    )
    broken.write_text(
        text.replace("  - id: campus_impact\n", "  - id: campus_impact\n    colour: red\n", 1)
    )
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("protocol", "validate", str(broken), stderr=err)
    assert exit_code.value.code == 1
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{broken}:") for line in lines)
    assert any("unknown key 'colour'" in line for line in lines)
    assert any("janitor" in line for line in lines)


def test_it_loads_lists_and_shows(db):
    assert run("load", str(SHIPPED)).startswith("loaded sdusd-csec 2012-03")
    assert run("load", str(SHIPPED)).startswith("unchanged: sdusd-csec 2012-03")
    assert run("list").startswith("sdusd-csec\t2012-03\t")
    shown = run("show", "sdusd-csec")
    assert "B2 cws_report" in shown and "due PT36H after suspicion_formed_at" in shown
    assert "C5 le_trafficking_entry" in shown and "police-only details" in shown


def test_it_says_clearly_when_a_protocol_is_not_loaded(db):
    with pytest.raises(CommandError, match="no protocol nope is loaded"):
        run("show", "nope")


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg"])
def test_it_renders_all_three_pathways(db, fmt):
    run("load", str(SHIPPED))
    drawn = run("render", "sdusd-csec", "--format", fmt)
    for code in ("A1", "A3", "B7", "C8"):
        assert code in drawn
    if fmt == "svg":
        ET.fromstring(drawn)


def test_it_colours_a_rendering_by_a_cases_progress(district, open_case):
    case = open_case("confirmed_victim")
    drawn = run("render", "sdusd-csec", "--format", "mermaid", "--case", str(case.pk))
    assert "pending" in drawn or "classDef" in drawn

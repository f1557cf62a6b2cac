"""Flowcharts: Mermaid, DOT and a pure-Python SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from safestep.protocol import (
    STATE_STYLES,
    Protocol,
    load_protocol_text,
    render_dot,
    render_mermaid,
    render_svg,
)
from safestep.protocol.tests.support import MINI, edit

SVG = "{http://www.w3.org/2000/svg}"
CASE_STATES = {
    "police_involved": "done",
    "cws_report": "overdue",
    "campus_impact": "pending",
    "le_trafficking_entry": "not_required",
    "parent_contact": "not_applicable",
    "service_referral": "waiting",
    "regular_contact": "in_progress",
}


def tricky_protocol() -> Protocol:
    """Titles with characters that every output format must escape."""
    text = edit(MINI, "title: First step", 'title: "Call <police> & \\"CWS\\" #1"')
    text = edit(text, "title: Test protocol", "title: 'Tom & Jerry''s <protocol>'")
    return load_protocol_text(text, "tricky.yaml")


# Mermaid ---------------------------------------------------------------------------


def test_it_draws_every_pathway_as_a_mermaid_subgraph(shipped: Protocol):
    text = render_mermaid(shipped)
    assert "flowchart LR" in text
    for pathway in shipped.pathways:
        assert f"subgraph {pathway.id}[" in text
        for step in pathway.steps:
            assert f'{pathway.id}__{step.id}["<b>{step.code} · ' in text
    # Order edges: n - 1 per pathway.
    assert len(re.findall(r"^    \w+ --> \w+$", text, flags=re.M)) == 2 + 6 + 7
    assert (
        "suspected_victim__police_involved -. waits for .-> "
        "suspected_victim__le_trafficking_entry" in text
    )
    assert "confirmed_victim__police_involved -. waits for .-> " in text
    assert 'suspected_victim ==>|"escalate: The student is confirmed as a victim"| ' in text
    assert "classDef" not in text  # no states, no colours, no legend


def test_it_colours_mermaid_nodes_by_state_with_a_legend(shipped: Protocol):
    text = render_mermaid(shipped, states=CASE_STATES, pathway_id="suspected_victim")
    assert "subgraph confirmed_victim" not in text
    assert "escalate" not in text  # the target pathway is not drawn
    assert "class suspected_victim__police_involved done" in text
    assert "class suspected_victim__campus_impact pending" in text
    assert "class suspected_victim__regular_contact in_progress" in text
    assert "class suspected_victim__cws_report overdue" in text
    for state, style in STATE_STYLES.items():
        assert f"classDef {state} fill:{style.fill}" in text
        assert f'legend_{state}["{style.label}"]:::{state}' in text


def test_it_escapes_mermaid_labels():
    text = render_mermaid(tricky_protocol())
    assert "Call #lt;police#gt; #amp; #quot;CWS#quot; #35;1" in text
    assert "<police>" not in text


# DOT -------------------------------------------------------------------------------


def test_it_draws_every_pathway_as_a_dot_cluster(shipped: Protocol):
    text = render_dot(shipped)
    assert text.startswith('digraph "sdusd-csec" {')
    assert text.rstrip().endswith("}")
    for pathway in shipped.pathways:
        assert f'subgraph "cluster_{pathway.id}" {{' in text
    assert text.count("style=dashed") == 3  # B4, C4, C5 wait for police involvement
    assert 'ltail="cluster_suspected_victim", lhead="cluster_confirmed_victim"' in text
    assert "cluster_legend" not in text


def test_it_colours_dot_nodes_by_state(shipped: Protocol):
    text = render_dot(shipped, states=CASE_STATES, pathway_id="suspected_victim")
    done = STATE_STYLES["done"]
    assert re.search(
        r'"suspected_victim__police_involved" \[label="[^"]*", '
        rf'fillcolor="{done.fill}", color="{done.stroke}"',
        text,
    )
    assert '"cluster_legend"' in text
    assert "confirmed_victim" not in text


def test_it_escapes_dot_strings():
    text = render_dot(tricky_protocol())
    assert r"Call <police> & \"CWS\" #1" in text


# SVG -------------------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def find(element: ET.Element, path: str) -> ET.Element:
    found = element.find(path)
    assert found is not None, f"nothing at {path}"
    return found


def text_of(element: ET.Element, path: str) -> str:
    return find(element, path).text or ""


def test_it_renders_valid_svg_with_titles_for_screen_readers(shipped: Protocol):
    root = parse(render_svg(shipped))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "diagram-title diagram-desc"
    assert text_of(root, f"{SVG}title") == ("CSEC Reporting Protocol (sdusd-csec, version 2012-03)")
    steps = [g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("step")]
    assert len(steps) == 3 + 7 + 8
    for group in steps:
        assert "Who acts:" in text_of(group, f"{SVG}title")
    b2 = next(g for g in steps if g.get("id") == "step-suspected_victim__cws_report")
    assert text_of(b2, f"{SVG}title").startswith(
        "B2 · Submit a Child Welfare Services report (SS 8572). Who acts: site_admin, counselor"
    )
    assert root.find(f"{SVG}desc") is not None
    assert root.find(f".//{SVG}g[@id='legend']") is None


def test_it_wraps_long_titles_in_the_svg(shipped: Protocol):
    root = parse(render_svg(shipped))
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert max(len(t) for t in texts if not t.startswith("CSEC Reporting")) <= 50
    # B6's long title spans several lines of one box.
    b6 = find(root, f".//{SVG}g[@id='step-suspected_victim__service_referral']")
    assert len([t for t in b6.iter(f"{SVG}text") if t.get("font-weight") == "bold"]) >= 3


def test_it_colours_svg_boxes_by_state_and_adds_a_legend(shipped: Protocol):
    root = parse(render_svg(shipped, states=CASE_STATES, pathway_id="suspected_victim"))
    for step_id, state in CASE_STATES.items():
        group = find(root, f".//{SVG}g[@id='step-suspected_victim__{step_id}']")
        assert group.get("class") == f"step state-{state}"
        assert find(group, f"{SVG}rect").get("fill") == STATE_STYLES[state].fill
        assert text_of(group, f"{SVG}title").endswith(f"State: {STATE_STYLES[state].label}.")
    legend = find(root, f".//{SVG}g[@id='legend']")
    labels = [t.text for t in legend.iter(f"{SVG}text")]
    assert labels == ["Legend", *(style.label for style in STATE_STYLES.values())]
    assert root.find(f".//{SVG}g[@id='pathway-confirmed_victim']") is None


def test_it_tells_work_in_progress_apart_without_relying_on_colour(shipped: Protocol):
    root = parse(render_svg(shipped, states=CASE_STATES, pathway_id="suspected_victim"))
    started = find(root, f".//{SVG}g[@id='step-suspected_victim__regular_contact']")
    assert text_of(started, f"{SVG}title").endswith("State: In progress.")
    assert find(started, f"{SVG}rect").get("stroke-width") == "3"
    to_do = find(root, f".//{SVG}g[@id='step-suspected_victim__campus_impact']")
    assert find(to_do, f"{SVG}rect").get("stroke-width") == "1.5"
    dot = render_dot(shipped, states=CASE_STATES)
    assert f'fillcolor="{STATE_STYLES["in_progress"].fill}"' in dot
    assert 'label="In progress"' in dot


def test_it_draws_dependency_and_escalation_arrows_in_the_svg(shipped: Protocol):
    root = parse(render_svg(shipped))
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "B4 waits for B1" in titles
    assert "C4 waits for C1" in titles
    assert (
        "Escalation from Suspected victim of CSEC to Confirmed victim of CSEC: "
        "The student is confirmed as a victim"
    ) in titles


def test_it_escapes_svg_text():
    svg = render_svg(tricky_protocol())
    root = parse(svg)  # would fail on a raw "<" or "&"
    assert text_of(root, f"{SVG}title").startswith("Tom & Jerry's <protocol>")
    assert "Call &lt;police&gt; &amp;" in svg


def test_it_renders_the_same_bytes_every_time(shipped: Protocol):
    assert render_svg(shipped, states=CASE_STATES) == render_svg(shipped, states=CASE_STATES)
    assert render_dot(shipped) == render_dot(shipped)
    assert render_mermaid(shipped) == render_mermaid(shipped)


@pytest.mark.parametrize("render", [render_mermaid, render_dot, render_svg])
def test_it_refuses_an_unknown_state(shipped: Protocol, render):
    with pytest.raises(ValueError, match="unknown state 'finished'"):
        render(shipped, states={"cws_report": "finished"})


@pytest.mark.parametrize("render", [render_mermaid, render_dot, render_svg])
def test_it_refuses_an_unknown_pathway(shipped: Protocol, render):
    with pytest.raises(KeyError):
        render(shipped, pathway_id="nowhere")

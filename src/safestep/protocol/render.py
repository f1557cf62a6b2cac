"""The protocol as a flowchart: Mermaid, Graphviz DOT, or a self-contained SVG.

Each pathway is a column of its steps in order of work. Solid arrows give that
order; dashed arrows show that a step waits for another (``depends_on``); bold
arrows between columns are the escalations the protocol declares (a case may move
between any two pathways; these are the moves it has words for). Given ``states``
(step id -> state, for one case), steps are coloured by state and a legend is added.

The SVG is laid out here, in pure Python, so rendering needs no system package: the
layout is a fixed grid, so the same input always gives byte-for-byte the same output.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from safestep.protocol.conditions import describe_condition
from safestep.protocol.model import Pathway, Protocol, Step

__all__ = ["STATE_STYLES", "render_dot", "render_mermaid", "render_svg"]


@dataclass(frozen=True, slots=True)
class StateStyle:
    label: str
    fill: str
    stroke: str


# Colours chosen to stay readable in print and for common colour-vision deficiencies:
# every state also differs in lightness, and the legend names each one.
STATE_STYLES: dict[str, StateStyle] = {
    "done": StateStyle("Done", "#cdebd0", "#2e7d32"),
    "not_applicable": StateStyle("Does not apply", "#d4d4d4", "#5f5f5f"),
    "not_required": StateStyle("Not required", "#f3f3f3", "#9e9e9e"),
    "pending": StateStyle("To do", "#ffe0a3", "#a35f00"),
    # Started but not finished (e.g. phoned in, written report to follow).
    "in_progress": StateStyle("In progress", "#e4d7f5", "#5b2d9e"),
    "waiting": StateStyle("Waiting for another step", "#d3e3f6", "#1f5fa8"),
    "overdue": StateStyle("Overdue", "#f6c4c4", "#b71c1c"),
}
_PLAIN = StateStyle("", "#ffffff", "#444444")
# In the SVG some states also differ in outline, so they are told apart without colour:
# not required is dashed, in progress has a heavy border.
_STATE_OUTLINES = {
    "not_required": ' stroke-width="1.5" stroke-dasharray="5 3"',
    "in_progress": ' stroke-width="3"',
}


# A neutral picture of the diagram, shared by the three formats -------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    node_id: str
    step: Step
    state: str | None

    @property
    def heading(self) -> str:
        return f"{self.step.code} · {self.step.title}"

    @property
    def roles(self) -> str:
        return ", ".join(self.step.actor_roles)

    @property
    def notes(self) -> str:
        parts = []
        if self.step.condition is not None:
            parts.append(f"only if {describe_condition(self.step.condition)}")
        if self.step.deadline is not None:
            parts.append(f"due {self.step.deadline.describe()}")
        if self.step.recurring:
            parts.append("ongoing")
        if self.step.police_only:
            parts.append("police only")
        return "; ".join(parts)

    @property
    def style(self) -> StateStyle:
        return STATE_STYLES[self.state] if self.state else _PLAIN

    def describe(self) -> str:
        """Full text for screen readers and tooltips."""
        text = f"{self.heading}. Who acts: {self.roles}."
        if self.notes:
            text += f" {self.notes[0].upper()}{self.notes[1:]}."
        if self.state:
            text += f" State: {self.style.label}."
        return text


@dataclass(frozen=True, slots=True)
class _Column:
    pathway: Pathway
    nodes: tuple[_Node, ...]

    @property
    def cluster_id(self) -> str:
        return self.pathway.id

    @property
    def heading(self) -> str:
        return f"{self.pathway.code} · {self.pathway.title}"

    def node(self, step_id: str) -> _Node:
        return next(node for node in self.nodes if node.step.id == step_id)


@dataclass(frozen=True, slots=True)
class _Diagram:
    protocol: Protocol
    columns: tuple[_Column, ...]
    escalations: tuple[tuple[_Column, _Column, str], ...]
    show_legend: bool

    @property
    def title(self) -> str:
        return f"{self.protocol.title} ({self.protocol.id}, version {self.protocol.version})"

    def dependencies(self, column: _Column) -> list[tuple[_Node, _Node]]:
        """(dependency, dependent) pairs within one column."""
        pairs = []
        for node in column.nodes:
            for dependency in node.step.depends_on:
                if column.pathway.has_step(dependency):
                    pairs.append((column.node(dependency), node))
        return pairs


def _build(
    protocol: Protocol, states: Mapping[str, str] | None, pathway_id: str | None
) -> _Diagram:
    for step_id, state in (states or {}).items():
        if state not in STATE_STYLES:
            raise ValueError(
                f"unknown state {state!r} for step {step_id!r}; "
                f"expected one of: {', '.join(STATE_STYLES)}"
            )
    pathways = protocol.pathways if pathway_id is None else (protocol.pathway(pathway_id),)
    columns = tuple(
        _Column(
            pathway,
            tuple(
                _Node(f"{pathway.id}__{step.id}", step, (states or {}).get(step.id))
                for step in pathway.steps
            ),
        )
        for pathway in pathways
    )
    by_id = {column.pathway.id: column for column in columns}
    escalations = tuple(
        (by_id[e.from_pathway], by_id[e.to_pathway], e.title)
        for e in protocol.escalations
        if e.from_pathway in by_id and e.to_pathway in by_id
    )
    return _Diagram(protocol, columns, escalations, show_legend=bool(states))


# Mermaid ---------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    # Mermaid reads "#name;" as an entity, so write the risky characters that way.
    replacements = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
    return "".join(replacements.get(char, char) for char in text)


def render_mermaid(
    protocol: Protocol,
    *,
    states: Mapping[str, str] | None = None,
    pathway_id: str | None = None,
) -> str:
    """A Mermaid ``flowchart``: one subgraph per pathway."""
    diagram = _build(protocol, states, pathway_id)
    lines = [
        "---",
        f"title: {_mermaid_text(diagram.title)}",
        "---",
        "flowchart LR",
    ]
    for column in diagram.columns:
        lines.append(f'  subgraph {column.cluster_id}["{_mermaid_text(column.heading)}"]')
        lines.append("    direction TB")
        for node in column.nodes:
            label = f"<b>{_mermaid_text(node.heading)}</b><br/>{_mermaid_text(node.roles)}"
            if node.notes:
                label += f"<br/><i>{_mermaid_text(node.notes)}</i>"
            lines.append(f'    {node.node_id}["{label}"]')
        for before, after in zip(column.nodes, column.nodes[1:], strict=False):
            lines.append(f"    {before.node_id} --> {after.node_id}")
        lines.append("  end")
    for column in diagram.columns:
        for dependency, dependent in diagram.dependencies(column):
            lines.append(f"  {dependency.node_id} -. waits for .-> {dependent.node_id}")
    for source, target, title in diagram.escalations:
        lines.append(
            f'  {source.cluster_id} ==>|"{_mermaid_text("escalate: " + title)}"| '
            f"{target.cluster_id}"
        )
    if diagram.show_legend:
        lines.append('  subgraph legend["Legend"]')
        lines.append("    direction TB")
        for state, style in STATE_STYLES.items():
            lines.append(f'    legend_{state}["{_mermaid_text(style.label)}"]:::{state}')
        lines.append("  end")
        for state, style in STATE_STYLES.items():
            lines.append(f"  classDef {state} fill:{style.fill},stroke:{style.stroke},color:#000")
        for state in STATE_STYLES:
            members = [n.node_id for c in diagram.columns for n in c.nodes if n.state == state]
            if members:
                lines.append(f"  class {','.join(members)} {state}")
    return "\n".join(lines) + "\n"


# Graphviz DOT ----------------------------------------------------------------------


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(
    protocol: Protocol,
    *,
    states: Mapping[str, str] | None = None,
    pathway_id: str | None = None,
) -> str:
    """A Graphviz ``digraph``: one cluster per pathway."""
    diagram = _build(protocol, states, pathway_id)
    out = [
        f"digraph {_dot_string(protocol.id)} {{",
        f"  graph [rankdir=TB, compound=true, newrank=true, fontname=Helvetica, "
        f"labelloc=t, label={_dot_string(diagram.title)}];",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", '
        "fontname=Helvetica, fontsize=10];",
        "  edge [fontname=Helvetica, fontsize=9];",
    ]
    for column in diagram.columns:
        out.append(f"  subgraph {_dot_string('cluster_' + column.cluster_id)} {{")
        out.append(f"    label={_dot_string(column.heading)};")
        for node in column.nodes:
            text = "\n".join([*_wrap(node.heading, 34), node.roles, *_wrap(node.notes, 40)])
            style = node.style
            out.append(
                f"    {_dot_string(node.node_id)} [label={_dot_string(text)}, "
                f'fillcolor="{style.fill}", color="{style.stroke}", '
                f"tooltip={_dot_string(node.describe())}];"
            )
        for before, after in zip(column.nodes, column.nodes[1:], strict=False):
            out.append(f"    {_dot_string(before.node_id)} -> {_dot_string(after.node_id)};")
        out.append("  }")
    for column in diagram.columns:
        for dependency, dependent in diagram.dependencies(column):
            out.append(
                f"  {_dot_string(dependency.node_id)} -> {_dot_string(dependent.node_id)} "
                '[style=dashed, constraint=false, label="waits for"];'
            )
    for source, target, title in diagram.escalations:
        out.append(
            f"  {_dot_string(source.nodes[0].node_id)} -> {_dot_string(target.nodes[0].node_id)} "
            f"[ltail={_dot_string('cluster_' + source.cluster_id)}, "
            f"lhead={_dot_string('cluster_' + target.cluster_id)}, style=bold, "
            f"constraint=false, label={_dot_string('escalate: ' + title)}];"
        )
    if diagram.show_legend:
        out.append('  subgraph "cluster_legend" {')
        out.append('    label="Legend";')
        for state, style in STATE_STYLES.items():
            out.append(
                f"    {_dot_string('legend_' + state)} [label={_dot_string(style.label)}, "
                f'fillcolor="{style.fill}", color="{style.stroke}"];'
            )
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


# SVG -------------------------------------------------------------------------------

_MARGIN = 24
_COLUMN_WIDTH = 280
_COLUMN_GAP = 96  # room for dashed "waits for" curves and escalation arrows
_NODE_GAP = 30
_PADDING = 10
_HEADING_SIZE = 13
_SMALL_SIZE = 11
_TITLE_HEIGHT = 34
_ESCALATION_LANE = 44
_DEPENDENCY_ROOM = 64
_TITLE_CHAR_WIDTH = 9.5  # generous average for the 16px bold title
# Rough average glyph widths for a sans-serif font, used only to wrap lines.
_HEADING_CHARS = int((_COLUMN_WIDTH - 2 * _PADDING) / 7.0)
_SMALL_CHARS = int((_COLUMN_WIDTH - 2 * _PADDING) / 5.9)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True) if text else []


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2

    @property
    def middle_y(self) -> float:
        return self.y + self.height / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def right(self) -> float:
        return self.x + self.width


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text_block(
    x: float, y: float, lines: list[tuple[str, int, str]], anchor: str = "start"
) -> list[str]:
    """<text> elements, one per line: (text, font size, extra attributes)."""
    out = []
    for text, size, extra in lines:
        y += _line_height(size)
        out.append(
            f'<text x="{_number(x)}" y="{_number(y - 4)}" font-size="{size}" '
            f'text-anchor="{anchor}"{extra}>{escape(text)}</text>'
        )
    return out


def _node_lines(node: _Node) -> list[tuple[str, int, str]]:
    lines = [
        (line, _HEADING_SIZE, ' font-weight="bold"') for line in _wrap(node.heading, _HEADING_CHARS)
    ]
    lines += [(line, _SMALL_SIZE, ' fill="#333333"') for line in _wrap(node.roles, _SMALL_CHARS)]
    lines += [
        (line, _SMALL_SIZE, ' font-style="italic" fill="#333333"')
        for line in _wrap(node.notes, _SMALL_CHARS)
    ]
    return lines


def _line_height(font_size: int) -> int:
    return font_size + 4


def _lines_height(lines: list[tuple[str, int, str]]) -> float:
    return sum(_line_height(size) for _, size, _ in lines)


def render_svg(
    protocol: Protocol,
    *,
    states: Mapping[str, str] | None = None,
    pathway_id: str | None = None,
) -> str:
    """A standalone SVG document (UTF-8 text), with <title> elements for screen readers."""
    diagram = _build(protocol, states, pathway_id)
    body: list[str] = []
    top = _MARGIN + _TITLE_HEIGHT + (_ESCALATION_LANE * len(diagram.escalations))
    headers: dict[str, _Box] = {}
    bottom: float = top
    for index, column in enumerate(diagram.columns):
        x = _MARGIN + index * (_COLUMN_WIDTH + _COLUMN_GAP)
        heading_lines = [
            (line, _HEADING_SIZE, ' font-weight="bold" fill="#ffffff"')
            for line in _wrap(column.heading, _HEADING_CHARS)
        ]
        header = _Box(x, top, _COLUMN_WIDTH, _lines_height(heading_lines) + 2 * _PADDING)
        headers[column.cluster_id] = header
        body.append(f'<g id={quoteattr("pathway-" + column.cluster_id)} class="pathway">')
        body.append(f"<title>{escape(column.heading)}</title>")
        body.append(
            f'<rect x="{_number(header.x)}" y="{_number(header.y)}" '
            f'width="{_number(header.width)}" height="{_number(header.height)}" rx="4" '
            'fill="#263238"/>'
        )
        body += _text_block(header.center_x, header.y + _PADDING, heading_lines, anchor="middle")
        y = header.bottom + _NODE_GAP
        boxes: dict[str, _Box] = {}
        previous: _Box | None = header
        for node in column.nodes:
            lines = _node_lines(node)
            box = _Box(x, y, _COLUMN_WIDTH, _lines_height(lines) + 2 * _PADDING)
            boxes[node.step.id] = box
            if previous is not None:
                body.append(
                    f'<line x1="{_number(box.center_x)}" y1="{_number(previous.bottom)}" '
                    f'x2="{_number(box.center_x)}" y2="{_number(box.y - 2)}" '
                    'stroke="#444444" stroke-width="1.5" marker-end="url(#arrow)"/>'
                )
            style = node.style
            state_class = f" state-{node.state}" if node.state else ""
            body.append(f'<g id={quoteattr("step-" + node.node_id)} class="step{state_class}">')
            body.append(f"<title>{escape(node.describe())}</title>")
            outline = _STATE_OUTLINES.get(node.state or "", ' stroke-width="1.5"')
            body.append(
                f'<rect x="{_number(box.x)}" y="{_number(box.y)}" width="{_number(box.width)}" '
                f'height="{_number(box.height)}" rx="6" fill="{style.fill}" '
                f'stroke="{style.stroke}"{outline}/>'
            )
            body += _text_block(box.x + _PADDING, box.y + _PADDING, lines)
            body.append("</g>")
            previous = box
            y = box.bottom + _NODE_GAP
        for offset, (dependency, dependent) in enumerate(diagram.dependencies(column)):
            start, end = boxes[dependency.step.id], boxes[dependent.step.id]
            bulge = start.right + 28 + 12 * offset
            body.append(
                f'<path d="M {_number(start.right)} {_number(start.middle_y)} '
                f"C {_number(bulge)} {_number(start.middle_y)}, {_number(bulge)} "
                f'{_number(end.middle_y)}, {_number(end.right + 2)} {_number(end.middle_y)}" '
                'fill="none" stroke="#1f5fa8" stroke-width="1.2" stroke-dasharray="6 4" '
                'marker-end="url(#arrow-dependency)">'
                f"<title>{escape(dependent.step.code)} waits for "
                f"{escape(dependency.step.code)}</title></path>"
            )
        body.append("</g>")
        bottom = max(bottom, y)
    for lane, (source, target, title) in enumerate(diagram.escalations):
        start, end = headers[source.cluster_id], headers[target.cluster_id]
        rise = top - (_ESCALATION_LANE * (lane + 1)) + 8
        # A cubic curve with both control points at `rise` peaks 3/4 of the way up;
        # the label sits just above the peak so the line never crosses it.
        label_y = 0.25 * start.y + 0.75 * rise - 6
        label_x = (start.center_x + end.center_x) / 2
        body.append(
            f'<path d="M {_number(start.center_x)} {_number(start.y)} '
            f"C {_number(start.center_x)} {_number(rise)}, {_number(end.center_x)} "
            f'{_number(rise)}, {_number(end.center_x)} {_number(end.y - 2)}" fill="none" '
            'stroke="#6a1b9a" stroke-width="2.5" marker-end="url(#arrow-escalation)">'
            f"<title>Escalation from {escape(source.pathway.title)} to "
            f"{escape(target.pathway.title)}: {escape(title)}</title></path>"
        )
        body.append(
            f'<text x="{_number(label_x)}" y="{_number(label_y)}" font-size="{_SMALL_SIZE}" '
            f'text-anchor="middle" fill="#6a1b9a">{escape("escalate: " + title)}</text>'
        )
    columns = len(diagram.columns)
    width: float = _MARGIN * 2 + columns * _COLUMN_WIDTH + (columns - 1) * _COLUMN_GAP
    width += _DEPENDENCY_ROOM  # the last column's dashed curves bulge to its right
    width = max(width, _MARGIN * 2 + len(diagram.title) * _TITLE_CHAR_WIDTH)
    if diagram.show_legend:
        body.append('<g id="legend"><title>Legend: step states</title>')
        y = bottom
        body += _text_block(_MARGIN, y, [("Legend", _HEADING_SIZE, ' font-weight="bold"')])
        y += _line_height(_HEADING_SIZE) + 4
        for state, style in STATE_STYLES.items():
            outline = _STATE_OUTLINES.get(state, "")
            body.append(
                f'<rect x="{_MARGIN}" y="{_number(y)}" width="18" height="14" rx="3" '
                f'fill="{style.fill}" stroke="{style.stroke}"{outline}/>'
            )
            body.append(
                f'<text x="{_MARGIN + 26}" y="{_number(y + 11)}" font-size="{_SMALL_SIZE}">'
                f"{escape(style.label)}</text>"
            )
            y += 20
        body.append("</g>")
        bottom = y + _NODE_GAP
    height = bottom + _MARGIN - _NODE_GAP
    description = (
        f"Flowchart of {len(diagram.columns)} pathway(s): "
        + "; ".join(f"{column.heading}, {len(column.nodes)} steps" for column in diagram.columns)
        + ". Solid arrows give the order of work, dashed arrows show a step waiting for "
        "another, bold arrows show an allowed escalation."
    )
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_number(width)}" '
        f'height="{_number(height)}" viewBox="0 0 {_number(width)} {_number(height)}" '
        'role="img" aria-labelledby="diagram-title diagram-desc" '
        'font-family="Helvetica, Arial, sans-serif">',
        f'<title id="diagram-title">{escape(diagram.title)}</title>',
        f'<desc id="diagram-desc">{escape(description)}</desc>',
        "<defs>",
        _marker("arrow", "#444444"),
        _marker("arrow-dependency", "#1f5fa8"),
        _marker("arrow-escalation", "#6a1b9a"),
        "</defs>",
        f'<rect width="{_number(width)}" height="{_number(height)}" fill="#ffffff"/>',
        *_text_block(_MARGIN, _MARGIN - 4, [(diagram.title, 16, ' font-weight="bold"')]),
    ]
    return "\n".join([*head, *body, "</svg>"]) + "\n"


def _marker(marker_id: str, colour: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" '
        # User-space units keep every arrowhead the same size whatever the line width.
        'markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" '
        'orient="auto-start-reverse">'
        f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
    )

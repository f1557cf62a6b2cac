"""Loading protocol definition files, with a strict schema and precise errors.

``load_protocol_file`` and ``load_protocol_text`` either return a complete, checked
:class:`~safestep.protocol.model.Protocol` or raise :class:`ProtocolInvalid` listing
*every* problem found, each as ``SOURCE:LINE:COLUMN: message``. A definition with any
problem never loads, not even partly.

Work happens in two passes over the composed YAML node tree:

1. *Reading* (:mod:`safestep.protocol.reading`) checks shapes and types key by key
   and builds drafts, remembering the node of every name that refers to something
   else (a role, fact, step, pathway).
2. *Checking* (here) resolves those references, assembles each pathway's steps and checks
   the rules that span the file (same id = same step, no dependency cycles,
   escalations that keep every shared step ...).

When a whole section could not be read (say ``roles`` is not a list), references to
it are not checked: one real mistake should not bury the reader in follow-ups.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from yaml.nodes import Node

from safestep.protocol.issues import Issue, ProtocolInvalid
from safestep.protocol.model import Escalation, Pathway, Protocol, Step
from safestep.protocol.reading import (
    IDENTITY_ATTRIBUTES,
    IDENTITY_KEY_NAMES,
    DefinitionReader,
    EscalationDraft,
    PathwayDraft,
    StepDraft,
    StepEntry,
)
from safestep.protocol.yamlnodes import position, scalar_text, suggestion

__all__ = [
    "DEFINITIONS_DIR",
    "Issue",
    "ProtocolInvalid",
    "load_protocol_file",
    "load_protocol_text",
    "load_shipped_protocols",
    "shipped_protocol_paths",
]

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

# Checking pass -----------------------------------------------------------------------


class _DefinitionChecker:
    """Cross-references and whole-file rules, then assembly of the Protocol."""

    def __init__(self, reader: DefinitionReader) -> None:
        self.reader = reader
        self.error = reader.error
        # Every full step definition by id: the library first, then the first
        # definition written inside a pathway.
        self.definitions: dict[str, StepDraft] = dict(reader.library)
        self.inline_definitions: dict[str, list[StepDraft]] = {}
        for pathway in reader.pathways:
            for entry in pathway.entries:
                if entry.inline is not None:
                    self.inline_definitions.setdefault(entry.step_id, []).append(entry.inline)
                    self.definitions.setdefault(entry.step_id, entry.inline)
        self.known: dict[str, set[str]] = {
            "role": set(reader.roles),
            "fact": {fact.id for fact in reader.facts},
            "step": set(self.definitions),
        }

    def check(self) -> tuple[Pathway, ...]:
        self._check_references()
        self._check_same_step_everywhere()
        self._check_step_roles()
        self._check_form_fields()
        self._check_dependency_cycles()
        pathways = self._assemble_pathways()
        self._check_escalations({p.id: p for p in pathways})
        return pathways

    def _check_references(self) -> None:
        listings = {"role": "roles", "fact": "facts"}
        for ref in self.reader.refs:
            known = self.known[ref.kind]
            if not self.reader.complete[ref.kind] or ref.name in known:
                continue
            hint = suggestion(ref.name, known)
            if not hint and ref.kind in listings and known:
                hint = f"; {listings[ref.kind]} are: {', '.join(sorted(known))}"
            self.error(ref.node, f"unknown {ref.kind} {ref.name!r}{hint}")

    def _check_same_step_everywhere(self) -> None:
        for step_id, drafts in self.inline_definitions.items():
            first = drafts[0]
            for other in drafts[1:]:
                differ = [
                    IDENTITY_KEY_NAMES.get(name, name)
                    for name in IDENTITY_ATTRIBUTES
                    if first.identity()[name] != other.identity()[name]
                ]
                if differ:
                    line = position(first.id_node)[0]
                    self.error(
                        other.id_node,
                        f"step {step_id!r} differs from its definition in pathway "
                        f"{first.origin!r} (line {line}) in: {', '.join(differ)}; the same step "
                        "id must be the same step in every pathway (define it once under 'steps')",
                    )

    def _check_step_roles(self) -> None:
        """A step role names one step, so the application always finds the same one."""
        holders: dict[str, StepDraft] = {}
        by_position = sorted(self.definitions.values(), key=lambda d: position(d.id_node))
        for draft in by_position:
            if draft.role is None or draft.role_node is None:
                continue
            first = holders.setdefault(draft.role, draft)
            if first is not draft:
                line = position(first.id_node)[0]
                self.error(
                    draft.role_node,
                    f"role {draft.role!r} is already the role of step {first.id!r} "
                    f"(line {line}); a step role belongs to one step",
                )

    def _check_form_fields(self) -> None:
        """A field of the SS 8572 is filled from one field of one step, never two."""
        named: list[tuple[Node, StepDraft, str]] = [
            (node, draft, field_name)
            for draft in self.definitions.values()
            for field_name, node in draft.form_field_nodes.items()
        ]
        holders: dict[str, tuple[StepDraft, str, Node]] = {}
        for node, draft, field_name in sorted(named, key=lambda item: position(item[0])):
            form_field = scalar_text(node)
            if form_field not in holders:
                holders[form_field] = (draft, field_name, node)
                continue
            first_draft, first_field, first_node = holders[form_field]
            self.error(
                node,
                f"form field {form_field!r} is already filled by field {first_field!r} of "
                f"step {first_draft.id!r} (line {position(first_node)[0]}); each field of the "
                "form is filled from one field",
            )

    def _check_dependency_cycles(self) -> None:
        graph = {
            step_id: [d for d in draft.depends_on if d in self.definitions]
            for step_id, draft in self.definitions.items()
        }
        reported: set[frozenset[str]] = set()
        done: set[str] = set()

        def visit(step_id: str, path: list[str]) -> None:
            if step_id in done:
                return
            if step_id in path:
                cycle = path[path.index(step_id) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    self._report_cycle(cycle)
                return
            path.append(step_id)
            for dependency in graph[step_id]:
                visit(dependency, path)
            path.pop()
            done.add(step_id)

        for step_id in graph:
            visit(step_id, [])

    def _report_cycle(self, cycle: list[str]) -> None:
        # Start the story at the step defined first in the file, for a stable message.
        start = min(range(len(cycle)), key=lambda i: position(self.definitions[cycle[i]].id_node))
        ordered = cycle[start:] + cycle[:start]
        first = self.definitions[ordered[0]]
        next_id = ordered[1] if len(ordered) > 1 else ordered[0]
        node = next(n for n in first.depends_on_nodes if scalar_text(n) == next_id)
        self.error(node, "depends_on cycle: " + " -> ".join([*ordered, ordered[0]]))

    def _assemble_pathways(self) -> tuple[Pathway, ...]:
        pathways: list[Pathway] = []
        pathway_nodes: dict[str, Node] = {}
        code_nodes: dict[str, Node] = {}
        for draft in self.reader.pathways:
            if draft.id in pathway_nodes:
                line = position(pathway_nodes[draft.id])[0]
                self.error(
                    draft.id_node, f"duplicate pathway id {draft.id!r} (first at line {line})"
                )
                continue
            pathway_nodes[draft.id] = draft.id_node
            if draft.code and draft.code_node is not None:
                if draft.code in code_nodes:
                    line = position(code_nodes[draft.code])[0]
                    self.error(
                        draft.code_node,
                        f"duplicate pathway code {draft.code!r} (first at line {line})",
                    )
                code_nodes[draft.code] = draft.code_node
            pathways.append(self._assemble_pathway(draft))
        return tuple(pathways)

    def _assemble_pathway(self, draft: PathwayDraft) -> Pathway:
        steps: list[Step] = []
        entry_nodes: dict[str, Node] = {}
        for index, entry in enumerate(draft.entries, start=1):
            if entry.step_id in entry_nodes:
                line = position(entry_nodes[entry.step_id])[0]
                self.error(
                    entry.node,
                    f"step {entry.step_id!r} appears twice in pathway {draft.id!r} "
                    f"(first at line {line})",
                )
                continue
            entry_nodes[entry.step_id] = entry.node
            if entry.number is not None and entry.number != index and entry.number_node:
                self.error(
                    entry.number_node,
                    f"step number {entry.number} is out of order: this is step {index} of "
                    f"pathway {draft.id!r} (steps are numbered 1, 2, 3 ... in order)",
                )
            definition = entry.inline or self.definitions.get(entry.step_id)
            if definition is None:
                if self.reader.complete["step"]:
                    hint = suggestion(entry.step_id, self.definitions)
                    self.error(entry.node, f"unknown step {entry.step_id!r}{hint}")
                continue
            steps.append(self._build_step(draft, index, entry, definition))
        ids_in_pathway = set(entry_nodes)
        for step in steps:
            self._check_within_pathway(draft, step, ids_in_pathway, entry_nodes[step.id])
        return Pathway(
            id=draft.id,
            code=draft.code,
            title=draft.title,
            description=draft.description,
            steps=tuple(steps),
            translations=draft.translations,
        )

    def _build_step(
        self, pathway: PathwayDraft, number: int, entry: StepEntry, definition: StepDraft
    ) -> Step:
        condition = entry.condition if entry.overrides_condition else definition.condition
        deadline = entry.deadline if entry.overrides_deadline else definition.deadline
        if deadline is not None and deadline.deadline.anchor_step == definition.id:
            self.error(deadline.from_node, "a step's deadline cannot count from the step itself")
        may_not_apply = (
            entry.may_not_apply if entry.may_not_apply is not None else definition.may_not_apply
        )
        return Step(
            id=definition.id,
            number=number,
            code=f"{pathway.code}{number}",
            title=entry.title or definition.title,
            guidance=entry.guidance if entry.guidance is not None else definition.guidance,
            actor_roles=definition.actor_roles,
            condition=condition,
            fields=definition.fields,
            deadline=deadline.deadline if deadline else None,
            depends_on=definition.depends_on,
            recurring=definition.recurring,
            police_only=definition.police_only,
            may_not_apply=may_not_apply,
            # Where the step may not be marked "does not apply", there is nothing to review.
            review_when_not_applicable=definition.review_when_not_applicable and may_not_apply,
            progress=definition.progress,
            done_at_field=definition.done_at_field,
            role=definition.role,
            discloses=definition.discloses,
            translations=_step_translations(entry, definition),
        )

    def _check_within_pathway(
        self, pathway: PathwayDraft, step: Step, ids_in_pathway: set[str], node: Node
    ) -> None:
        """What a step waits for, or counts its deadline from, must be in its pathway."""
        needed = list(step.depends_on)
        anchor_step = step.deadline.anchor_step if step.deadline else None
        if anchor_step is not None and anchor_step != step.id:
            needed.append(anchor_step)
        for other in needed:
            if other in self.known["step"] and other not in ids_in_pathway:
                why = "depends on" if other in step.depends_on else "has a deadline counted from"
                self.error(
                    node,
                    f"step {step.id!r} {why} {other!r}, which pathway {pathway.id!r} "
                    "does not include",
                )

    def _check_escalations(self, pathways: dict[str, Pathway]) -> None:
        seen: dict[tuple[str, str], Node] = {}
        for draft in self.reader.escalations:
            ends: list[Pathway | None] = []
            for end_id, end_node in (
                (draft.from_id, draft.from_node),
                (draft.to_id, draft.to_node),
            ):
                if end_id is None or end_node is None:
                    ends.append(None)
                    continue
                if end_id not in pathways:
                    if self.reader.complete["pathway"]:
                        hint = suggestion(end_id, pathways)
                        self.error(end_node, f"unknown pathway {end_id!r}{hint}")
                    ends.append(None)
                    continue
                ends.append(pathways[end_id])
            source, target = ends
            if source is None or target is None:
                continue
            if source.id == target.id:
                assert draft.to_node is not None
                self.error(draft.to_node, "an escalation must lead to a different pathway")
                continue
            if (source.id, target.id) in seen:
                line = position(seen[(source.id, target.id)])[0]
                self.error(
                    draft.node,
                    f"duplicate escalation from {source.id!r} to {target.id!r} "
                    f"(first at line {line})",
                )
                continue
            seen[(source.id, target.id)] = draft.node
            self._check_carries(draft, source, target)

    def _check_carries(self, draft: EscalationDraft, source: Pathway, target: Pathway) -> None:
        shared = [step_id for step_id in source.step_ids if target.has_step(step_id)]
        carried = [name for name, _ in draft.carries]
        for name, node in draft.carries:
            if name in shared:
                continue
            if name not in self.known["step"]:
                hint = suggestion(name, shared)
                self.error(node, f"unknown step {name!r}{hint}")
                continue
            missing_from = source.id if not source.has_step(name) else target.id
            self.error(
                node,
                f"{name!r} cannot be carried: pathway {missing_from!r} does not include it",
            )
        if draft.carries_node is None:
            return
        for step_id in shared:
            if step_id not in carried:
                self.error(
                    draft.carries_node,
                    f"carries must include {step_id!r}: the step is in both pathways, and an "
                    "escalation never drops work already done",
                )


# Public API ------------------------------------------------------------------------


def canonical_text(text: str) -> str:
    """The text a definition is hashed and stored as: "\\n" line ends, no byte-order mark."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def load_protocol_text(text: str, source: str = "<protocol>") -> Protocol:
    """Load and check a definition from text; ``source`` names it in error messages."""
    text = canonical_text(text)
    reader = DefinitionReader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = error.problem or "cannot read the file"
        context = f" ({error.context})" if error.context else ""
        raise ProtocolInvalid(
            [Issue(source, line, column, f"YAML syntax error: {problem}{context}")]
        ) from None
    except yaml.YAMLError as error:  # e.g. a control character the YAML reader refuses
        offset = getattr(error, "position", 0) or 0
        line, column = _line_and_column(text, offset)
        raise ProtocolInvalid([Issue(source, line, column, f"YAML error: {error}")]) from None
    if root is None:
        raise ProtocolInvalid([Issue(source, 1, 1, "the file is empty")])
    reader.read(root)
    checker = _DefinitionChecker(reader)
    pathways = checker.check()
    if reader.issues:
        raise ProtocolInvalid(reader.issues)
    escalations = tuple(
        Escalation(
            from_pathway=draft.from_id or "",
            to_pathway=draft.to_id or "",
            title=draft.title or f"Move to: {_title_of(pathways, draft.to_id)}",
            carries=tuple(name for name, _ in draft.carries),
            translations=draft.translations if draft.title else {},
        )
        for draft in reader.escalations
    )
    header = reader.header
    return Protocol(
        id=header["id"],
        version=header["version"],
        title=header["title"],
        jurisdiction=header["jurisdiction"],
        time_zone=header["time_zone"],
        roles=tuple(reader.roles),
        facts=tuple(reader.facts),
        pathways=pathways,
        escalations=escalations,
        indicators=tuple(reader.indicators),
        source_text=text,
        translations=reader.header_translations,
    )


def load_protocol_file(path: str | Path) -> Protocol:
    """Load and check a definition file (UTF-8). Errors name the file as given."""
    source = str(path)
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8", "replace")
        line, column = _line_and_column(before, len(before))
        raise ProtocolInvalid(
            [Issue(source, line, column, "the file is not valid UTF-8 text")]
        ) from None
    return load_protocol_text(text, source)


def shipped_protocol_paths() -> list[Path]:
    """The definition files that ship with SafeStep, in name order."""
    return sorted(DEFINITIONS_DIR.glob("*.yaml"))


def load_shipped_protocols() -> list[Protocol]:
    """Every shipped definition, loaded (raises ProtocolInvalid if one is broken)."""
    return [load_protocol_file(path) for path in shipped_protocol_paths()]


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return line, column


def _step_translations(entry: StepEntry, definition: StepDraft) -> dict[str, dict[str, str]]:
    """A step's title and guidance translations, from where its English words come from:
    the pathway's own wording when it gives one, else the library's. A pathway that
    rewords a step in English only is shown in English, not in the library's Spanish."""
    translations: dict[str, dict[str, str]] = {}
    for key, overridden in (("title", bool(entry.title)), ("guidance", entry.guidance is not None)):
        source = entry.translations if overridden else definition.translations
        if key in source:
            translations[key] = source[key]
    return translations


def _title_of(pathways: Sequence[Pathway], pathway_id: str | None) -> str:
    return next((p.title for p in pathways if p.id == pathway_id), pathway_id or "")

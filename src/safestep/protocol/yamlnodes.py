"""Typed reading of a composed YAML node tree, collecting positioned issues.

The loader works on PyYAML's node tree (``yaml.compose``) rather than on the
constructed Python objects, because only nodes remember where they came from: every
problem can then be reported with its exact line and column. Each reader method
returns ``None`` after recording an issue, so one pass finds every problem.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from safestep.protocol.issues import Issue

TAG_STR = "tag:yaml.org,2002:str"
TAG_BOOL = "tag:yaml.org,2002:bool"
TAG_INT = "tag:yaml.org,2002:int"
TAG_NULL = "tag:yaml.org,2002:null"

# Lower-case words with underscores: ids that code, URLs and the database rely on.
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")

_SCALAR_KINDS = {
    TAG_STR: "the text",
    TAG_BOOL: "the yes/no value",
    TAG_INT: "the number",
    "tag:yaml.org,2002:float": "the number",
    TAG_NULL: "an empty value",
    "tag:yaml.org,2002:timestamp": "the date",
}

# A single constructor instance gives YAML 1.1's exact reading of booleans and
# integers (yes/no/on/off, 0x1F, 1_000 ...) without constructing whole documents.
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def suggestion(name: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or an empty string."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe(node: Node) -> str:
    """What a node is, for "expected X, got Y" messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    kind = _SCALAR_KINDS.get(node.tag, f"a value tagged {node.tag}")
    if node.tag == TAG_NULL:
        return kind
    shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f"{kind} {shown!r}"


def position(node: Node) -> tuple[int, int]:
    """1-based (line, column) where the node starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


@dataclass(frozen=True, slots=True)
class Entry:
    """A key of a mapping with its value, both nodes kept for positions."""

    key: ScalarNode
    value: Node


KeyMap = dict[str, Entry]


class NodeReader:
    """Reads nodes as typed values and records an issue for each problem."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[Issue] = []

    def error(self, node: Node, message: str) -> None:
        line, column = position(node)
        self.issues.append(Issue(self.source, line, column, message))

    def error_at(self, line: int, column: int, message: str) -> None:
        self.issues.append(Issue(self.source, line, column, message))

    # Containers --------------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        *,
        required: Sequence[str] = (),
        optional: Sequence[str] = (),
        what: str,
        misplaced: dict[str, str] | None = None,
    ) -> KeyMap | None:
        """Read a mapping with a closed set of keys.

        Reports: not a mapping, non-text keys, duplicate keys, unknown keys (with the
        closest valid key), and missing required keys (at the mapping itself).
        ``misplaced`` maps keys that are valid elsewhere to a message explaining why
        they are not allowed here. Returns the known keys only.
        """
        if not isinstance(node, MappingNode):
            self.error(node, f"{what}: expected a mapping, got {describe(node)}")
            return None
        allowed = [*required, *optional]
        found: KeyMap = {}
        first_seen: dict[str, ScalarNode] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "<<":
                self.error(key_node, "YAML merge keys (<<) are not supported; write the keys out")
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != TAG_STR:
                self.error(key_node, f"{what}: keys must be words, got {describe(key_node)}")
                continue
            key = key_node.value
            if key in first_seen:
                line, _ = position(first_seen[key])
                self.error(key_node, f"duplicate key {key!r} (first at line {line})")
                continue
            first_seen[key] = key_node
            if key in allowed:
                found[key] = Entry(key_node, value_node)
            elif misplaced and key in misplaced:
                self.error(key_node, misplaced[key])
            else:
                hint = suggestion(key, allowed)
                if not hint:
                    hint = f"; {what} keys are: {', '.join(allowed)}"
                self.error(key_node, f"unknown key {key!r}{hint}")
        for key in required:
            if key not in first_seen:
                self.error(node, f"{what}: missing required key {key!r}")
        return found

    def sequence(self, node: Node, *, what: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what}: expected a list, got {describe(node)}")
            return None
        return list(node.value)

    # Scalars -----------------------------------------------------------------------

    def text(self, node: Node, *, what: str, allow_empty: bool = False) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag != TAG_STR:
            hint = ""
            if isinstance(node, ScalarNode) and node.style is None and node.tag != TAG_NULL:
                hint = " (put it in quotes to make it text)"
            self.error(node, f"{what}: expected text, got {describe(node)}{hint}")
            return None
        value: str = node.value
        if not allow_empty and not value.strip():
            self.error(node, f"{what}: must not be empty")
            return None
        return value.strip()

    def identifier(self, node: Node, *, what: str) -> str | None:
        value = self.text(node, what=what)
        if value is None:
            return None
        if not IDENTIFIER.fullmatch(value):
            self.error(
                node,
                f"{what} {value!r} must be lower-case letters, digits and underscores, "
                "starting with a letter",
            )
            return None
        return value

    def boolean(self, node: Node, *, what: str) -> bool | None:
        if not isinstance(node, ScalarNode) or node.tag != TAG_BOOL:
            self.error(node, f"{what}: expected true or false, got {describe(node)}")
            return None
        return bool(_CONSTRUCTOR.construct_yaml_bool(node))

    def optional_boolean(self, node: Node, *, what: str) -> tuple[bool, bool | None]:
        """(ok, value) for a key that takes true, false or nothing (null)."""
        if isinstance(node, ScalarNode) and node.tag == TAG_NULL:
            return True, None
        if not isinstance(node, ScalarNode) or node.tag != TAG_BOOL:
            self.error(node, f"{what}: expected true, false or nothing, got {describe(node)}")
            return False, None
        return True, bool(_CONSTRUCTOR.construct_yaml_bool(node))

    def integer(self, node: Node, *, what: str) -> int | None:
        if not isinstance(node, ScalarNode) or node.tag != TAG_INT:
            self.error(node, f"{what}: expected a whole number, got {describe(node)}")
            return None
        return int(_CONSTRUCTOR.construct_yaml_int(node))

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == TAG_NULL

    # Convenience -------------------------------------------------------------------

    def text_list(self, node: Node, *, what: str, identifiers: bool = False) -> list[Node] | None:
        """A list of text items; returns the item nodes whose values are valid."""
        items = self.sequence(node, what=what)
        if items is None:
            return None
        good: list[Node] = []
        for item in items:
            read = (
                self.identifier(item, what=what)
                if identifiers
                else self.text(item, what=f"{what} item")
            )
            if read is not None:
                good.append(item)
        return good


def scalar_text(node: Node) -> str:
    """The stripped text of a scalar node already checked by a reader."""
    assert isinstance(node, ScalarNode)
    value: str = node.value
    return value.strip()

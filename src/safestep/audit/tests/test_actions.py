"""Every audit action is listed once, described once, and nothing else can be recorded."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import safestep
from safestep.audit.actions import CASE_WORK, DESCRIPTIONS, VARIANTS, Action, description
from safestep.audit.models import Event
from safestep.audit.services import event_record

SOURCE_ROOT = Path(safestep.__file__).resolve().parent.parent
# The product and the benchmarks (which write events of their own), without tests and
# migrations: tests filter on made-up actions on purpose.
PACKAGES = ("safestep", "safestep_bench")
NAMESPACES = {value.split(".")[0] for value in Action if "." in value}
ACTION_LIKE = re.compile(rf"^(?:{'|'.join(sorted(NAMESPACES))})\.[a-z_]+$")


def _source_files() -> Iterator[Path]:
    for package in PACKAGES:
        root = SOURCE_ROOT / package
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).parts
            if "tests" not in parts and "migrations" not in parts:
                yield path


def _strings(node: ast.AST) -> Iterator[str]:
    """The literal strings NODE may be: a string, either side of ``a if c else b``, the
    items of a literal tuple, list or set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for item in node.elts:
            yield from _strings(item)


def _enum_members(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Attribute)
            and isinstance(child.value, ast.Name)
            and child.value.id == "Action"
        ):
            yield child.attr


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _is_action(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "action"


def used_actions() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Action strings and ``Action.X`` names used in the code, with where they are used.

    Found: a literal ``action=`` argument of any call (argparse's ``add_argument`` aside);
    what an ``x.action`` is compared with; and any string shaped like an action of a known
    kind ("case.…", "user.…"), which catches the benchmarks' planned events.
    """
    strings: dict[str, list[str]] = {}
    members: dict[str, list[str]] = {}
    for path in _source_files():
        where = str(path.relative_to(SOURCE_ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            found: list[str] = []
            if isinstance(node, ast.Call) and _call_name(node) != "add_argument":
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        found.extend(_strings(keyword.value))
                        for name in _enum_members(keyword.value):
                            members.setdefault(name, []).append(f"{where}:{node.lineno}")
            elif isinstance(node, ast.Compare) and (
                _is_action(node.left) or any(_is_action(item) for item in node.comparators)
            ):
                for item in [node.left, *node.comparators]:
                    found.extend(_strings(item))
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ACTION_LIKE.match(node.value)
            ):
                found.append(node.value)
            for value in found:
                strings.setdefault(value, []).append(f"{where}:{getattr(node, 'lineno', 0)}")
    return strings, members


def test_it_lists_every_action_used_in_the_code():
    strings, members = used_actions()
    unknown = {value: places for value, places in strings.items() if value not in set(Action)}
    assert unknown == {}
    assert {name for name in members if name not in Action.__members__} == set()
    # The scan itself works: it finds the service writes, sign-ins and e-mails.
    assert {"case.open", "signout", "signin.failure", "notice.send"} <= set(strings) | {
        Action[name].value for name in members
    }


def test_it_describes_every_action():
    assert set(DESCRIPTIONS) == set(Action)
    assert all(text.strip() for text in DESCRIPTIONS.values())
    assert set(VARIANTS) <= CASE_WORK <= set(Action)


def test_it_picks_a_variant_by_the_payload():
    assert description(Action.STEP_COMPLETE, {"late": True}) == (
        "Recorded %(step)s as done, after its due time."
    )
    assert description(Action.STEP_COMPLETE, {"late": False}) == "Recorded %(step)s as done."
    assert description(Action.REVIEW_DECIDE, {"decision": "overruled"}).startswith("Overruled")
    assert description(Action.REVIEW_DECIDE, {"decision": "upheld"}).startswith("Upheld")


@pytest.mark.django_db
def test_it_refuses_an_unknown_action_and_records_nothing():
    with pytest.raises(ValueError, match=r"unknown audit action 'case\.opne'"):
        event_record(actor=None, action="case.opne")
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_it_records_an_action_given_as_the_enum_or_its_value():
    first = event_record(actor=None, action=Action.AUDIT_READ)
    second = event_record(actor=None, action="audit.read")
    stored = list(Event.objects.order_by("seq").values_list("action", flat=True))
    assert stored == ["audit.read", "audit.read"]
    assert type(first.action) is str
    assert second.prev_hash == first.hash

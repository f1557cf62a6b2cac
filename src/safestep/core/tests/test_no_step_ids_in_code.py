"""No code names a step or pathway of the shipped protocol: what the law attaches to a step
reaches it through the roles and flags its definition declares, so another district's
protocol, with other ids, keeps every safeguard.

Python is read with ``ast``, so comments and docstrings may mention ids (they explain);
string literals may not. In a template everything outside a template comment counts:
its text is output as written, and its quoted strings are literals.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import safestep
from safestep.protocol import load_shipped_protocols

PACKAGE = Path(safestep.__file__).resolve().parent

# Left out of the scan, each for a reason:
# - the definitions themselves are where the ids belong;
# - tests name ids to check what a user of the shipped protocol sees (so do the shared
#   test helpers and fixtures);
# - ``safestep_bench`` (beside ``safestep``, so never scanned here) is a development
#   benchmark that seeds the shipped protocol's own cases.
SKIPPED_DIRECTORIES = {"tests"}
SKIPPED_PATHS = {
    PACKAGE / "protocol" / "definitions",
    PACKAGE / "testing.py",
    PACKAGE / "conftest.py",
    PACKAGE / "test_settings.py",
}

# Literals allowed where they are, each with why. Keys: (path inside safestep, literal).
ALLOWED: dict[tuple[str, str], str] = {
    # Step *roles*, not step ids: the shipped protocol happens to name two of its steps
    # after the role each declares (`role: parent_contact`, `role: placement_review`).
    ("protocol/model.py", "parent_contact"): "the parent contact step role",
    ("protocol/model.py", "placement_review"): "the placement review step role",
    # The demo command seeds sample cases of the shipped protocol, one on each pathway.
    ("cases/management/commands/demo.py", "recruitment_by_student"): "demo data",
    ("cases/management/commands/demo.py", "suspected_victim"): "demo data",
    ("cases/management/commands/demo.py", "confirmed_victim"): "demo data",
}

TEMPLATE_COMMENTS = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.DOTALL)


def shipped_ids() -> set[str]:
    ids: set[str] = set()
    for definition in load_shipped_protocols():
        for pathway in definition.pathways:
            ids.add(pathway.id)
            ids.update(pathway.step_ids)
    return ids


def _named(text: str, ids: set[str]) -> Iterator[str]:
    """The ids TEXT names as whole words (``step:cws_report`` names one; ``cws_reports``
    does not)."""
    for found in re.finditer(r"[A-Za-z0-9_]+", text):
        if found.group() in ids:
            yield found.group()


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def python_literals_naming(source: str, ids: set[str]) -> list[tuple[int, str]]:
    """(line, id) for each string literal of SOURCE that names one of IDS."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            hits += [(node.lineno, name) for name in _named(node.value, ids)]
    return sorted(hits)


def template_text_naming(source: str, ids: set[str]) -> list[tuple[int, str]]:
    """(line, id) for each id a template names outside its comments."""
    kept = TEMPLATE_COMMENTS.sub(lambda comment: "\n" * comment.group().count("\n"), source)
    return [
        (number, name)
        for number, line in enumerate(kept.splitlines(), 1)
        for name in _named(line, ids)
    ]


def _scanned(suffixes: tuple[str, ...]) -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in suffixes or not path.is_file():
            continue
        if SKIPPED_DIRECTORIES & set(path.relative_to(PACKAGE).parts):
            continue
        if any(path == skipped or skipped in path.parents for skipped in SKIPPED_PATHS):
            continue
        yield path


def _templates() -> Iterator[Path]:
    for path in _scanned((".html", ".txt")):
        if "templates" in path.relative_to(PACKAGE).parts:
            yield path


def uses_outside_the_definition() -> list[str]:
    ids = shipped_ids()
    found = []
    for path in _scanned((".py",)):
        relative = path.relative_to(PACKAGE).as_posix()
        for line, name in python_literals_naming(path.read_text(encoding="utf-8"), ids):
            if (relative, name) not in ALLOWED:
                found.append(f"safestep/{relative}:{line}: {name!r}")
    for path in _templates():
        relative = path.relative_to(PACKAGE).as_posix()
        for line, name in template_text_naming(path.read_text(encoding="utf-8"), ids):
            if (relative, name) not in ALLOWED:
                found.append(f"safestep/{relative}:{line}: {name!r}")
    return found


def test_it_finds_no_step_or_pathway_id_of_the_shipped_protocol_in_code():
    assert uses_outside_the_definition() == []


def test_it_knows_the_shipped_ids_it_looks_for():
    ids = shipped_ids()
    assert {"cws_report", "police_involved", "suspected_victim", "confirmed_victim"} <= ids
    assert len(ids) >= 10


def test_it_catches_a_literal_but_not_a_comment_or_docstring():
    source = (
        '"""Module docstring about cws_report."""\n'
        "# a comment about cws_report\n"
        "def f(step):\n"
        '    """Docstring: police_involved."""\n'
        '    if step.id == "cws_report":\n'
        '        return f"step:{step.id}", "police_involved.agency"\n'
        '    return "cws_reports", "a police_involved_note"\n'
    )
    found = python_literals_naming(source, {"cws_report", "police_involved"})
    assert found == [(5, "cws_report"), (6, "police_involved")]


def test_it_catches_a_template_naming_an_id_outside_its_comments():
    source = (
        "{# cws_report is fine in a comment #}\n"
        "{% comment %}\npolice_involved\n{% endcomment %}\n"
        '{% if step.id == "cws_report" %}<p>Report</p>{% endif %}\n'
        '<a href="#police_involved">Police</a>\n'
    )
    found = template_text_naming(source, {"cws_report", "police_involved"})
    assert found == [(5, "cws_report"), (6, "police_involved")]


def test_every_allowance_is_still_needed():
    """An allowance nothing uses any more is removed, so the list stays short."""
    ids = shipped_ids()
    used = set()
    for relative, name in ALLOWED:
        source = (PACKAGE / relative).read_text(encoding="utf-8")
        if any(found == name for _, found in python_literals_naming(source, ids)):
            used.add((relative, name))
    assert set(ALLOWED) - used == set()

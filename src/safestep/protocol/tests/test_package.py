"""The package as a whole: pure Python, and its public names importable from the top."""

from __future__ import annotations

import ast
from pathlib import Path

import safestep.protocol

PACKAGE_DIR = Path(safestep.protocol.__file__).resolve().parent
# Web and database frameworks stay out: the engine must run (and be tested) alone.
FORBIDDEN_ROOTS = {"django", "rest_framework", "drf_spectacular"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            roots.update(
                arg.value.split(".")[0]
                for arg in node.args[:1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
    return roots


def test_it_imports_nothing_from_django_anywhere_in_the_package():
    sources = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(sources) > 10  # the scan really looked at the package
    offenders = {
        str(path.relative_to(PACKAGE_DIR)): sorted(imported_roots(path) & FORBIDDEN_ROOTS)
        for path in sources
        if imported_roots(path) & FORBIDDEN_ROOTS
    }
    assert offenders == {}


def test_it_notices_a_django_import_when_there_is_one(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text("from django.db import models\nimport rest_framework.views\n")
    assert imported_roots(sample) >= {"django", "rest_framework"}


def test_it_exports_every_public_name_from_the_package():
    for name in safestep.protocol.__all__:
        assert hasattr(safestep.protocol, name), name

"""Drills start real servers in throw-away installs; they run last, so a stopped database
(the database-down drill) can never disturb another test."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    drills = [item for item in items if "drill" in item.keywords]
    if drills:
        others = [item for item in items if "drill" not in item.keywords]
        # The database-down drill goes very last.
        drills.sort(key=lambda item: "database_down" in item.name)
        items[:] = others + drills

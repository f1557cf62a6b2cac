"""A real Chromium (Debian's, at /usr/bin/chromium) driven by Playwright.

Locally the browser tests skip with a message when Chromium is missing; with CI=true a
missing browser fails the run instead of hiding the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from safestep.testing import CHROMIUM, CHROMIUM_ARGS, launched_chromium

__all__ = ["CHROMIUM", "CHROMIUM_ARGS"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def people(chromium: Any, live_server: Any) -> Iterator[Any]:
    """Signed-in browser pages by username: ``people.page("counselor")``."""
    from safestep.web.tests.browser import People

    crowd = People(chromium, live_server)
    yield crowd
    crowd.close()

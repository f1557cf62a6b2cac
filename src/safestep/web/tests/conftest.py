"""A real Chromium (Debian's, at /usr/bin/chromium) driven by Playwright.

Locally the browser tests skip with a message when Chromium is missing; with CI=true a
missing browser fails the run instead of hiding the tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("SAFESTEP_CHROMIUM", "/usr/bin/chromium")
# Flags for a headless browser on a machine with no outside network: no background
# traffic, no sandbox (tests may run as root in CI).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django must not treat that as async code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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

"""A real Chromium for the sign-in browser tests, the same browser the web tests drive.

It lives for one test module and is closed after it: Playwright allows one running
instance at a time, and other test folders start their own browser later in the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from safestep.testing import launched_chromium


@pytest.fixture(scope="module")
def module_chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(module_chromium: Any) -> Iterator[Any]:
    context = module_chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()

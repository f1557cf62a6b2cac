"""Helpers the tests share: times relative to now, completing a step, a real Chromium.

Each lived in several test modules before; one copy here keeps them the same everywhere.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

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


def ago(**delta: float) -> datetime:
    """A moment before now, e.g. ``ago(hours=2)``."""
    return timezone.now() - timedelta(**delta)


def iso(hours_ago: float = 1) -> str:
    """A moment HOURS_AGO before now, as the API takes it (ISO 8601 with an offset)."""
    return ago(hours=hours_ago).isoformat()


def complete(
    district: Any,
    case: Any,
    step_id: str,
    details: Mapping[str, Any],
    *,
    by: str = "site_admin",
    hours_ago: float = 0.5,
    reason: str = "",
) -> Any:
    """Complete STEP_ID of CASE as the district's user BY, at the case's current version."""
    from safestep.cases import services

    case.refresh_from_db()
    return services.step_complete(
        acting_user=district[by],
        case_id=case.pk,
        step_id=step_id,
        occurred_at=ago(hours=hours_ago),
        details=dict(details),
        expected_version=case.version,
        reason=reason,
    )


def require_chromium() -> None:
    """Skip (locally) or fail (in CI) when Debian's Chromium is not installed."""
    import pytest

    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing")
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """A headless Chromium driven by Playwright, closed afterwards."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django must not treat that as async code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch_csp(page: Any) -> list[str]:
    """Collect every Content-Security-Policy violation the browser reports on PAGE: a page
    whose script or style the policy blocks is broken for its user, whatever else passes."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations

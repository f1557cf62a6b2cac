"""Helpers for the browser tests: one signed-in page per person, and the accessibility check."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from safestep.accounts.access import needs_second_factor
from safestep.accounts.models import User
from safestep.accounts.testing import verified_device
from safestep.web.tests.signin import sign_in

DESKTOP = {"width": 1366, "height": 768}  # a school Chromebook
PHONE = {"width": 390, "height": 844}
# Impacts that fail a page (WCAG 2.1 AA): axe-core's two most severe levels.
FAILING_IMPACTS = ("serious", "critical")

_axe = Axe()


def local(minutes_ago: float) -> str:
    """A time as a datetime-local input takes it, in the district's time zone."""
    moment = timezone.localtime(timezone.now() - timedelta(minutes=minutes_ago))
    return moment.strftime("%Y-%m-%dT%H:%M")


def step(page: Any, step_id: str) -> Any:
    return page.locator(f"#step-{step_id}")


def unfold(page: Any, step_id: str) -> Any:
    """The step's form, unfolded if it was folded."""
    box = step(page, step_id)
    actions = box.locator("details.act")
    if actions.get_attribute("open") is None:
        actions.locator("summary").first.click()
    return box


def expect_state(page: Any, step_id: str, label: str) -> None:
    expect(step(page, step_id).locator(".state")).to_have_text(label)
    # htmx wires up swapped-in controls (hx-trigger) only when the swap settles, about
    # 20 ms after the new text shows. A test types faster than anyone can, so it waits.
    expect(page.locator(".htmx-settling")).to_have_count(0)


def assert_accessible(page: Any, where: str = "") -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    results = _axe.run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            "resultTypes": ["violations"],
        },
    )
    failing = [
        violation
        for violation in results.response["violations"]
        if violation.get("impact") in FAILING_IMPACTS
    ]
    described = "\n".join(
        f"- {item['id']} ({item['impact']}): {item['help']} at "
        + "; ".join(" ".join(node["target"]) for node in item["nodes"][:3])
        for item in failing
    )
    assert not failing, f"accessibility violations on {where or page.url}:\n{described}"


class People:
    """Signed-in pages by username, each in its own browser context (its own cookies)."""

    def __init__(self, browser: Any, live_server: Any) -> None:
        self.browser = browser
        self.live_server = live_server
        self.contexts: list[Any] = []
        self.pages: dict[str, Any] = {}

    def page(
        self,
        username: str | None = None,
        *,
        viewport: dict[str, int] | None = None,
        javascript: bool = True,
    ) -> Any:
        key = f"{username}:{viewport}:{javascript}"
        if key not in self.pages:
            context = self.browser.new_context(
                viewport=viewport or DESKTOP, java_script_enabled=javascript
            )
            self.contexts.append(context)
            page = context.new_page()
            # Fail fast instead of hanging a test run when something never appears.
            page.set_default_timeout(15_000)
            if username is not None:
                person = User.objects.get(username=username)
                if needs_second_factor(person):
                    # An authenticator set up beforehand: signing in then takes the code
                    # step only. Setting one up is the sign-in tests' business.
                    verified_device(person)
                sign_in(page, self.live_server, username)
            self.pages[key] = page
        return self.pages[key]

    def url(self, path: str) -> str:
        return f"{self.live_server.url}{path}"

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def screenshot_dir() -> Path | None:
    """Where to write the documentation's screenshots (``SAFESTEP_SCREENSHOTS``), if asked."""
    target = os.environ.get("SAFESTEP_SCREENSHOTS")
    return Path(target) if target else None


def snap(page: Any, name: str, *, full_page: bool = False) -> None:
    target = screenshot_dir()
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"), full_page=full_page)

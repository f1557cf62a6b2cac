"""The dashboard in a real browser: charts drawn under the strict CSP, tables for everyone.

The browser runs in a thread of its own: Playwright's synchronous API allows one instance
per thread, and the web pages' tests keep theirs open for the whole session.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from safestep.cases import services
from safestep.testing import CHROMIUM, CHROMIUM_ARGS, require_chromium
from safestep.web.tests.browser import DESKTOP, assert_accessible, snap
from safestep.web.tests.signin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def in_a_browser(live_server: Any, username: str, scenario: Any) -> None:
    """Run SCENARIO(page) signed in as USERNAME, in Chromium on a thread of its own."""
    require_chromium()
    failure: list[BaseException] = []

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_context(
                        viewport={"width": DESKTOP["width"], "height": DESKTOP["height"]}
                    ).new_page()
                    sign_in(page, live_server, username)
                    scenario(page)
                finally:
                    browser.close()
        except BaseException as error:  # handed to the test's own thread below
            failure.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def test_it_draws_the_charts_and_keeps_their_tables_for_screen_readers(
    live_server, district, open_case
):
    from playwright.sync_api import expect

    overdue = open_case("confirmed_victim", suspicion_hours_ago=40)
    open_case("suspected_victim", sis_id="S-2")
    done = open_case("suspected_victim", sis_id="S-3", suspicion_hours_ago=20)
    services.step_complete(
        acting_user=district["site_admin"],
        case_id=done.pk,
        step_id="police_involved",
        occurred_at=timezone.now() - timedelta(hours=12),
        details={"agency": "sdpd", "threat": "An adult outside school is exploiting the student."},
        expected_version=done.version,
    )

    def scenario(page: Any) -> None:
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text))
        page.goto(f"{live_server.url}/dashboard/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Protocol dashboard")
        # Each chart is drawn from the static script (nothing inline, nothing refused).
        for name in ("open", "overdue", "monthly"):
            canvas = page.locator(f'canvas[data-chart="{name}"]')
            expect(canvas).to_have_attribute("aria-hidden", "true")
            assert page.evaluate(
                "name => !!window.Chart.getChart("
                "document.querySelector(`canvas[data-chart=${name}]`))",
                name,
            )
        assert not [text for text in problems if "Content Security Policy" in text], problems
        # The tables stay in the page for screen readers, and come into view on request.
        table = page.get_by_role("table", name="Open cases by school and pathway")
        expect(table).to_have_class("chart-table visually-hidden")
        button = page.locator("button.table-toggle").first
        expect(button).to_have_text("Show the numbers")
        button.click()
        expect(table).to_be_visible()
        expect(button).to_have_text("Hide the numbers")
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("link", name=overdue.reference)).to_be_visible()
        assert page.locator('[data-figure="hours-to-police"]').inner_text() == "8.0 h"
        assert_accessible(page, "the dashboard")
        snap(page, "dashboard", full_page=True)

    in_a_browser(live_server, "district_coordinator", scenario)

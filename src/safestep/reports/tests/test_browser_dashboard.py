"""The dashboard in a real browser: charts drawn under the strict CSP, tables for everyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from safestep.cases import services
from safestep.web.tests.browser import assert_accessible, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_draws_the_charts_and_keeps_their_tables_for_screen_readers(people, district, open_case):
    overdue = open_case("confirmed_victim", suspicion_hours_ago=40)
    open_case("suspected_victim", sis_id="S-2")
    done = open_case("suspected_victim", sis_id="S-3", suspicion_hours_ago=20)
    services.step_complete(
        acting_user=district["site_admin"],
        case_id=done.pk,
        step_id="police_involved",
        occurred_at=timezone.now() - timedelta(hours=12),
        details={"agency": "sdpd"},
        expected_version=done.version,
    )
    page = people.page("district_coordinator")
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.goto(people.url("/dashboard/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Protocol dashboard")
    # Each chart is drawn from the static script (nothing inline, nothing refused).
    for name in ("open", "overdue", "monthly"):
        canvas = page.locator(f'canvas[data-chart="{name}"]')
        expect(canvas).to_have_attribute("aria-hidden", "true")
        assert page.evaluate(
            "name => !!window.Chart.getChart(document.querySelector(`canvas[data-chart=${name}]`))",
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

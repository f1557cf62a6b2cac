"""Signing in and security headers in a real Chromium: what a person actually meets."""

from __future__ import annotations

import re

import pytest

from safestep.testing import watch_csp
from safestep.web.tests.signin import TEST_PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_walks_a_new_user_through_setting_up_the_second_factor(page, live_server, district):
    violations = watch_csp(page)
    page.goto(f"{live_server.url}/signin/")
    page.get_by_label("Username").fill("counselor")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/signin/enrol/$"))
    assert page.locator("figure.qr svg").is_visible()
    assert re.fullmatch(r"[A-Z2-7]{32,}", page.locator("#totp-secret").inner_text().strip())
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    assert "did not match" in page.get_by_role("alert").inner_text()
    assert violations == []


def test_it_signs_in_with_the_code_of_the_authenticator_set_up_before(page, live_server, district):
    sign_in(page, live_server, "district_coordinator")
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/signin/$"))
    sign_in(page, live_server, "district_coordinator")
    page.wait_for_url(f"{live_server.url}/")
    assert "/signin/code/" not in page.url


def test_it_tells_a_locked_out_user_what_happened(page, live_server, district):
    page.goto(f"{live_server.url}/signin/")
    for _ in range(5):
        page.get_by_label("Username").fill("site_admin")
        page.get_by_label("Password").fill("not the password")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert").inner_text()
    assert "Too many failed attempts" in alert and "15 minutes" in alert


def test_it_shows_pages_without_breaking_the_content_security_policy(
    page, live_server, district, open_case
):
    violations = watch_csp(page)
    case = open_case("confirmed_victim")
    sign_in(page, live_server, "site_admin")
    page.wait_for_url(f"{live_server.url}/")
    for path in ("/", f"/cases/{case.pk}/", "/concerns/new/", "/account/password/"):
        answer = page.goto(f"{live_server.url}{path}")
        assert answer is not None and answer.status == 200, path
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    assert violations == []


def test_it_serves_the_api_documentation_under_its_content_security_policy(page, live_server, db):
    violations = watch_csp(page)
    page.goto(f"{live_server.url}/api/docs/")
    page.get_by_text("/api/v1/cases/{case_id}/timeline").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() > 10
    assert violations == []

"""Signing in, in a real browser, as every role."""

from __future__ import annotations

import pytest

from safestep.accounts.models import Role
from safestep.web.tests.signin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_it_signs_in_every_role_and_shows_who_is_signed_in(page, live_server, district, role):
    sign_in(page, live_server, role)
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == f"Signed in as {Role(role).label}"


def test_it_refuses_a_wrong_password_with_a_clear_message(page, live_server, district):
    page.goto(f"{live_server.url}/signin/")
    page.get_by_label("Username").fill("site_admin")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert "did not match" in page.get_by_role("alert").inner_text()


def test_it_shows_a_reporter_a_404_for_a_case_url(page, live_server, district, open_case):
    case = open_case()
    sign_in(page, live_server, "reporter")
    page.wait_for_url(f"{live_server.url}/")
    answer = page.goto(f"{live_server.url}/cases/{case.pk}/")
    assert answer is not None and answer.status == 404


def test_it_shows_a_site_admin_their_case_with_its_steps(page, live_server, district, open_case):
    case = open_case("confirmed_victim")
    sign_in(page, live_server, "site_admin")
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name=case.reference).click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(case.reference)
    assert page.locator("ol.steps > li").count() == 8

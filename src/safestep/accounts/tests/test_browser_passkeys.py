"""Passkeys in a real Chromium, with Chromium's own virtual authenticator (DevTools'
WebAuthn domain): set one up at first sign-in, then sign in with it alone as the second
factor. The page is served on http://localhost, which browsers count as a secure context
(WebAuthn needs one) and which is the passkeys' host name by default.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from safestep.testing import watch_csp
from safestep.web.tests.browser import assert_accessible
from safestep.web.tests.signin import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def virtual_authenticator(page: Any) -> tuple[Any, str]:
    """A platform authenticator that holds passkeys and verifies its user without asking."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def type_password(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/signin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_it_signs_in_with_a_passkey_alone_as_the_second_factor(page, live_server, district):
    base = live_server.url
    assert base.startswith("http://localhost:"), base
    violations = watch_csp(page)
    cdp, authenticator_id = virtual_authenticator(page)

    # First sign-in: the password, then a passkey instead of an authenticator app.
    type_password(page, base, "counselor")
    page.wait_for_url(re.compile(r".*/signin/enrol/$"))
    add = page.get_by_role("button", name="Set up a passkey")
    add.wait_for()
    assert_accessible(page, "enrol page with a passkey")
    add.click()
    page.wait_for_url(re.compile(r".*/signin/enrol/codes/$"))
    assert page.locator(".backup-codes li").count() == 10
    assert_accessible(page, "backup codes after a passkey")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("continue", re.IGNORECASE)).click()
    assert page.url == f"{base}/"
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert [credential["rpId"] for credential in stored["credentials"]] == ["localhost"]

    # Signed out, in again: the password, then only the passkey.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    type_password(page, base, "counselor")
    page.wait_for_url(re.compile(r".*/signin/code/$"))
    use = page.get_by_role("button", name="Use a passkey")
    use.wait_for()
    assert_accessible(page, "second factor with a passkey")
    with page.expect_navigation():
        use.click()
    assert page.url == f"{base}/"
    assert page.get_by_role("heading", level=1).count() >= 1
    signed_count = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert signed_count["credentials"][0]["signCount"] >= 1

    # The list of passkeys on "My account".
    page.goto(f"{base}/account/passkeys/")
    assert page.get_by_role("row", name=re.compile("Passkey 1")).is_visible()
    page.get_by_role("button", name="Add a passkey").wait_for()
    assert_accessible(page, "passkeys page")
    assert violations == []

"""Signing in through the real pages in a browser, second factor included.

``sign_in(page, live_server, username)`` types the password; then, for roles that need a
second factor, it either sets one up (reading the secret shown on the page, as a person
would type it into an authenticator app, and confirming the backup codes) or enters the
current code of the authenticator set up earlier. It returns once the first page after
signing in has loaded.
"""

from __future__ import annotations

import re
from typing import Any

from safestep.accounts.testing import fresh_totp_code, totp_code_for_secret

TEST_PASSWORD = "a long test password"


def sign_in(page: Any, live_server: Any, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{live_server.url}/signin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if "/signin/enrol/" in page.url:
        secret = page.locator("#totp-secret").inner_text().strip()
        page.get_by_label("Code").fill(totp_code_for_secret(secret))
        with page.expect_navigation():
            page.get_by_role("button", name="Confirm").click()
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile("continue", re.IGNORECASE)).click()
    elif "/signin/code/" in page.url:
        page.get_by_label("Code").fill(fresh_totp_code(username))
        with page.expect_navigation():
            page.get_by_role("button", name="Verify").click()

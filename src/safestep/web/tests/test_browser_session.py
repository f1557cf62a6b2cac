"""No typed work lost, in a real Chromium: the warning before the idle timeout, "Stay
signed in", and a note typed before the session ended that is back after signing in.

The idle time is one minute (``SAFESTEP_SESSION_IDLE_MINUTES=1``). Instead of waiting, the
tests move the session's last request back in the database (what the server believes) and
the page's clock forward (what the script believes).
"""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from safestep.accounts.models import Draft
from safestep.accounts.sessions import LAST_SEEN_KEY
from safestep.accounts.testing import fresh_totp_code
from safestep.cases.models import Note
from safestep.testing import watch_csp
from safestep.web.tests.browser import assert_accessible
from safestep.web.tests.signin import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTE = "Called the aunt: the student stays with her until Friday."


@pytest.fixture(autouse=True)
def one_minute(settings):
    settings.SESSION_IDLE_SECONDS = 60


def session_of(page) -> SessionStore:
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    return SessionStore(session_key=cookie["value"])


def idle_for(page, seconds: float) -> None:
    """What the server believes: the session's last request was SECONDS ago."""
    session = session_of(page)
    session[LAST_SEEN_KEY] = time.time() - seconds
    session.save()


def sign_in_here(page, username: str) -> None:
    """Sign in on the sign-in page the browser was sent to (keeping where it goes next)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if "/signin/code/" in page.url:
        page.get_by_label("Code").fill(fresh_totp_code(username))
        with page.expect_navigation():
            page.get_by_role("button", name="Verify").click()


def test_it_brings_a_note_typed_before_the_timeout_back_after_signing_in(
    people, open_case, live_server
):
    case = open_case()
    page = people.page("counselor")
    violations = watch_csp(page)
    page.goto(people.url(f"/cases/{case.pk}/"))
    page.get_by_label("Add a note").fill(NOTE)

    idle_for(page, 90)  # the counselor was called away
    page.get_by_role("button", name="Add the note").click()

    # The whole window goes to sign in (never the sign-in page inside the case page).
    page.wait_for_url(re.compile(r".*/signin/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    notice = page.get_by_role("status").filter(has_text="Your session ended")
    expect(notice).to_contain_text(
        "Your session ended after 1 minute without activity; sign in again to go on."
    )
    expect(notice).to_contain_text("What you typed was not lost")
    assert not Note.objects.exists(), "nothing sent after the timeout is acted on"
    assert Draft.objects.filter(user__username="counselor").count() == 1

    sign_in_here(page, "counselor")
    page.wait_for_url(people.url(f"/cases/{case.pk}/"))
    expect(page.get_by_label("Add a note")).to_have_value(NOTE)
    expect(page.locator("#live")).to_contain_text("What you typed is back in the form")
    assert not Draft.objects.exists(), "the draft is gone once it is back in its form"
    assert_accessible(page, "the case page with a restored draft")

    page.get_by_role("button", name="Add the note").click()
    expect(page.locator(".note-text").filter(has_text=NOTE)).to_be_visible()
    assert Note.objects.get().text == NOTE
    assert violations == []


def test_it_warns_before_the_timeout_and_stay_signed_in_keeps_the_session(
    people, open_case, live_server
):
    case = open_case()
    page = people.page("counselor")
    violations = watch_csp(page)
    page.clock.install()
    page.goto(people.url(f"/cases/{case.pk}/"))
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_hidden()

    # 40 of the 60 seconds have gone by, on the server and on the page's clock.
    idle_for(page, 40)
    page.clock.fast_forward(40_000)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Are you still there?")).to_be_visible()
    expect(dialog).to_contain_text("a session ends after 1 minute without activity")
    stay = dialog.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    assert_accessible(page, "the idle warning")

    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert session_of(page)[LAST_SEEN_KEY] > time.time() - 10, "the idle timer restarted"

    # The count starts again: nothing shows until the next warning is due.
    page.clock.fast_forward(20_000)
    expect(dialog).to_be_hidden()
    page.get_by_label("Add a note").fill(NOTE)
    page.get_by_role("button", name="Add the note").click()
    expect(page.locator(".note-text").filter(has_text=NOTE)).to_be_visible()
    assert violations == []


def test_it_says_so_when_the_session_ended_with_something_typed_and_keeps_it(
    people, open_case, live_server
):
    case = open_case()
    page = people.page("counselor")
    page.clock.install()
    page.goto(people.url(f"/cases/{case.pk}/"))
    page.get_by_label("Add a note").fill(NOTE)

    idle_for(page, 90)
    page.clock.fast_forward(65_000)
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Your session has ended")).to_be_visible()
    back = dialog.get_by_role("button", name="Back to the page")
    expect(back).to_be_focused()
    assert_accessible(page, "the session-ended dialog")
    back.click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Add a note")).to_have_value(NOTE)

    page.get_by_role("button", name="Add the note").click()
    page.wait_for_url(re.compile(r".*/signin/\?"))
    sign_in_here(page, "counselor")
    expect(page.get_by_label("Add a note")).to_have_value(NOTE)


def test_it_goes_to_sign_in_when_the_session_ended_and_nothing_was_typed(
    people, open_case, live_server
):
    case = open_case()
    page = people.page("counselor")
    page.clock.install()
    page.goto(people.url(f"/cases/{case.pk}/"))
    idle_for(page, 90)
    page.clock.fast_forward(65_000)
    page.wait_for_url(re.compile(r".*/signin/\?.*reason=idle"))
    expect(page.get_by_role("status").filter(has_text="Your session ended")).to_be_visible()
    sign_in_here(page, "counselor")
    page.wait_for_url(people.url(f"/cases/{case.pk}/"))


def test_it_keeps_a_form_sent_without_javascript_after_the_timeout(people, open_case, live_server):
    case = open_case()
    page = people.page("counselor", javascript=False)
    page.goto(people.url(f"/cases/{case.pk}/"))
    page.get_by_label("Add a note").fill(NOTE)
    idle_for(page, 90)
    with page.expect_navigation():
        page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_role("status").filter(has_text="Your session ended")).to_be_visible()
    sign_in_here(page, "counselor")
    page.wait_for_url(people.url(f"/cases/{case.pk}/"))
    expect(page.get_by_label("Add a note")).to_have_value(NOTE)
    assert not Note.objects.exists()

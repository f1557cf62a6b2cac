"""Someone at an unattended, signed-in browser cannot guess the password on the password page.

Wrong current passwords count towards the same lockout as failed sign-ins (five for one
username from one address): at the fifth the session ends and the lockout page answers, and
the sixth try is refused even with the right password.
"""

from __future__ import annotations

from django.test import Client

from safestep.accounts.models import User
from safestep.accounts.testing import sign_in_client
from safestep.accounts.tests.test_signin import PASSWORD, post_password, signed_in
from safestep.audit.models import Event

NEW = "a brand new passphrase"


def change(client: Client, old: str):
    return client.post(
        "/account/password/", {"old_password": old, "new_password1": NEW, "new_password2": NEW}
    )


def test_it_refuses_the_sixth_guess_of_the_current_password_even_when_right(district):
    browser = sign_in_client(Client(), district["counselor"])
    guesses = [change(browser, f"guess number {n}") for n in range(1, 6)]

    assert [answer.status_code for answer in guesses[:4]] == [400, 400, 400, 400]
    assert "not your current password" in guesses[0].content.decode()
    assert guesses[4].status_code == 429
    assert "Too many failed attempts" in guesses[4].content.decode()
    assert not signed_in(browser)

    sixth = change(browser, PASSWORD)
    assert sixth.status_code == 302 and sixth["Location"].startswith("/signin/")
    assert User.objects.get(username="counselor").check_password(PASSWORD)
    assert not Event.objects.filter(action="user.password_change").exists()
    # Nor can the guesser sign in again from there with the password now.
    assert post_password(Client(), "counselor").status_code == 429


def test_it_refuses_a_password_change_from_a_locked_out_address_at_once(district):
    for _ in range(5):
        post_password(Client(), "reporter", "wrong password")
    browser = sign_in_client(Client(), district["reporter"])

    refused = change(browser, PASSWORD)

    assert refused.status_code == 429
    assert User.objects.get(username="reporter").check_password(PASSWORD)
    assert not signed_in(browser)


def test_it_counts_only_wrong_current_passwords_and_only_for_that_user(district):
    browser = sign_in_client(Client(), district["site_admin"])
    for _ in range(6):
        mismatch = browser.post(
            "/account/password/",
            {"old_password": PASSWORD, "new_password1": NEW, "new_password2": "something else"},
        )
        assert mismatch.status_code == 400 and "differ" in mismatch.content.decode()
    for n in range(4):
        assert change(browser, f"guess {n}").status_code == 400
    assert change(browser, PASSWORD).status_code == 302
    assert User.objects.get(username="site_admin").check_password(NEW)
    # Another user at the same address is not affected by these guesses.
    assert post_password(Client(), "reporter").status_code == 302

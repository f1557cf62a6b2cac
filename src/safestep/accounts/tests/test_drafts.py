"""No typed work lost: a form sent after the idle timeout is kept as a draft, sealed, for the
session's own user, and comes back in its form once they sign in again.

These drive the real middleware and pages with Django's test client, sending the headers
a browser sends (``Origin``, ``Sec-Fetch-Site``, ``Referer``, and htmx's own).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import QueryDict
from django.test import Client, override_settings
from django.utils import timezone

from safestep.accounts.drafts import (
    DRAFT_LIFETIME,
    draft_keep,
    drafts_purge,
    drafts_take,
    typed_fields,
)
from safestep.accounts.models import Draft
from safestep.accounts.sessions import LAST_SEEN_KEY
from safestep.accounts.testing import sign_in_client
from safestep.cases.models import Note

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "http://testserver"
PHRASE = "Wombat-Teapot-9182 the aunt called back"
IDLE = 15 * 60


def from_page(path: str, **extra: str) -> dict[str, str]:
    """The headers a browser sends with a form from one of SafeStep's pages at PATH."""
    return {"Origin": SITE, "Sec-Fetch-Site": "same-origin", "Referer": SITE + path, **extra}


def go_idle(client: Client, seconds: float = IDLE + 60) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - seconds
    session.save()


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def counselor_on_case(district, open_case):
    case = open_case()
    client = sign_in_client(Client(), district["counselor"])
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    return client, case


def test_it_keeps_a_form_sent_after_the_timeout_and_sends_the_browser_to_sign_in(
    counselor_on_case, district
):
    client, case = counselor_on_case
    go_idle(client)
    page = f"/cases/{case.pk}/"
    answer = client.post(
        f"/cases/{case.pk}/notes/",
        # A user id in the form changes nothing: the draft is the session's user's.
        {"text": PHRASE, "user": str(district["site_admin"].pk)},
        headers=from_page(page),
    )
    assert answer.status_code == 302
    assert urlsplit(answer["Location"]).path == "/signin/"
    assert query_of(answer["Location"]) == {"next": page, "reason": "idle", "draft": "kept"}
    assert not Note.objects.exists(), "a form sent after the timeout is never acted on"
    draft = Draft.objects.get()
    assert draft.user == district["counselor"]
    assert (draft.page, draft.action) == (page, f"/cases/{case.pk}/notes/")
    assert draft.fields["text"] == [PHRASE]
    assert draft.expires_at - draft.created_at == DRAFT_LIFETIME
    notice = client.get(answer["Location"]).content.decode()
    assert "Your session ended after 15 minutes without activity; sign in again to go on." in (
        notice
    )
    assert "What you typed was not lost" in notice


def test_it_answers_htmx_after_the_timeout_with_a_redirect_of_the_whole_window(
    counselor_on_case,
):
    client, case = counselor_on_case
    go_idle(client)
    page = f"/cases/{case.pk}/"
    answer = client.post(
        f"/cases/{case.pk}/notes/",
        {"text": PHRASE},
        headers=from_page(page, **{"HX-Request": "true", "HX-Current-URL": SITE + page}),
    )
    # Never the sign-in page as a fragment: htmx follows HX-Redirect with the whole window.
    assert answer.status_code == 401
    assert b"<form" not in answer.content
    assert query_of(answer["HX-Redirect"]) == {"next": page, "reason": "idle", "draft": "kept"}
    assert Draft.objects.get().fields["text"] == [PHRASE]


def test_it_sends_an_htmx_request_without_a_session_to_sign_in_the_same_way(db, open_case):
    case = open_case()
    answer = Client().post(
        f"/cases/{case.pk}/notes/",
        {"text": PHRASE},
        headers={"HX-Request": "true", "HX-Current-URL": f"{SITE}/cases/{case.pk}/"},
    )
    assert answer.status_code == 401
    assert query_of(answer["HX-Redirect"]) == {"next": f"/cases/{case.pk}/", "reason": "ended"}
    assert not Draft.objects.exists()


def test_it_brings_the_draft_back_in_its_form_once_the_user_signs_in_again(
    counselor_on_case, district
):
    client, case = counselor_on_case
    go_idle(client)
    answer = client.post(
        f"/cases/{case.pk}/notes/", {"text": PHRASE}, headers=from_page(f"/cases/{case.pk}/")
    )
    sign_in_client(client, district["counselor"])
    page = client.get(query_of(answer["Location"])["next"]).content.decode()
    assert f'name="text" rows="3">{PHRASE}</textarea>' in page
    assert "What you typed is back in the form" in page
    assert not Draft.objects.exists(), "a draft is deleted once shown"
    again = client.get(f"/cases/{case.pk}/").content.decode()
    assert PHRASE not in again


def test_it_never_shows_a_draft_to_another_user_on_that_browser(counselor_on_case, district):
    client, case = counselor_on_case
    go_idle(client)
    client.post(
        f"/cases/{case.pk}/notes/", {"text": PHRASE}, headers=from_page(f"/cases/{case.pk}/")
    )
    # The site administrator signs in on the same browser and opens the same case.
    sign_in_client(client, district["site_admin"])
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert PHRASE not in page
    assert Draft.objects.get().user == district["counselor"]


def test_it_keeps_the_draft_when_the_stored_session_has_expired_as_well(counselor_on_case):
    client, case = counselor_on_case
    go_idle(client, seconds=3 * 3600)
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(hours=2))
    answer = client.post(
        f"/cases/{case.pk}/notes/", {"text": PHRASE}, headers=from_page(f"/cases/{case.pk}/")
    )
    assert answer.status_code == 302
    assert query_of(answer["Location"])["reason"] == "idle"
    assert Draft.objects.get().fields["text"] == [PHRASE]
    assert not Session.objects.filter(session_key=key).exists(), "the ended session is gone"


def test_it_keeps_nothing_sent_from_another_site(counselor_on_case):
    client, case = counselor_on_case
    go_idle(client)
    answer = client.post(
        f"/cases/{case.pk}/notes/",
        {"text": "Planted text."},
        headers={"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 302 and "draft" not in query_of(answer["Location"])
    assert not Draft.objects.exists()


def test_it_keeps_no_password_no_csrf_token_and_nothing_untyped():
    posted = QueryDict(mutable=True)
    posted.update({"csrfmiddlewaretoken": "t", "old_password": "secret", "text": "Typed."})
    assert typed_fields(posted) == {"text": ["Typed."]}
    assert typed_fields(QueryDict("version=4&csrfmiddlewaretoken=t")) == {}


def test_it_keeps_nothing_from_the_sign_in_pages(counselor_on_case):
    client, _ = counselor_on_case
    go_idle(client)
    client.post(
        "/account/password/",
        {"old_password": "x", "new_password1": "y", "new_password2": "y"},
        headers=from_page("/account/password/"),
    )
    assert not Draft.objects.exists()


def test_it_forgets_a_draft_after_its_lifetime(district):
    draft = draft_keep(
        user=district["counselor"], page="/cases/1/", action="/cases/1/notes/", fields={"t": ["x"]}
    )
    assert draft is not None
    Draft.objects.filter(pk=draft.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert drafts_take(user=district["counselor"], page="/cases/1/") == []
    assert not Draft.objects.exists(), "an expired draft is deleted when read"
    draft_keep(user=district["counselor"], page="/p/", action="/a/", fields={"t": ["x"]})
    Draft.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert drafts_purge() == 1


def test_it_keeps_the_newest_draft_of_a_form_and_takes_only_the_owners(district):
    for text in ("first", "second"):
        draft_keep(user=district["counselor"], page="/p/", action="/a/", fields={"text": [text]})
    assert drafts_take(user=district["site_admin"], page="/p/") == []
    taken = drafts_take(user=district["counselor"], page="/p/")
    assert [draft.fields for draft in taken] == [{"text": ["second"]}]


# --- CSRF: a token gone stale because the user signed in again elsewhere ------------------


def test_it_keeps_a_form_whose_csrf_token_went_stale_without_acting_on_it(district, open_case):
    case = open_case()
    client = sign_in_client(Client(enforce_csrf_checks=True), district["counselor"])
    client.get(f"/cases/{case.pk}/")
    page = f"/cases/{case.pk}/"
    stale = client.post(
        f"/cases/{case.pk}/notes/",
        {"text": PHRASE, "csrfmiddlewaretoken": "x" * 32},
        headers=from_page(page),
    )
    assert stale.status_code == 302 and stale["Location"] == page
    assert not Note.objects.exists()
    shown = client.get(page).content.decode()
    assert f'name="text" rows="3">{PHRASE}</textarea>' in shown
    # With htmx, the whole window goes back to the page.
    with_htmx = client.post(
        f"/cases/{case.pk}/notes/",
        {"text": PHRASE, "csrfmiddlewaretoken": "x" * 32},
        headers=from_page(page, **{"HX-Request": "true", "HX-Current-URL": SITE + page}),
    )
    assert with_htmx.status_code == 409 and with_htmx["HX-Redirect"] == page
    assert not Note.objects.exists() and Draft.objects.count() == 1


def test_it_refuses_a_bad_csrf_token_from_another_site_as_before(district, open_case):
    case = open_case()
    client = sign_in_client(Client(enforce_csrf_checks=True), district["counselor"])
    client.get(f"/cases/{case.pk}/")
    refused = client.post(
        f"/cases/{case.pk}/notes/",
        {"text": "Planted text.", "csrfmiddlewaretoken": "x" * 32},
        headers={"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403
    assert not Draft.objects.exists() and not Note.objects.exists()


# --- "Stay signed in" ------------------------------------------------------------------


def test_it_says_how_long_is_left_without_counting_the_question_as_activity(district):
    client = sign_in_client(Client(), district["counselor"])
    go_idle(client, seconds=IDLE - 100)
    before = client.session[LAST_SEEN_KEY]
    answer = client.get("/session/")
    assert answer.status_code == 200
    assert 95 <= answer.json()["seconds_left"] <= 100
    assert client.session[LAST_SEEN_KEY] == before


def test_it_keeps_the_session_when_asked_to_stay_signed_in(district):
    client = sign_in_client(Client(enforce_csrf_checks=True), district["counselor"])
    client.get("/")
    go_idle(client, seconds=IDLE - 100)
    token = client.cookies["csrftoken"].value
    answer = client.post("/session/", headers={"X-CSRFToken": token})
    assert answer.status_code == 200 and answer.json()["seconds_left"] >= IDLE - 2
    assert client.session[LAST_SEEN_KEY] > time.time() - 5
    assert client.post("/session/").status_code == 403, "staying signed in needs the token"


def test_it_answers_401_once_ended_but_still_keeps_a_form_sent_afterwards(counselor_on_case):
    client, case = counselor_on_case
    go_idle(client)
    assert client.get("/session/").status_code == 401
    client.post(
        f"/cases/{case.pk}/notes/", {"text": PHRASE}, headers=from_page(f"/cases/{case.pk}/")
    )
    assert Draft.objects.get().fields["text"] == [PHRASE]
    assert client.get("/session/").status_code == 401


@override_settings(SESSION_IDLE_SECONDS=60)
def test_it_takes_the_warning_time_from_the_idle_time(district):
    client = sign_in_client(Client(), district["counselor"])
    page = client.get("/").content.decode()
    assert 'data-idle-seconds="60"' in page and 'data-warn-seconds="30"' in page
    assert '<dialog class="session-dialog"' in page
    assert "data-session-url" not in Client().get("/signin/").content.decode()


# --- encrypted at rest -----------------------------------------------------------------


def test_it_stores_drafts_encrypted_in_every_column_and_file(counselor_on_case):
    client, case = counselor_on_case
    go_idle(client)
    client.post(
        f"/cases/{case.pk}/notes/", {"text": PHRASE}, headers=from_page(f"/cases/{case.pk}/")
    )
    assert Draft.objects.get().fields["text"] == [PHRASE]
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name
            for column in connection.introspection.get_table_description(cursor, table):
                cast = f"CAST({quoted(column.name)} AS TEXT)"
                cursor.execute(
                    f"SELECT COUNT(*) FROM {quoted(table)} WHERE {cast} LIKE %s",
                    ["%Wombat-Teapot%"],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column.name}")
        cursor.execute("SELECT fields FROM accounts_draft")
        assert cursor.fetchone()[0].startswith("enc:v1:")
    assert found == []
    if connection.vendor == "sqlite":
        main = Path(connection.settings_dict["NAME"])
        files = [p for p in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if p.exists()]
        assert [p.name for p in files if b"Wombat-Teapot" in p.read_bytes()] == []

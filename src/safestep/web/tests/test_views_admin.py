"""The district coordinator's administration area: accounts, schools and protocols, each
change made by the same service the command line uses and recorded; "Not allowed" (403)
for every other role."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from safestep.accounts.models import ApiToken, Role, School, User
from safestep.accounts.testing import api_token_for, signed_in_client
from safestep.audit.models import Event
from safestep.definitions.models import ProtocolVersion
from safestep.definitions.selectors import protocol_active
from safestep.definitions.services import protocol_load
from safestep.protocol import shipped_protocol_paths

pytestmark = pytest.mark.django_db

SECOND_PROTOCOL = Path(__file__).resolve().parents[2] / "cases/tests/protocols/ca-generic.yaml"
ADMIN_PAGES = (
    "/admin-area/",
    "/admin-area/users/",
    "/admin-area/users/counselor/",
    "/admin-area/schools/",
    "/admin-area/protocols/",
)


@pytest.fixture
def as_user(district):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(district[username])
        return clients[username]

    return make


@pytest.fixture
def coordinator(as_user) -> Client:
    return as_user("district_coordinator")


def html(response) -> str:
    return response.content.decode()


def actions() -> list[str]:
    return list(Event.objects.order_by("seq").values_list("action", flat=True))


def one_time_password(response) -> str:
    found = re.search(r'id="one-time-password">([^<]+)<', html(response))
    assert found is not None, "the page shows no one-time password"
    return found.group(1)


def yaml_file(text: str, name: str = "district.yaml") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="application/yaml")


def shipped_text() -> str:
    return shipped_protocol_paths()[0].read_text(encoding="utf-8")


# --- who may use it -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username",
    ["reporter", "site_admin", "counselor", "school_police", "placement_office", "auditor"],
)
def test_it_refuses_the_area_to_everyone_but_the_coordinator(as_user, username):
    client = as_user(username)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/admin-area/users/counselor/active/", {"active": "no"}).status_code == 403
    assert client.post("/admin-area/schools/", {"code": "NEW", "name": "New"}).status_code == 403
    assert User.objects.get(username="counselor").is_active
    assert not School.objects.filter(code="NEW").exists()


def test_it_shows_the_area_in_the_coordinators_navigation_only(as_user, coordinator):
    assert 'href="/admin-area/"' in html(coordinator.get("/"))
    assert 'href="/admin-area/"' not in html(as_user("site_admin").get("/"))
    for path in ADMIN_PAGES:
        assert coordinator.get(path).status_code == 200, path


# --- accounts -------------------------------------------------------------------------------


def test_it_lists_accounts_and_filters_them_by_role_school_and_words(coordinator):
    everyone = html(coordinator.get("/admin-area/users/"))
    assert "outsider_admin" in everyone and "counselor" in everyone
    counselors = html(coordinator.get("/admin-area/users/", {"role": "counselor"}))
    assert 'href="/admin-area/users/counselor/"' in counselors
    assert 'href="/admin-area/users/site_admin/"' not in counselors
    at_roo = html(coordinator.get("/admin-area/users/", {"school": "ROO"}))
    assert "outsider_admin" in at_roo and 'href="/admin-area/users/site_admin/"' not in at_roo
    words = html(coordinator.get("/admin-area/users/", {"q": "outsider"}))
    assert 'href="/admin-area/users/outsider_counselor/"' in words
    assert 'href="/admin-area/users/counselor/"' not in words


def test_it_adds_an_account_and_shows_its_one_time_password_once(coordinator):
    answer = coordinator.post(
        "/admin-area/users/",
        {"username": "mrivera", "role": "counselor", "school": ["LIN"], "email": "m@example.org"},
    )
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    password = one_time_password(answer)
    person = User.objects.get(username="mrivera")
    assert person.role == Role.COUNSELOR and person.must_change_password
    assert person.check_password(password)
    assert [school.code for school in person.schools.all()] == ["LIN"]
    # The password is not shown again.
    assert password not in html(coordinator.get("/admin-area/users/mrivera/"))
    [event] = Event.objects.filter(action="user.add")
    assert event.actor_username == "district_coordinator"
    assert password not in str(event.payload)


def test_it_refuses_a_counselor_without_a_school_next_to_the_field(coordinator):
    answer = coordinator.post("/admin-area/users/", {"username": "nobody", "role": "counselor"})
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="add-school-error"' in body and 'value="nobody"' in body
    assert not User.objects.filter(username="nobody").exists()


def test_it_refuses_a_username_already_taken(coordinator):
    answer = coordinator.post("/admin-area/users/", {"username": "counselor", "role": "reporter"})
    assert answer.status_code == 409
    assert 'id="add-username-error"' in html(answer)


def test_it_deactivates_and_activates_an_account(coordinator):
    answer = coordinator.post("/admin-area/users/counselor/active/", {"active": "no"})
    assert answer.status_code == 302
    assert not User.objects.get(username="counselor").is_active
    page = html(coordinator.get(answer["Location"]))
    assert "counselor is deactivated" in page
    coordinator.post("/admin-area/users/counselor/active/", {"active": "yes"})
    assert User.objects.get(username="counselor").is_active
    assert {"user.deactivate", "user.activate"} <= set(actions())


def test_it_keeps_the_coordinator_from_locking_themselves_out(coordinator):
    answer = coordinator.post("/admin-area/users/district_coordinator/active/", {"active": "no"})
    assert answer.status_code == 409
    assert "your own account" in html(answer)
    assert User.objects.get(username="district_coordinator").is_active
    role = coordinator.post("/admin-area/users/district_coordinator/role/", {"role": "reporter"})
    assert role.status_code == 409
    assert User.objects.get(username="district_coordinator").role == Role.DISTRICT_COORDINATOR


def test_it_changes_a_role_and_the_schools(coordinator):
    answer = coordinator.post("/admin-area/users/reporter/role/", {"role": "site_admin"})
    assert answer.status_code == 302
    assert User.objects.get(username="reporter").role == Role.SITE_ADMIN
    schools = coordinator.post("/admin-area/users/reporter/schools/", {"school": ["LIN", "ROO"]})
    assert schools.status_code == 302
    codes = sorted(User.objects.get(username="reporter").schools.values_list("code", flat=True))
    assert codes == ["LIN", "ROO"]
    assert {"user.role", "user.schools"} <= set(actions())


def test_it_refuses_taking_the_last_school_from_a_counselor(coordinator):
    answer = coordinator.post("/admin-area/users/counselor/schools/", {})
    assert answer.status_code == 400
    assert 'id="schools-error"' in html(answer)
    assert User.objects.get(username="counselor").schools.count() == 1


def test_it_refuses_an_unknown_role(coordinator):
    answer = coordinator.post("/admin-area/users/reporter/role/", {"role": "superuser"})
    assert answer.status_code == 400
    assert User.objects.get(username="reporter").role == Role.REPORTER


def test_it_revokes_an_api_token_and_ends_sessions(district, coordinator):
    api_token_for(district["counselor"])
    page = html(coordinator.get("/admin-area/users/counselor/"))
    assert "Revoke the API token" in page
    answer = coordinator.post("/admin-area/users/counselor/token/revoke/")
    assert answer.status_code == 302
    assert not ApiToken.objects.filter(user__username="counselor").exists()
    sessions = coordinator.post("/admin-area/users/counselor/sessions/end/")
    assert sessions.status_code == 302
    assert {"token.revoke", "session.revoke"} <= set(actions())


def test_it_resets_a_password_to_a_one_time_password_shown_once(coordinator):
    answer = coordinator.post("/admin-area/users/counselor/password/")
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    password = one_time_password(answer)
    person = User.objects.get(username="counselor")
    assert person.check_password(password) and person.must_change_password
    assert "user.password_reset" in actions()


def test_it_answers_not_found_for_an_account_that_does_not_exist(coordinator):
    assert coordinator.get("/admin-area/users/nobody/").status_code == 404
    assert (
        coordinator.post("/admin-area/users/nobody/role/", {"role": "reporter"}).status_code == 404
    )


# --- schools -------------------------------------------------------------------------------


def test_it_adds_and_renames_a_school(coordinator):
    answer = coordinator.post("/admin-area/schools/", {"code": "han", "name": "Hanover High"})
    assert answer.status_code == 302
    assert School.objects.get(code="HAN").name == "Hanover High"
    rename = coordinator.post("/admin-area/schools/HAN/", {"name": "Hanover Academy"})
    assert rename.status_code == 302
    assert School.objects.get(code="HAN").name == "Hanover Academy"
    page = html(coordinator.get("/admin-area/schools/"))
    assert "Hanover Academy" in page
    assert {"school.add", "school.rename"} <= set(actions())
    [renamed] = Event.objects.filter(action="school.rename")
    assert renamed.payload == {"code": "HAN", "name": "Hanover Academy", "from": "Hanover High"}


def test_it_refuses_a_bad_code_and_an_empty_name_next_to_their_fields(coordinator):
    answer = coordinator.post("/admin-area/schools/", {"code": "x", "name": ""})
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="school-add-code-error"' in body and 'id="school-add-name-error"' in body
    rename = coordinator.post("/admin-area/schools/LIN/", {"name": "  "})
    assert rename.status_code == 400
    assert 'id="school-LIN-name-error"' in html(rename)
    assert School.objects.get(code="LIN").name == "Lincoln High School"
    assert coordinator.post("/admin-area/schools/NOPE/", {"name": "X"}).status_code == 404


# --- protocols -----------------------------------------------------------------------------


def test_it_lists_the_loaded_versions_with_the_active_one_marked(coordinator):
    protocol_load(text=SECOND_PROTOCOL.read_text(encoding="utf-8"), source_name="ca-generic.yaml")
    page = html(coordinator.get("/admin-area/protocols/"))
    assert "sdusd-csec" in page and "ca-generic" in page
    assert page.count('class="flag flag-review">Active<') == 1
    active = protocol_active()
    assert f'href="/admin-area/protocols/{active.pk}/"' in page


def test_it_lists_every_problem_of_an_uploaded_file_with_its_line_and_column(coordinator):
    loads = actions().count("protocol.load")
    broken = shipped_text().replace('version: "2012-03"', "version: [not, a, string]", 1)
    broken = broken.replace("actors: [", "actors: [nobody_role, ", 1)
    answer = coordinator.post(
        "/admin-area/protocols/", {"definition": yaml_file(broken), "action": "check"}
    )
    assert answer.status_code == 400
    body = html(answer)
    found = re.findall(r"<code>(district\.yaml:\d+:\d+: [^<]+)</code>", body)
    assert found, body
    line_of_version = next(
        number
        for number, line in enumerate(broken.splitlines(), start=1)
        if "version: [not, a, string]" in line
    )
    assert any(item.startswith(f"district.yaml:{line_of_version}:") for item in found), found
    assert 'role="alert"' in body
    assert ProtocolVersion.objects.filter(protocol_id="sdusd-csec").count() == 1
    assert actions().count("protocol.load") == loads


def test_it_names_a_yaml_syntax_error_by_its_line_and_column(coordinator):
    answer = coordinator.post(
        "/admin-area/protocols/",
        {"definition": yaml_file("protocol:\n  id: x\n  title: [unclosed\n"), "action": "check"},
    )
    assert answer.status_code == 400
    # The problem sits where the file ended with the list still open: line 4, column 1.
    assert "<code>district.yaml:4:1: YAML syntax error" in html(answer)


def test_it_refuses_a_file_that_is_not_text(coordinator):
    answer = coordinator.post(
        "/admin-area/protocols/",
        {"definition": SimpleUploadedFile("x.yaml", b"\xff\xfe\x00bad"), "action": "check"},
    )
    assert answer.status_code == 400
    assert 'id="definition-file-error"' in html(answer)


def test_it_checks_a_valid_file_and_compares_it_with_the_loaded_version(coordinator):
    revised = shipped_text().replace('version: "2012-03"', 'version: "2026-01"', 1)
    revised = revised.replace(
        "en: Investigate possible campus impact", "en: Look into the campus impact", 1
    )
    assert "Look into the campus impact" in revised
    answer = coordinator.post(
        "/admin-area/protocols/", {"definition": yaml_file(revised), "action": "check"}
    )
    assert answer.status_code == 200
    body = html(answer)
    assert "district.yaml is valid" in body
    assert "Compared with sdusd-csec version 2012-03" in body
    assert "Changed:" in body and "Look into the campus impact (title)" in body
    assert "Load this version" in body
    assert not ProtocolVersion.objects.filter(version="2026-01").exists()


def test_it_loads_a_checked_file_and_shows_the_new_version(coordinator):
    text = SECOND_PROTOCOL.read_text(encoding="utf-8")
    checked = coordinator.post(
        "/admin-area/protocols/", {"definition": yaml_file(text, "ca.yaml"), "action": "check"}
    )
    assert re.search(r'name="text" value="[^"]+"', html(checked))
    answer = coordinator.post(
        "/admin-area/protocols/", {"text": text, "source": "ca.yaml", "action": "load"}
    )
    assert answer.status_code == 302
    stored = ProtocolVersion.objects.get(protocol_id="ca-generic")
    assert answer["Location"] == f"/admin-area/protocols/{stored.pk}/"
    assert stored.source_name == "ca.yaml"
    assert stored.loaded_by is not None and stored.loaded_by.username == "district_coordinator"
    page = html(coordinator.get(answer["Location"]))
    assert "is loaded" in page
    # Compared with the active (shipped) protocol: all its pathways are new, the others gone.
    assert "a new pathway" in page and "no longer in the protocol" in page
    assert "protocol.load" in actions()


def test_it_loads_straight_from_an_upload(coordinator):
    answer = coordinator.post(
        "/admin-area/protocols/",
        {
            "definition": yaml_file(SECOND_PROTOCOL.read_text(encoding="utf-8")),
            "action": "load",
        },
    )
    assert answer.status_code == 302
    assert ProtocolVersion.objects.filter(protocol_id="ca-generic").exists()


def test_it_refuses_a_changed_file_under_a_version_already_loaded(coordinator):
    changed = shipped_text().replace("title: CSEC Reporting Protocol", "title: Changed", 1)
    answer = coordinator.post(
        "/admin-area/protocols/", {"definition": yaml_file(changed), "action": "load"}
    )
    assert answer.status_code == 409
    assert "give the changed definition a new version" in html(answer)


def test_it_activates_a_version_only_with_a_confirmation(coordinator):
    stored = protocol_load(
        text=SECOND_PROTOCOL.read_text(encoding="utf-8"), source_name="ca-generic.yaml"
    ).version
    page = html(coordinator.get(f"/admin-area/protocols/{stored.pk}/"))
    assert "Activate this version" in page and "Compared with the active version" in page
    refused = coordinator.post(f"/admin-area/protocols/{stored.pk}/activate/", {})
    assert refused.status_code == 400
    assert 'id="activate-confirm-error"' in html(refused)
    assert protocol_active().protocol_id == "sdusd-csec"
    answer = coordinator.post(f"/admin-area/protocols/{stored.pk}/activate/", {"confirm": "yes"})
    assert answer.status_code == 302
    assert protocol_active().pk == stored.pk
    [event] = Event.objects.filter(action="protocol.activate")
    assert event.actor_username == "district_coordinator"
    assert "This is the version new concerns and cases follow." in html(
        coordinator.get(f"/admin-area/protocols/{stored.pk}/")
    )


def test_it_answers_not_found_for_a_version_that_does_not_exist(coordinator):
    assert coordinator.get("/admin-area/protocols/999999/").status_code == 404
    assert coordinator.get(f"/admin-area/protocols/{2**70}/").status_code == 404

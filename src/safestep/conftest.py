"""Shared test fixtures: a small district with one named user per role.

Names follow the people in the story: ``site_admin`` works at LIN, ``outsider_admin`` at
ROO, so "a case outside your scope" reads plainly in every test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.test import APIClient

from safestep.accounts.models import Role, School, User
from safestep.accounts.testing import api_token_for
from safestep.cases import services
from safestep.cases.models import Case
from safestep.definitions.services import protocol_load_shipped
from safestep.testing import ago


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests are skipped on SQLite with a clear reason."""
    from django.db import connection

    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _language_of_the_settings() -> Iterator[None]:
    """Each test starts in the settings' language. A request through the language middleware
    leaves the reader's language active in the thread, as a server does until its next
    request; without this, a test after one by a Spanish reader would read Spanish."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _own_checkpoint_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's database starts empty, so its file of audit checkpoints must too."""
    monkeypatch.setenv("SAFESTEP_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))


@pytest.fixture(autouse=True)
def _audit_triggers_allow_test_flush(request: pytest.FixtureRequest) -> Any:
    """Let transactional tests empty the database afterwards despite append-only triggers.

    Between transactional tests the test database is emptied with DELETE/TRUNCATE, which the
    audit triggers refuse. This fixture tears down before that flush (it is set up after
    pytest-django's own database fixture), drops the triggers for the flush, and the next
    test that needs them gets them back.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction", False)) or (
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    )
    if not transactional:
        yield
        return
    from django.db import connection

    from safestep.audit.triggers import create_triggers, drop_triggers

    create_triggers(connection)
    yield
    drop_triggers(connection)


@dataclass
class District:
    lin: School
    roo: School
    users: dict[str, User]

    def __getitem__(self, name: str) -> User:
        return self.users[name]


PEOPLE: dict[str, tuple[str, list[str]]] = {
    "reporter": (Role.REPORTER, ["LIN"]),
    "site_admin": (Role.SITE_ADMIN, ["LIN"]),
    "counselor": (Role.COUNSELOR, ["LIN"]),
    "school_police": (Role.SCHOOL_POLICE, []),
    "placement_office": (Role.PLACEMENT_OFFICE, []),
    "district_coordinator": (Role.DISTRICT_COORDINATOR, []),
    "auditor": (Role.AUDITOR, []),
    "outsider_admin": (Role.SITE_ADMIN, ["ROO"]),
    "outsider_counselor": (Role.COUNSELOR, ["ROO"]),
}


@pytest.fixture
def district(db: None) -> District:
    protocol_load_shipped()
    lin = School.objects.create(code="LIN", name="Lincoln High School")
    roo = School.objects.create(code="ROO", name="Roosevelt Middle School")
    schools = {"LIN": lin, "ROO": roo}
    users: dict[str, User] = {}
    for username, (role, codes) in PEOPLE.items():
        user = User.objects.create_user(
            username=username, password="a long test password", role=role
        )
        user.schools.set([schools[code] for code in codes])
        users[username] = user
    return District(lin=lin, roo=roo, users=users)


@pytest.fixture
def api_as(district: District) -> Callable[[str], APIClient]:
    """An API client signed in with a real token as the named user."""

    def make(username: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(district[username])}")
        return client

    return make


@pytest.fixture
def open_case(district: District) -> Callable[..., Case]:
    """Open a case at LIN (or another school) on the given pathway."""

    def make(
        pathway: str = "suspected_victim",
        *,
        school: str = "LIN",
        sis_id: str = "S-1",
        by: str = "site_admin",
        suspicion_hours_ago: float = 2,
    ) -> Case:
        return services.case_open(
            acting_user=district[by],
            pathway=pathway,
            suspicion_formed_at=ago(hours=suspicion_hours_ago),
            summary="Older adult picks the student up after school.",
            school_code=school,
            student=services.StudentInput(sis_id=sis_id, first_name="Ana", last_name="Lopez"),
        )

    return make


@pytest.fixture(scope="session")
def ci() -> bool:
    return os.environ.get("CI") == "true"

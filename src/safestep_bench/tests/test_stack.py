"""The bare Django view the floor is held against, and what each middleware costs."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches

from safestep_bench import root_urls, stack
from safestep_bench import urls as bench_urls
from safestep_bench.runner import BARE, FLOORS, session_for
from safestep_bench.urls import FLOOR_VARIABLE
from safestep_bench.wsgi import BenchApplication


@pytest.fixture
def floor_routes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SafeStep's URLs plus the floor's and the bare view's, as in a benchmark's server."""
    monkeypatch.setenv(FLOOR_VARIABLE, "true")
    importlib.reload(bench_urls)
    importlib.reload(root_urls)
    clear_url_caches()
    try:
        with override_settings(ROOT_URLCONF="safestep_bench.root_urls"):
            yield
    finally:
        monkeypatch.delenv(FLOOR_VARIABLE)
        importlib.reload(bench_urls)
        importlib.reload(root_urls)
        clear_url_caches()


@pytest.mark.django_db
def test_the_bare_view_signs_in_with_django_alone_and_sends_one_query_of_its_own(
    district, open_case, floor_routes
):
    case = open_case()
    client = stack.client_with(stack.BARE_MIDDLEWARE)
    path = BARE.path_for(case.pk)
    assert client.get(path).status_code == 401
    client.cookies[settings.SESSION_COOKIE_NAME] = session_for(district["site_admin"])
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(path)
    assert answer.status_code == 200 and answer.json() == {"version": case.version}
    # The session row and the user (Django's authentication), then the case's version.
    assert len(captured.captured_queries) == 3
    # None of SafeStep's middleware ran: it would have set these.
    assert "X-Request-ID" not in answer and "Content-Security-Policy" not in answer


def test_the_bench_server_sends_only_the_bare_path_to_the_bare_stack():
    seen: list[str] = []

    def answer(name: str) -> Any:
        def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            seen.append(name)
            start_response("200 OK", [])
            return [name.encode()]

        return application

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        assert status == "200 OK"

    served = BenchApplication(answer("safestep"), answer("bare"))
    served({"PATH_INFO": "/bench/bare/12"}, start_response)
    served({"PATH_INFO": "/bench/floor/12"}, start_response)
    served({"PATH_INFO": "/cases/12/"}, start_response)
    assert seen == ["bare", "safestep", "safestep"]
    alone = BenchApplication(answer("safestep"), None)
    alone({"PATH_INFO": "/bench/bare/12"}, start_response)
    assert seen[-1] == "safestep", "without the floor routes there is no bare stack"


@pytest.mark.django_db
def test_it_times_every_middleware_of_the_stack_in_order_and_finds_their_queries(
    district, open_case, floor_routes
):
    case = open_case()
    session = session_for(district["site_admin"])
    measured = stack.middleware_costs(
        [
            stack.Measured(
                "floor_session",
                FLOORS[1].path_for(case.pk),
                tuple(settings.MIDDLEWARE),
                {},
                session,
            ),
            stack.Measured(
                "bare_django", BARE.path_for(case.pk), stack.BARE_MIDDLEWARE, {}, session
            ),
        ],
        repeats=3,
        warmup=1,
    )
    floor = measured["requests"]["floor_session"]
    assert floor["status"] == 200
    names = [row["middleware"] for row in floor["rows"]]
    assert [name for name in names if name in settings.MIDDLEWARE] == list(settings.MIDDLEWARE)
    queries = {row["middleware"]: row["queries"] for row in floor["rows"]}
    assert queries["loading the signed-in user (session row, user)"] == 2
    assert queries["loading the second-factor device"] == 1
    assert queries[stack.INNER_LABEL] == 1
    bare = measured["requests"]["bare_django"]
    assert bare["status"] == 200
    assert [row["middleware"] for row in bare["rows"]][:2] == list(stack.BARE_MIDDLEWARE)
    assert sum(row["queries"] for row in bare["rows"]) == 3

from __future__ import annotations

import json

from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from safestep.core.unavailable import DatabaseUnavailableMiddleware, server_error


def _middleware() -> DatabaseUnavailableMiddleware:
    return DatabaseUnavailableMiddleware(lambda request: HttpResponse())


def test_it_answers_the_api_with_503_problem_json_when_the_database_is_unreachable():
    request = RequestFactory().post("/api/v1/cases/1/notes")
    response = _middleware().process_exception(request, OperationalError("connection refused"))

    assert response is not None
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    body = json.loads(response.content)
    assert body["status"] == 503 and body["title"] == "Service unavailable"


def test_it_answers_a_page_with_a_short_503_page():
    request = RequestFactory().get("/cases/1/")
    response = _middleware().process_exception(
        request, OperationalError("server closed the connection")
    )

    assert response is not None
    assert response.status_code == 503
    assert b"try again in a moment" in response.content


def test_it_leaves_other_errors_alone():
    request = RequestFactory().get("/cases/1/")
    assert _middleware().process_exception(request, ValueError("a bug")) is None


def test_the_error_handler_tells_a_database_outage_from_a_bug(settings):
    settings.DEBUG = False
    request = RequestFactory().get("/api/v1/cases")
    try:
        raise OperationalError("could not connect to server")
    except OperationalError:
        assert server_error(request).status_code == 503
    try:
        raise ValueError("a bug")
    except ValueError:
        assert server_error(request).status_code == 500

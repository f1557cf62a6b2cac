"""Django handlers with a chosen middleware stack, and what each middleware costs.

Two uses, both in the benchmark only:

- the **bare Django stack** (``BARE_MIDDLEWARE``): Django's session and authentication
  middleware and nothing of SafeStep's, which ``safestep_bench.wsgi`` serves the bare view
  with, in the same server as SafeStep's pages;
- the **cost of each middleware**: SafeStep's own stack with a probe between every two
  middleware. A probe records how long everything inside it took (and how many queries
  it sent), so a middleware's own time is its outer probe's time less its inner probe's.

Django's authentication middleware loads the signed-in user lazily, and django-otp its
second-factor device: whichever middleware first asks ``request.user`` would be charged
for reading the session row, the user and the device. A loader placed right after each
middleware that sets ``request.user`` asks first, so that work gets rows of its own.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.http import HttpRequest, HttpResponseBase
from django.test import Client as DjangoClient
from django.test.client import ClientHandler
from django.test.utils import override_settings

# A plain Django application with session authentication: what the floor is held against.
BARE_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)
# Middleware that put a lazily loaded user on the request, and what asking for it loads.
USER_SETTERS = {
    "django.contrib.auth.middleware.AuthenticationMiddleware": (
        "loading the signed-in user (session row, user)"
    ),
    "django_otp.middleware.OTPMiddleware": "loading the second-factor device",
}
PROBE_PATH = f"{__name__}.Probe"
LOADER_PATH = f"{__name__}.UserLoader"
INNER_LABEL = "URL routing, process_view hooks and the view"
OUTER_LABEL = "Django's handler outside the middleware (request and response objects)"


class _StackHandlerMixin:
    """Loads MIDDLEWARE from the handler's own list instead of settings.MIDDLEWARE."""

    middleware_paths: Sequence[str]

    def load_middleware(self, is_async: bool = False) -> None:
        # Settings are read only while the chain is built (once, before any request).
        with override_settings(MIDDLEWARE=list(self.middleware_paths)):
            super().load_middleware(is_async)  # type: ignore[misc]


class StackHandler(_StackHandlerMixin, WSGIHandler):
    """A WSGI application like Django's own, with the middleware given here."""

    def __init__(self, middleware: Sequence[str]) -> None:
        self.middleware_paths = tuple(middleware)
        super().__init__()


class StackClientHandler(_StackHandlerMixin, ClientHandler):
    """The test client's handler (in this process) with the middleware given here."""

    def __init__(self, middleware: Sequence[str]) -> None:
        self.middleware_paths = tuple(middleware)
        super().__init__(enforce_csrf_checks=False)


def client_with(middleware: Sequence[str]) -> DjangoClient:
    client = DjangoClient(HTTP_HOST="localhost")
    client.handler = StackClientHandler(middleware)
    return client


# --- probes ----------------------------------------------------------------------------

# Inclusive seconds and queries of each probe during the last request, by probe number.
_inclusive: dict[int, tuple[float, int]] = {}
_loaded: list[tuple[float, int]] = []


def _queries_so_far() -> int:
    return len(connection.queries_log)


class _Probe:
    index = 0

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        queries = _queries_so_far()
        started = time.perf_counter()
        response = self.get_response(request)
        _inclusive[self.index] = (time.perf_counter() - started, _queries_so_far() - queries)
        return response


class UserLoader:
    """Asks for request.user first, so loading it is timed on its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None:
            bool(user.is_authenticated)
        return self.get_response(request)


_probe_classes: dict[int, type[_Probe]] = {}


def __getattr__(name: str) -> Any:
    """``Probe0``, ``Probe1`` ...: a probe class per position, importable by its path (Django
    builds the middleware chain from dotted paths)."""
    number = name.removeprefix("Probe")
    if name.startswith("Probe") and number.isdigit():
        index = int(number)
        if index not in _probe_classes:
            _probe_classes[index] = type(name, (_Probe,), {"index": index})
        return _probe_classes[index]
    raise AttributeError(name)


def probed(middleware: Sequence[str]) -> tuple[list[str], list[str]]:
    """MIDDLEWARE with a probe around each one; and the label of each measured layer."""
    layers: list[tuple[str, str]] = []
    for path in middleware:
        layers.append((path, path))
        if path in USER_SETTERS:
            layers.append((LOADER_PATH, USER_SETTERS[path]))
    chain: list[str] = []
    for number, (path, _) in enumerate(layers):
        chain += [f"{PROBE_PATH}{number}", path]
    chain.append(f"{PROBE_PATH}{len(layers)}")
    return chain, [label for _, label in layers]


@dataclass(frozen=True)
class Measured:
    """One kind of request whose middleware is measured, through its own stack."""

    name: str
    path: str
    middleware: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict)
    session_key: str | None = None


@contextmanager
def _counting_queries(on: bool) -> Iterator[None]:
    previous = connection.force_debug_cursor
    connection.force_debug_cursor = on
    try:
        yield
    finally:
        connection.force_debug_cursor = previous


def _signed_in(client: DjangoClient, session_key: str | None) -> DjangoClient:
    if session_key:
        client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client


def middleware_costs(
    requests: Sequence[Measured], *, repeats: int = 200, warmup: int = 20
) -> dict[str, Any]:
    """The median microseconds (and queries) each middleware adds to each request.

    The REQUESTS run in turn, in this process (so a slow moment of a shared machine hits
    them alike), each through its stack with probes; each also runs through the stack
    without probes, so what the probes themselves cost shows as the difference.
    """
    chains = {request.name: probed(request.middleware) for request in requests}
    probed_clients = {
        request.name: _signed_in(client_with(chains[request.name][0]), request.session_key)
        for request in requests
    }
    plain_clients = {
        request.name: _signed_in(client_with(request.middleware), request.session_key)
        for request in requests
    }
    own: dict[str, list[list[float]]] = {
        request.name: [[] for _ in range(len(chains[request.name][1]) + 2)] for request in requests
    }
    plain_totals: dict[str, list[float]] = {request.name: [] for request in requests}
    probed_totals: dict[str, list[float]] = {request.name: [] for request in requests}
    queries: dict[str, list[int]] = {}
    statuses: dict[str, int] = {}

    for number in range(warmup + repeats):
        for request in requests:
            layers = len(chains[request.name][1])
            _inclusive.clear()
            started = time.perf_counter()
            response = probed_clients[request.name].get(request.path, headers=request.headers)
            total = time.perf_counter() - started
            statuses[request.name] = response.status_code
            started = time.perf_counter()
            plain_clients[request.name].get(request.path, headers=request.headers)
            plain = time.perf_counter() - started
            if number < warmup:
                continue
            plain_totals[request.name].append(plain * 1e6)
            probed_totals[request.name].append(total * 1e6)
            inclusive = [_inclusive.get(index, (0.0, 0))[0] for index in range(layers + 1)]
            samples = own[request.name]
            for index in range(layers):
                samples[index].append((inclusive[index] - inclusive[index + 1]) * 1e6)
            samples[layers].append(inclusive[layers] * 1e6)
            samples[layers + 1].append((total - inclusive[0]) * 1e6)
    # One more request of each kind with the query log on (it costs time of its own).
    with _counting_queries(True):
        for request in requests:
            layers = len(chains[request.name][1])
            _inclusive.clear()
            probed_clients[request.name].get(request.path, headers=request.headers)
            inclusive_queries = [_inclusive.get(index, (0.0, 0))[1] for index in range(layers + 1)]
            queries[request.name] = [
                inclusive_queries[index] - inclusive_queries[index + 1] for index in range(layers)
            ] + [inclusive_queries[layers], 0]

    result: dict[str, Any] = {
        "method": (
            "in-process (Django's test client), the requests interleaved; a probe between "
            "every two middleware; median over the requests of each middleware's own time "
            "(its outer probe's time less its inner probe's)"
        ),
        "repeats": repeats,
        "requests": {},
    }
    for request in requests:
        names = [*chains[request.name][1], INNER_LABEL, OUTER_LABEL]
        rows = [
            {
                "middleware": label,
                "us": round(statistics.median(own[request.name][index]), 1),
                "queries": queries[request.name][index],
            }
            for index, label in enumerate(names)
        ]
        result["requests"][request.name] = {
            "path": request.path,
            "status": statuses[request.name],
            "middleware_count": len(request.middleware),
            "rows": rows,
            "median_total_us": round(statistics.median(probed_totals[request.name]), 1),
            "median_total_us_without_probes": round(
                statistics.median(plain_totals[request.name]), 1
            ),
        }
    return result

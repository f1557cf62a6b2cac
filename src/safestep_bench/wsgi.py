"""The WSGI application of a server in bench mode: SafeStep's, plus the bare Django stack.

Settings name it as ``WSGI_APPLICATION`` only in bench mode, so ``safestep serve`` (which
serves ``WSGI_APPLICATION``) runs SafeStep exactly as always, except that while the floor
routes are on (``SAFESTEP_BENCH_FLOOR``) a request under ``/bench/bare/`` goes to a second
Django handler with only Django's session and authentication middleware. Both share the
server, its workers, the process and the database connection: the bare view is what a
plain Django application answers on the same machine, in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from safestep.wsgi import application as safestep_application
from safestep_bench.stack import BARE_MIDDLEWARE, StackHandler
from safestep_bench.urls import BARE_PREFIX, floor_enabled

StartResponse = Callable[..., Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class BenchApplication:
    """SafeStep's application, and the bare stack for the bare view's path (if given)."""

    def __init__(self, safestep: WSGIApplication, bare: WSGIApplication | None) -> None:
        self.safestep = safestep
        self.bare = bare

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.bare is not None and str(environ.get("PATH_INFO", "")).startswith(BARE_PREFIX):
            return self.bare(environ, start_response)
        return self.safestep(environ, start_response)


application = BenchApplication(
    safestep_application, StackHandler(BARE_MIDDLEWARE) if floor_enabled() else None
)

"""Running SafeStep under gunicorn from inside the `safestep` command."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class SafeStepServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # WSGI_APPLICATION: SafeStep's own (safestep.wsgi), unless settings chose another.
        from django.core.servers.basehttp import get_internal_wsgi_application

        return get_internal_wsgi_application()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    SafeStepServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "accesslog": "-",
            "timeout": 60,
            "graceful_timeout": 20,
            # Keep-alive for clients that reuse connections (and for the benchmarks).
            "keepalive": 5,
            "forwarded_allow_ips": "127.0.0.1",
        }
    ).run()

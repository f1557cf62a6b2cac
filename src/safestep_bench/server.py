"""The real server, started for a measurement or a drill, and a keep-alive HTTP client.

The server is ``safestep serve`` (gunicorn) in a process group of its own, on a free port
of the loopback interface, with the caller's environment (same data directory, same
database). The client is the standard library's ``http.client``: one connection per
client, reused for every request (keep-alive), timed around the full request and body.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group: the gunicorn master and every worker."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.process.wait(timeout)
        # Workers left behind by a killed master would keep the port.
        self.kill(signal.SIGKILL)


def start_server(
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path,
    workers: int | None = None,
    threads: int | None = None,
    port: int | None = None,
    migrate: bool = True,
    ready_timeout: float = 120,
) -> Server:
    """Start ``safestep serve`` and wait until ``/healthz`` answers 200."""
    chosen = port or free_port()
    command = [sys.executable, "-m", "safestep", "serve", "--host", HOST, "--port", str(chosen)]
    if workers:
        command += ["--workers", str(workers)]
    if threads:
        # More than one thread makes gunicorn use its threaded worker (gthread).
        command += ["--threads", str(threads)]
    if not migrate:
        command.append("--no-migrate")
    log = log_path.open("ab")
    process = subprocess.Popen(  # noqa: S603
        command,
        env=dict(env if env is not None else os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    server = Server(chosen, process, log_path)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited with {process.returncode}: {tail}")
        try:
            status, _, _ = Client(chosen, timeout=2).get("/healthz")
        except OSError:
            status = 0
        if status == 200:
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server did not answer within {ready_timeout:.0f} s")


@contextmanager
def served(**kwargs: Any) -> Iterator[Server]:
    server = start_server(**kwargs)
    try:
        yield server
    finally:
        server.stop()


class Client:
    """One keep-alive connection; reconnects if the server closed it."""

    def __init__(self, port: int, *, headers: Mapping[str, str] | None = None, timeout: float = 60):
        self.port = port
        self.timeout = timeout
        self.headers = {"Host": "localhost", **(headers or {})}
        self.connection: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        sent = {**self.headers, **(headers or {})}
        payload: bytes | None = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, path, body=payload, headers=sent)
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A keep-alive connection the server had already closed: once more, fresh.
                self.close()
                if attempt == 2 or method != "GET":
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        raise AssertionError("unreachable")

    def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, **kwargs)

    def timed_get(self, path: str) -> tuple[int, float]:
        """Status and milliseconds for one GET, body included."""
        started = time.perf_counter()
        status, _, _ = self.request("GET", path)
        return status, (time.perf_counter() - started) * 1000

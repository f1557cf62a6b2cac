"""`safestep demo` and `safestep serve`: a newcomer's first two commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def install(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "SAFESTEP_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def safestep(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safestep", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_it_creates_the_demo_district_once_and_prints_passwords_once(install):
    assert safestep(install, "migrate", "--verbosity", "0").returncode == 0
    first = safestep(install, "demo")
    assert first.returncode == 0, first.stderr
    for role in (
        "reporter",
        "site_admin",
        "counselor",
        "school_police",
        "placement_office",
        "district_coordinator",
        "auditor",
    ):
        assert f"  {role} " in first.stdout
    assert "sample cases on every pathway" in first.stdout
    second = safestep(install, "demo")
    assert second.returncode == 0
    assert "already exists" in second.stdout and "site_admin " not in second.stdout
    listed = safestep(
        install,
        "shell",
        "-c",
        "from safestep.cases.models import Case;"
        "print(sorted(set(Case.objects.values_list('pathway', flat=True))))",
    )
    assert listed.stdout.strip().splitlines()[-1] == (
        "['confirmed_victim', 'recruitment_by_student', 'suspected_victim']"
    )


def test_it_serves_pages_api_and_static_files_with_gunicorn(install):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "safestep", "serve", "--port", str(port), "--workers", "2"],
        env=install,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("server did not come up")
        with urllib.request.urlopen(f"{base}/static/web/safestep.css", timeout=5) as css:
            assert css.status == 200 and b"--accent" in css.read()
        with urllib.request.urlopen(f"{base}/signin/", timeout=5) as signin:
            assert b"Sign in" in signin.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/api/v1/cases", timeout=5)
        assert refused.value.code == 401
        # A real read through the real server, outside any test transaction, is audited.
        assert safestep(install, "demo").returncode == 0
        token = safestep(install, "user", "token", "site_admin").stdout.strip()
        request = urllib.request.Request(
            f"{base}/api/v1/cases/1", headers={"Authorization": f"Token {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["reference"].startswith("CSEC-")
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "gunicorn" in output.lower() or "Booting worker" in output
    assert "loaded protocol sdusd-csec 2012-03" in output

"""Bench mode: the benchmark is a Django app only when SAFESTEP_BENCH is on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from safestep.core.testing import install_runner

PROBE = """
import json, sys
import django
from django.apps import apps
from django.conf import settings
django.setup()
print(json.dumps({
    "installed": apps.is_installed("safestep_bench"),
    "urlconf": settings.ROOT_URLCONF,
    "wsgi": settings.WSGI_APPLICATION,
    "imported": sorted(name for name in sys.modules if name.startswith("safestep_bench")),
}))
"""


def probe(tmp_path: Path, **env: str) -> dict:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SAFESTEP_BENCH", "SAFESTEP_BENCH_FLOOR", "DATABASE_URL")
    }
    environ |= {
        "DJANGO_SETTINGS_MODULE": "safestep.settings",
        "SAFESTEP_DATA_DIR": str(tmp_path),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_safestep_neither_loads_nor_imports_the_benchmark_by_default(tmp_path):
    found = probe(tmp_path)
    assert found == {
        "installed": False,
        "urlconf": "safestep.urls",
        "wsgi": "safestep.wsgi.application",
        "imported": [],
    }


def test_bench_mode_loads_the_benchmark_app_and_its_urls(tmp_path):
    found = probe(tmp_path, SAFESTEP_BENCH="true")
    assert found["installed"] is True
    assert found["urlconf"] == "safestep_bench.root_urls"
    # The server then also answers the bare Django view (safestep_bench.wsgi).
    assert found["wsgi"] == "safestep_bench.wsgi.application"


def test_the_benchmark_commands_switch_bench_mode_on_for_themselves(tmp_path):
    safestep = install_runner(tmp_path)
    safestep("seed-bench", "--help")  # each fails the test unless it exits 0
    safestep("bench", "--help")
    assert "seed-bench" not in safestep("help")


def test_seed_bench_makes_a_new_data_directory_ready_and_seeds_it(tmp_path):
    # It was a traceback (no such table) until seed-bench migrated first.
    printed = install_runner(tmp_path)("seed-bench", "--cases", "3", "--events-per-case", "2")
    # The three asked for, and the two marked cases the measurements read.
    assert printed.startswith("seeded 5 cases and ")

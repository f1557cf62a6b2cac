"""Routes that exist only while a benchmark runs (SAFESTEP_BENCH_FLOOR=true)."""

from __future__ import annotations

import os

from django.urls import URLPattern, path

from safestep.config import parse_bool

# Bench mode: settings load this app only when it is on (`safestep bench` sets it).
BENCH_VARIABLE = "SAFESTEP_BENCH"
FLOOR_VARIABLE = "SAFESTEP_BENCH_FLOOR"
# Requests under this path go to the bare Django stack (safestep_bench.wsgi), not SafeStep's.
BARE_PREFIX = "/bench/bare/"


def floor_enabled() -> bool:
    return parse_bool(FLOOR_VARIABLE, os.environ.get(FLOOR_VARIABLE, "false"))


urlpatterns: list[URLPattern] = []

if floor_enabled():
    from safestep_bench import views

    urlpatterns = [
        path("bench/floor/<int:case_id>", views.floor_page, name="bench-floor-page"),
        path("api/v1/bench/floor/<int:case_id>", views.FloorApi.as_view(), name="bench-floor-api"),
        # Served by Django's session and authentication middleware alone (safestep_bench.wsgi).
        path(f"{BARE_PREFIX.lstrip('/')}<int:case_id>", views.bare_page, name="bench-bare"),
    ]

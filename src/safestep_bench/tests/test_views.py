from __future__ import annotations

import importlib

import pytest
from django.urls import NoReverseMatch, clear_url_caches, reverse

from safestep_bench import urls as bench_urls


def test_it_routes_the_floor_only_when_asked(monkeypatch):
    with pytest.raises(NoReverseMatch):
        reverse("bench-floor-api", args=[1])
    monkeypatch.setenv("SAFESTEP_BENCH_FLOOR", "true")
    try:
        importlib.reload(bench_urls)
        assert [pattern.name for pattern in bench_urls.urlpatterns] == [
            "bench-floor-page",
            "bench-floor-api",
            "bench-bare",
        ]
    finally:
        monkeypatch.delenv("SAFESTEP_BENCH_FLOOR")
        importlib.reload(bench_urls)
        clear_url_caches()
    assert bench_urls.urlpatterns == []


@pytest.mark.django_db
def test_the_floor_answers_a_case_version_with_one_query(
    district, open_case, django_assert_num_queries
):
    from rest_framework.test import APIRequestFactory, force_authenticate

    from safestep_bench.views import FloorApi

    case = open_case()
    request = APIRequestFactory().get(f"/api/v1/bench/floor/{case.pk}")
    force_authenticate(request, user=district["site_admin"])
    with django_assert_num_queries(1):
        response = FloorApi.as_view()(request, case_id=case.pk)
    assert response.data == {"version": case.version}

from __future__ import annotations

from safestep_bench.runner import goals, percentile, summary


def test_it_takes_nearest_rank_percentiles():
    values = [float(value) for value in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile([7.0], 0.95) == 7
    assert summary([])["n"] == 0


def test_it_judges_pages_against_the_floor_of_their_own_authentication():
    result = {
        "floor": {"p50_ms": 2.0},
        "floor_session": {"p50_ms": 4.0},
        "bare_django": {"p50_ms": 1.5},
        "pages": {
            "case_detail_api": {
                "auth": "token",
                "p50_ms": 5.0,
                "p95_ms": 9.0,
                "queries": 9,
                "queries_long_history": 13,
            },
            "case_detail_html": {
                "auth": "session",
                "p50_ms": 7.0,
                "p95_ms": 60.0,
                "queries": 12,
                "queries_long_history": 12,
            },
            "my_work": {"missing": "no URL"},
        },
        "audit": {"verify": {"events_per_second": 310_000}},
        "database": {"cases": 10, "vendor": "sqlite"},
    }
    verdict = goals(result)
    assert verdict["median_within_2x_floor"]["case_detail_api"] == {"ratio": 2.5, "met": False}
    assert verdict["median_within_2x_floor"]["case_detail_html"] == {"ratio": 1.75, "met": True}
    assert verdict["at_most_12_queries"]["case_detail_api"] == {"max": 13, "met": False}
    assert verdict["p95_at_most_50ms"]["pages"]["case_detail_html"]["met"] is False
    assert verdict["verify_at_least_300k_per_second"]["met"] is True
    assert "my_work" not in verdict["median_within_2x_floor"]
    assert verdict["floor_within_2x_bare_django"]["floor"] == {"ratio": 1.33, "met": True}
    assert verdict["floor_within_2x_bare_django"]["floor_session"] == {"ratio": 2.67, "met": False}

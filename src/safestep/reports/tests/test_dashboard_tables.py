"""The dashboard's long tables, drawn in Python (the overdue list, the open cases by
school): what a reader and a hostile value meet."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import translation

from safestep.reports.selectors import OverdueStep
from safestep.reports.templatetags.dashboard import open_rows, overdue_rows


def overdue(**changes: object) -> OverdueStep:
    values: dict[str, object] = {
        "case_id": 41,
        "reference": "CSEC-2026-0041",
        "school": "Lincoln High School",
        "step_id": "cws_report",
        "step_code": "B3",
        "step_title": "Written report to CWS",
        "due_at": datetime(2026, 11, 30, 20, 5, tzinfo=UTC),
        "hours_overdue": 12.5,
    }
    return OverdueStep(**{**values, **changes})  # type: ignore[arg-type]


def test_it_links_each_case_and_gives_the_due_time_in_the_districts_time_zone():
    drawn = overdue_rows([overdue(), overdue(case_id=7, reference="CSEC-2026-0007")])
    assert drawn.count("<tr>") == 2
    assert '<td data-label="Case"><a href="/cases/41/">CSEC-2026-0041</a></td>' in drawn
    assert '<a href="/cases/7/">CSEC-2026-0007</a>' in drawn
    assert '<td data-label="Step">B3 Written report to CWS</td>' in drawn
    # 20:05 UTC is 12:05 in San Diego (PST).
    assert '<td data-label="Due">2026-11-30 12:05</td>' in drawn
    assert '<td class="overdue" data-label="Overdue by">12.5 h</td>' in drawn


def test_it_labels_the_cells_and_writes_numbers_in_the_readers_language():
    with translation.override("es"):
        drawn = overdue_rows([overdue()])
    assert 'data-label="Caso"' in drawn
    assert "12,5 h" in drawn


def test_it_escapes_every_value_it_draws():
    hostile = '"><script>alert(1)</script>'
    drawn = overdue_rows([overdue(reference=hostile, school=hostile, step_title=hostile)])
    assert "<script>" not in drawn
    assert drawn.count("&lt;script&gt;") == 3


def test_it_draws_nothing_for_no_overdue_step():
    assert overdue_rows([]) == ""


def test_it_gives_each_school_its_open_cases_per_pathway_and_in_all():
    drawn = open_rows(
        [("LIN", "Lincoln High", [3, 0, 1200], 1203), ("ROO", "Roosevelt", [0, 0, 0], 0)]
    )
    assert drawn.count("<tr>") == 2
    assert (
        '<tr><th scope="row">LIN <span class="muted">Lincoln High</span></th>'
        "<td>3</td><td>0</td><td>1200</td><td>1203</td></tr>"
    ) in drawn
    assert "<td>0</td><td>0</td><td>0</td><td>0</td></tr>" in drawn


def test_it_escapes_school_names():
    drawn = open_rows([("<b>", '"><script>alert(1)</script>', [1], 1)])
    assert "<script>" not in drawn and "<b>" not in drawn
    assert "&lt;b&gt;" in drawn and "&lt;script&gt;" in drawn

"""My work's table and the case lists' rows, drawn in Python: what a reader sees of each
kind of work and case, in their language, and what a hostile value meets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone, translation

from safestep.cases.selectors import WorkCase, WorkItem
from safestep.protocol.loader import load_shipped_protocols
from safestep.web.templatetags.tables import case_rows, history_rows, work_rows

# "Hours left" is counted from the clock: the times below are half an hour off the hour.
NOW = timezone.now()
STEPS = {
    step.id: step
    for protocol in load_shipped_protocols()
    for pathway in protocol.pathways
    for step in pathway.steps
}
LIN = WorkCase(41, "CSEC-2026-0041", "LIN", "Ana Pérez")


def item(case: WorkCase = LIN, step: str | None = "cws_report", **changes: Any) -> WorkItem:
    values: dict[str, Any] = {"state": "pending", "due_at": NOW + timedelta(hours=30.5)}
    values.update(changes)
    due_at = values["due_at"]
    overdue = due_at is not None and due_at < NOW
    return WorkItem(case, STEPS[step] if step else None, values["state"], due_at, overdue)


def rows_of(drawn: str) -> list[str]:
    return [row for row in drawn.split("<tr") if row.strip()]


def test_it_marks_overdue_work_and_work_due_within_a_day_and_no_other():
    drawn = work_rows(
        [
            item(due_at=NOW - timedelta(hours=5.5)),
            item(due_at=NOW + timedelta(hours=3.5)),
            item(due_at=NOW + timedelta(hours=30.5)),
            item(due_at=None, step="regular_contact"),
        ],
        NOW,
    )
    late, soon, later, undated = rows_of(drawn)
    assert late.startswith(' class="overdue">')
    assert '<strong class="flag flag-overdue">Overdue</strong> <time datetime=' in late
    assert "overdue by 5 hours" in late
    assert soon.startswith(' class="due-soon">')
    assert '<strong class="flag flag-soon">Due soon</strong>' in soon
    assert "3 hours left" in soon
    assert later.startswith(' class="">')
    assert "flag" not in later
    assert '<span class="muted">30 hours left</span>' in later
    assert '<td data-label="Due"><span class="muted">No deadline</span></td>' in undated


def test_it_names_the_case_and_student_and_links_to_the_step_or_the_check_ins():
    step = STEPS["cws_report"]
    drawn = work_rows([item(), item(step=None, state="check_in")], NOW)
    to_step, to_check_ins = rows_of(drawn)
    assert '<td data-label="Case">CSEC-2026-0041<br><span class="muted">LIN</span></td>' in to_step
    assert '<td data-label="Student">Ana Pérez</td>' in to_step
    assert f'<a href="/cases/41/#step-cws_report">{step.code} · {step.title}</a>' in to_step
    assert '<a href="/cases/41/#check-ins">Check in with the student</a>' in to_check_ins


def test_it_labels_the_work_in_the_readers_language():
    with translation.override("es"):
        drawn = work_rows([item(due_at=NOW - timedelta(hours=2)), item(due_at=None)], NOW)
    assert 'data-label="Caso"' in drawn
    assert "Vencido" in drawn
    assert "Sin plazo" in drawn


def summary(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": 7,
        "reference": "CSEC-2026-0007",
        "school": "ROO",
        "student": {"sis_id": "S-7", "name": "Luis Gómez"},
        "pathway": "suspected_victim",
        "status": "open",
        "unresolved": ["police_involved", "cws_report", "campus_impact"],
        "overdue": ["cws_report"],
        "next_due_at": "2026-12-02T04:30:00+00:00",
        "needs_review": False,
    }
    return {**values, **changes}


def test_it_gives_each_case_its_steps_to_do_overdue_count_and_next_due_time():
    drawn = case_rows([summary(), summary(id=8, overdue=[], needs_review=True)])
    first, second = rows_of(drawn)
    assert '<td data-label="Case"><a href="/cases/7/">CSEC-2026-0007</a></td>' in first
    assert '<td data-label="Student">Luis Gómez</td>' in first
    assert '<td data-label="School">ROO</td>' in first
    assert '<td data-label="Pathway">Suspected victim</td>' in first
    assert '<td data-label="Status">Open</td>' in first
    expected = '3 <strong class="flag flag-overdue">1 overdue</strong>'
    assert f'<td data-label="Steps to do">{expected}</td>' in first
    # 04:30 UTC is 20:30 the evening before in San Diego.
    assert '<time datetime="2026-12-01T20:30:00-08:00">Tue 1 Dec 2026, 20:30</time>' in first
    assert '<td data-label="Steps to do">3</td>' in second
    assert 'Open <span class="flag flag-review">Review</span>' in second


def test_it_counts_overdue_steps_in_the_readers_language():
    with translation.override("es"):
        one = case_rows([summary()])
        two = case_rows([summary(overdue=["cws_report", "police_involved"])])
    assert "1 vencido<" in one
    assert "2 vencidos<" in two
    assert '<td data-label="Pasos por hacer">3 <strong' in one


def test_it_escapes_every_value_it_draws():
    hostile = '"><script>alert(1)</script>'
    work = work_rows([item(case=WorkCase(41, hostile, hostile, hostile))], NOW)
    assert "<script>" not in work
    assert work.count("&lt;script&gt;") == 3
    cases = case_rows([summary(reference=hostile, school=hostile, student={"name": hostile})])
    assert "<script>" not in cases
    assert cases.count("&lt;script&gt;") == 3


def test_it_draws_nothing_for_no_work_and_no_cases():
    assert work_rows([], NOW) == ""
    assert case_rows([]) == ""


class Author:
    username = "counselor<b>"


class Note:
    author = Author()
    created_at = "2026-12-01T18:30:00+00:00"
    text = "First line <script>x</script>\nSecond line"


def test_it_draws_a_cases_history_rows_with_who_and_when_and_escapes_them():
    events = history_rows(
        "timeline",
        [
            {"at": "2026-12-01T18:30:00+00:00", "actor": "ana", "role": "counselor", "text": "a<b"},
            {"at": "2026-12-01T19:00:00+00:00", "actor": None, "role": None, "text": "Due."},
        ],
    )
    assert events == (
        '<li><span class="muted"><time datetime="2026-12-01T10:30:00-08:00">Tue 1 Dec 2026, '
        "10:30</time> · ana (Counselor)</span><br>a&lt;b</li>\n"
        '<li><span class="muted"><time datetime="2026-12-01T11:00:00-08:00">Tue 1 Dec 2026, '
        "11:00</time> · SafeStep</span><br>Due.</li>\n"
    )
    check_ins = history_rows(
        "check-ins",
        [
            {"occurred_at": NOW, "method_label": "In person", "recorded_by": "ana", "notes": "<i>"},
            {"occurred_at": NOW, "method_label": "Phone", "recorded_by": None, "notes": None},
        ],
    )
    first, second = rows_of(check_ins.replace("<li>", "<tr"))
    assert first.endswith(" · In person · ana<br>&lt;i&gt;</li>\n")
    assert second.endswith(" · Phone</li>\n")
    notes = history_rows("notes", [Note()])
    assert "counselor&lt;b&gt;</p>" in notes
    assert (
        '<p class="note-text">First line &lt;script&gt;x&lt;/script&gt;<br>Second line</p>' in notes
    )
    assert "<script>" not in notes

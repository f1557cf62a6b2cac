"""The rows a page repeats on every visit, drawn in Python: My work's items, the case
lists' cases, and the case page's history (events, check-ins, notes).

My work lists up to 25 items of work and 25 cases, and the case list 50 cases. Drawn by
template loops, with a filter or tag per cell and the labels translated again on every
row, the two tables took about 5 ms of My work's page; a case's history, one included
template per row, a fifth of the long-history case page (docs/performance.md). Here each
label is translated once a table, each case's address is filled into one reversed
pattern, and the markup is the one the templates drew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from safestep.cases.selectors import WorkItem
from safestep.core.moment_text import MomentWriter
from safestep.web.forms import choice_label
from safestep.web.html_text import escape_text, escaped
from safestep.web.templatetags.safestep_web import role_label, time_left, when

register = template.Library()

# "Due soon": within this many hours, work is marked so it stands out from later work.
DUE_SOON_HOURS = 24

# Reversed once per table with a stand-in id, not once per row.
_STAND_IN_ID = 918_273_645


def _case_url_pattern() -> str:
    return reverse("web:case", args=[_STAND_IN_ID])


def _case_url(pattern: str, case_id: int) -> str:
    return pattern.replace(str(_STAND_IN_ID), str(case_id))


def _words(*texts: str) -> list[str]:
    """TEXTS, already translated, escaped for the page. (Each is written out as
    ``gettext("...")`` where it is used, and not inside an f-string, so that
    ``make messages`` finds it.)"""
    return [escape_text(text) for text in texts]


@register.simple_tag
def work_rows(items: Iterable[WorkItem], now: datetime) -> SafeString:
    """One table row per item of work: when it is due, the case, the student, what to do."""
    due, case, student, to_do = _words(
        gettext("Due"), gettext("Case"), gettext("Student"), gettext("What to do")
    )
    overdue, due_soon, no_deadline, check_in = _words(
        gettext("Overdue"),
        gettext("Due soon"),
        gettext("No deadline"),
        gettext("Check in with the student"),
    )
    overdue_flag = f'<strong class="flag flag-overdue">{overdue}</strong> '
    soon_flag = f'<strong class="flag flag-soon">{due_soon}</strong> '
    no_deadline = f'<span class="muted">{no_deadline}</span>'
    soon = now + timedelta(hours=DUE_SOON_HOURS)
    pattern = _case_url_pattern()
    writer = MomentWriter()
    rows = []
    for item in items:
        is_soon = not item.overdue and item.due_at is not None and item.due_at <= soon
        if item.due_at is None:
            due_cell = no_deadline
        else:
            flag = overdue_flag if item.overdue else soon_flag if is_soon else ""
            left = escape_text(time_left(item.due_at))
            due_cell = f'{flag}{when(item.due_at, writer)}<br><span class="muted">{left}</span>'
        kind = "overdue" if item.overdue else "due-soon" if is_soon else ""
        if item.step is not None:
            anchor = f"#step-{item.step.id}"
            what = f"{escape_text(item.step.code)} · {escape_text(item.step.title)}"
        else:
            anchor, what = "#check-ins", check_in
        url = escape_text(_case_url(pattern, item.case.pk) + anchor)
        rows.append(
            f'\n      <tr class="{kind}">\n'
            f'        <td data-label="{due}">{due_cell}</td>\n'
            f'        <td data-label="{case}">{escape_text(item.case.reference)}<br>'
            f'<span class="muted">{escape_text(item.case.school_code)}</span></td>\n'
            f'        <td data-label="{student}">{escape_text(item.case.student_name)}</td>\n'
            f'        <td data-label="{to_do}"><a href="{url}">{what}</a></td>\n'
            "      </tr>\n    "
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value is escaped above


@register.simple_tag
def case_rows(cases: Iterable[Mapping[str, Any]]) -> SafeString:
    """One table row per case of a list (``case_summary_output``): the case, the student,
    school, pathway, status, steps to do and the next due time."""
    case, student, school, pathway, status, steps, next_due, needs_review = _words(
        gettext("Case"),
        gettext("Student"),
        gettext("School"),
        gettext("Pathway"),
        gettext("Status"),
        gettext("Steps to do"),
        gettext("Next due"),
        gettext("Review"),
    )
    review = f' <span class="flag flag-review">{needs_review}</span>'
    pattern = _case_url_pattern()
    writer = MomentWriter()
    rows = []
    for item in cases:
        url = escape_text(_case_url(pattern, item["id"]))
        flag = review if item["needs_review"] else ""
        to_do = formats.localize(len(item["unresolved"]))
        overdue = len(item["overdue"])
        if overdue:
            late = ngettext("%(counter)s overdue", "%(counter)s overdue", overdue) % {
                "counter": formats.localize(overdue)
            }
            to_do += f' <strong class="flag flag-overdue">{escape_text(late)}</strong>'
        rows.append(
            "\n    <tr>\n"
            f'      <td data-label="{case}"><a href="{url}">'
            f"{escape_text(item['reference'])}</a></td>\n"
            f'      <td data-label="{student}">{escape_text(item["student"]["name"])}</td>\n'
            f'      <td data-label="{school}">{escape_text(item["school"])}</td>\n'
            f'      <td data-label="{pathway}">{escape_text(choice_label(item["pathway"]))}</td>\n'
            f'      <td data-label="{status}">'
            f"{escape_text(choice_label(item['status']))}{flag}</td>\n"
            f'      <td data-label="{steps}">{to_do}</td>\n'
            f'      <td data-label="{next_due}">{when(item["next_due_at"], writer)}</td>\n'
            "    </tr>\n  "
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value is escaped above


def _event_row(event: Mapping[str, Any], writer: MomentWriter) -> str:
    who = str(escaped(event.get("actor") or "SafeStep"))
    if event.get("role"):
        who += f" ({escaped(role_label(event['role']))})"
    text = escaped(event.get("text", ""))
    at = when(event.get("at"), writer)
    return f'<li><span class="muted">{at} · {who}</span><br>{text}</li>\n'


def _check_in_row(item: Mapping[str, Any], writer: MomentWriter) -> str:
    method = escaped(item.get("method_label", ""))
    row = f"<li>{when(item.get('occurred_at'), writer)} · {method}"
    if item.get("recorded_by"):
        row += f" · {escaped(item['recorded_by'])}"
    if item.get("notes"):
        row += f"<br>{escaped(item['notes'])}"
    return row + "</li>\n"


def _note_row(note: Any, writer: MomentWriter) -> str:
    return (
        f'<li><p class="muted">{when(note.created_at, writer)} · '
        f"{escaped(note.author.username)}</p>"
        f'<p class="note-text">{linebreaksbr(note.text, autoescape=True)}</p></li>\n'
    )


_HISTORY_ROWS = {"timeline": _event_row, "check-ins": _check_in_row, "notes": _note_row}


@register.simple_tag
def history_rows(section: str, rows: Iterable[Any]) -> SafeString:
    """A case's history rows of SECTION (``timeline``, ``check-ins`` or ``notes``), oldest
    first: the case page's latest, and each earlier page "Show earlier ..." fetches."""
    draw = _HISTORY_ROWS[section]
    writer = MomentWriter()
    return mark_safe("".join(draw(row, writer) for row in rows))  # noqa: S308 - every value is escaped

"""The dashboard's long tables, drawn in Python: the longest-overdue list and the open
cases by school.

The overdue list holds up to a hundred rows of five cells each. Drawn by a template loop,
with the labels translated again for every row and a URL reversed per case, it took 9.5 of
the district dashboard's 21 ms; the open cases of a 400-school district took 17 ms
(docs/performance.md). Here the labels are translated once and the markup is the one the
templates drew. Values are escaped by the standard library's ``html.escape``, which is what
Django's ``escape`` calls after checking each argument for a lazy translation (none here:
every label is translated with ``gettext`` first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from safestep.reports.selectors import OverdueStep

register = template.Library()

# Reversed once per list with a stand-in id, not once per row.
_STAND_IN_ID = 918_273_645


@register.simple_tag
def overdue_rows(items: Iterable[OverdueStep]) -> SafeString:
    """One table row per overdue step: case, school, step, due time, hours overdue."""
    case_url = reverse("web:case", args=[_STAND_IN_ID])
    case, school, step = escape(gettext("Case")), escape(gettext("School")), escape(gettext("Step"))
    due, overdue_by = escape(gettext("Due")), escape(gettext("Overdue by"))
    hours = gettext("%(hours)s h")
    rows = []
    for item in items:
        url = escape(case_url.replace(str(_STAND_IN_ID), str(item.case_id)))
        due_at = timezone.localtime(item.due_at).strftime("%Y-%m-%d %H:%M")
        late = escape(hours % {"hours": formats.localize(item.hours_overdue)})
        rows.append(
            f'<tr><td data-label="{case}"><a href="{url}">{escape(item.reference)}</a></td>'
            f'<td data-label="{school}">{escape(item.school)}</td>\n'
            f'        <td data-label="{step}">{escape(item.step_code)} {escape(item.step_title)}'
            f'</td><td data-label="{due}">{due_at}</td>'
            f'<td class="overdue" data-label="{overdue_by}">{late}</td></tr>\n'
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value is escaped above


@register.simple_tag
def open_rows(rows: Iterable[tuple[str, str, Sequence[int], int]]) -> SafeString:
    """One table row per school: its code and name, open cases per pathway, and in all."""
    # The counts are small numbers that repeat from school to school: each is written in
    # the reader's language once (formats.localize reads the language's number settings on
    # every call: 1,600 calls took 12 ms for 400 schools).
    written: dict[int, str] = {}

    def number(count: int) -> str:
        if count not in written:
            written[count] = formats.localize(count)
        return written[count]

    drawn = []
    for code, name, counts, total in rows:
        cells = "".join(f"<td>{number(count)}</td>" for count in counts)
        drawn.append(
            f'<tr><th scope="row">{escape(code)} <span class="muted">{escape(name)}</span></th>'
            f"{cells}<td>{number(total)}</td></tr>\n"
        )
    return mark_safe("".join(drawn))  # noqa: S308 - the names are escaped, the rest are numbers

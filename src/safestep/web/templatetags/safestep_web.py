"""Small template helpers: times in the district's zone, state and role names, optional links."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy, ngettext

from safestep.accounts.models import Role
from safestep.core.moment_text import MomentWriter
from safestep.core.page_urls import page_url as _page_url
from safestep.web.field_html import field_html
from safestep.web.forms import FormField
from safestep.web.forms import choice_label as _choice_label
from safestep.web.navigation import NavLink, nav_links

register = template.Library()


STATE_LABELS: dict[str, Any] = {
    "pending": gettext_lazy("To do"),
    "in_progress": gettext_lazy("In progress"),
    "waiting": gettext_lazy("Waiting for another step"),
    "done": gettext_lazy("Done"),
    "not_applicable": gettext_lazy("Does not apply"),
    "not_required": gettext_lazy("Not required"),
    "check_in": gettext_lazy("Check-in due"),
}


def as_moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@register.simple_tag
def page_url(name: str, *args: object) -> str:
    """``{% url %}`` for SafeStep's own pages, reversed once per name (core.page_urls).
    Writes to a variable with ``as``, as ``{% url %}`` does."""
    return _page_url(name, *args)


@register.simple_tag
def form_field(field: FormField) -> SafeString:
    """One form control with its label, help and error (safestep.web.field_html)."""
    return field_html(field)


@register.simple_tag
def case_options(cases: Iterable[Any]) -> SafeString:
    """<option>s offering CASES by reference and student name (the link form's list): up
    to two hundred, drawn here rather than by a template loop, at a tenth of the cost."""
    return mark_safe(  # noqa: S308 - every value is escaped here
        "".join(
            f'<option value="{escape(other.reference)}">'
            f"{escape(other.student.first_name)} {escape(other.student.last_name)}</option>"
            for other in cases
        )
    )


@register.simple_tag
def when(value: object, writer: MomentWriter | None = None) -> SafeString | str:
    """A time, in the district's zone, inside a machine-readable <time> element. A table
    writing many passes one WRITER for them all."""
    moment = as_moment(value)
    if moment is None:
        return ""
    writer = writer or MomentWriter()
    local = writer.local(moment)
    return mark_safe(  # noqa: S308 - both parts are escaped here
        f'<time datetime="{escape(local.isoformat())}">{escape(writer.text(local))}</time>'
    )


@register.filter
def hours_until(value: object) -> int | None:
    """Whole hours from now until VALUE; negative once it has passed."""
    moment = as_moment(value)
    if moment is None:
        return None
    seconds = (moment - timezone.now()).total_seconds()
    return int(seconds // 3600) if seconds >= 0 else -int(-seconds // 3600)


@register.filter
def time_left(value: object) -> str:
    """ "31 hours left", "overdue by 5 hours", in words people read at a glance."""
    hours = hours_until(value)
    if hours is None:
        return ""
    if hours >= 48:
        days = hours // 24
        return ngettext("%(count)d day left", "%(count)d days left", days) % {"count": days}
    if hours >= 0:
        return ngettext("%(count)d hour left", "%(count)d hours left", hours) % {"count": hours}
    late = -hours
    if late >= 48:
        days = late // 24
        return ngettext("overdue by %(count)d day", "overdue by %(count)d days", days) % {
            "count": days
        }
    return ngettext("overdue by %(count)d hour", "overdue by %(count)d hours", late) % {
        "count": late
    }


@register.filter
def state_label(state: object) -> str:
    return str(STATE_LABELS.get(str(state), str(state)))


@register.filter
def role_label(role: object) -> str:
    try:
        return str(Role(str(role)).label)
    except ValueError:
        return str(role)


@register.filter
def roles_label(roles: object) -> str:
    if not isinstance(roles, list | tuple):
        return ""
    return ", ".join(role_label(role) for role in roles)


@register.filter
def choice_label(value: object) -> str:
    return _choice_label(value)


@register.filter
def get(mapping: object, key: object) -> object:
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.simple_tag
def optional_url(*names: str) -> str:
    """The first of NAMES that resolves, or "" when none does (a page not installed)."""
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return ""


@register.simple_tag(takes_context=True)
def navigation(context: template.Context) -> list[NavLink]:
    request = context.get("request")
    return nav_links(request) if request is not None else []

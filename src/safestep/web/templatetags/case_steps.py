"""The case page's steps, drawn in Python: ``{% step_items %}`` in ``web/case/_steps.html``.

Each step is a heading, its state and clock, what was recorded, and up to four forms (the
call, done, does not apply, reopen). Through the template engine the section took a
third of the page's drawing (6 ms at 100,000 cases, docs/performance.md): a variable
lookup, an ``{% if %}`` or a translation costs microseconds each, and a step has about a
hundred. Here each is a Python expression; the markup is the one the template drew
(compared page by page for six roles in English and Spanish), the texts are the same
messages (the translations apply unchanged), and every value is escaped as the template
escaped it: ``{% translate %}`` and variables escaped, ``{% blocktranslate %}`` with its
values escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from safestep.core.moment_text import MomentWriter
from safestep.core.page_urls import page_url
from safestep.web.field_html import field_html
from safestep.web.forms import FormField
from safestep.web.html_text import escape_text, escaped
from safestep.web.templatetags.protocol_text import in_language
from safestep.web.templatetags.safestep_web import roles_label, state_label, time_left, when

register = template.Library()


# Each text is written out as ``gettext("...")`` where it is used, so that ``make messages``
# finds it; these two escape as the template tags did.


def _t(translated: str) -> str:
    """``{% translate %}``: the translated text, escaped (as ``escape`` did here)."""
    return escape_text(translated)


def _bt(translated: str, **values: object) -> str:
    """``{% blocktranslate with ... %}``: the translated text, its values filled in escaped."""
    return translated % {name: _e(value) for name, value in values.items()}


_e = escaped


def _fields(fields: Iterable[FormField]) -> str:
    return "".join(field_html(item) for item in fields)


def _errors(items: list[Any]) -> str:
    """The form's error summary: the shared template (rare: only after a refused form)."""
    if not items:
        return "\n"
    return render_to_string("web/includes/error_summary.html", {"items": items})


class _Page:
    """What every step's markup shares: the case, the token and the moments."""

    def __init__(self, context: template.Context) -> None:
        case = context["case"]
        self.case_id = case["id"]
        self.version = _e(case["version"])
        # Django's own {% csrf_token %}, drawn once for the page's forms.
        self.csrf = str(CsrfTokenNode().render(context))
        self.done_anchor = context.get("done_anchor")
        self.scar_url = context.get("scar_url")
        self.moments = MomentWriter()

    def when(self, value: object) -> str:
        return str(when(value, self.moments))

    def form_open(self, url_name: str, form_class: str, step_id: str | None = None) -> str:
        """A form's opening tag, its token and the case version it was drawn from: posted
        to URL_NAME of the case (and of the step STEP_ID)."""
        address = page_url(url_name, self.case_id, *([step_id] if step_id else []))
        url = _e(address)
        return (
            f'<form method="post" action="{url}" hx-post="{url}" class="{form_class}" '
            f"novalidate>{self.csrf}\n"
            f'          <input type="hidden" name="version" value="{self.version}">\n'
        )


def _reason_field(
    prefix: str, step_id: str, label: str, errors: list[str], posted: Any, rows: int
) -> str:
    """A required reason: its label, its error and the text sent (reopen, does not apply)."""
    control = f"{prefix}-{step_id}-reason"
    error = ""
    invalid = ""
    if errors:
        error = f'<p class="error" id="{control}-error">{_e(" ".join(errors))}</p>'
        invalid = f' aria-invalid="true" aria-describedby="{control}-error"'
    sent = _e((posted.get("reason") if posted is not None else "") or "")
    required = _t(gettext("required"))
    return (
        f'<div class="field{" has-error" if errors else ""}">\n'
        f'  <label for="{control}">{label} <span class="req">({required})</span></label>\n'
        f"  {error}\n"
        f'  <textarea id="{control}" name="reason" rows="{rows}" aria-required="true"'
        f"{invalid}>{sent}</textarea>\n"
        "</div>\n"
    )


def _head(page: _Page, view: Any, step: Mapping[str, Any]) -> list[str]:
    state = step["state"]
    overdue = " overdue" if step["overdue"] else ""
    focus = ' tabindex="-1" data-focus' if page.done_anchor == view.anchor else ""
    parts = [
        f'<li id="{_e(view.anchor)}" class="step state-{_e(state)}{overdue}"{focus}>\n'
        '  <div class="step-head">\n'
        f'    <h3><span class="code">{_e(step["code"])}</span> '
        f"{_e(in_language(view.step, 'title'))}</h3>\n"
        '    <p class="step-meta">\n'
        f'      <span class="state">{_e(state_label(state))}</span>\n'
    ]
    if step["overdue"]:
        overdue_flag = _t(gettext("Overdue"))
        parts.append(f'      <strong class="flag flag-overdue">{overdue_flag}</strong>\n')
    if step["late"]:
        late_flag = _t(gettext("Late"))
        parts.append(f'      <strong class="flag flag-late">{late_flag}</strong>\n')
    if step["due_at"] and state not in ("done", "not_applicable"):
        left = _e(time_left(step["due_at"]))
        due = _t(gettext("Due"))
        parts.append(f"      <span>{due} {page.when(step['due_at'])} ({left})</span>\n")
    parts.append("    </p>\n  </div>\n")
    return parts


def _what_it_says(page: _Page, view: Any, step: Mapping[str, Any]) -> list[str]:
    """The fold of a finished step, the progress so far, who acts, the condition, the
    guidance and the report's form to download."""
    state, code = step["state"], step["code"]
    parts = []
    if view.finished:
        opened = " open" if view.open_reopen or page.done_anchor == view.anchor else ""
        recorded = _bt(gettext("What was recorded for %(code)s"), code=code)
        parts.append(f'  <details class="step-fold"{opened}><summary>{recorded}</summary>\n')
    progress_title = _e(in_language(view.step.progress, "title"))
    if state == "in_progress":
        due = ""
        if step["due_at"]:
            rest = (
                _t(gettext("written report due"))
                if view.is_report
                else _t(gettext("the rest is due"))
            )
            due = f", {rest} {page.when(step['due_at'])}"
        parts.append(
            f'  <p class="progress-line">{progress_title} {page.when(step["resolved_at"])}'
            f"{due}</p>\n"
        )
    roles = _e(roles_label(step["actor_roles"]))
    who = _t(gettext("Who acts:"))
    parts.append(f'  <p class="who"><span class="muted">{who}</span> {roles}</p>\n')
    if view.condition_text:
        answer = ""
        if state == "pending" and view.condition_open:
            answer_text = _t(gettext("Answer the question"))
            answer = f' <a href="#facts" class="no-print">{answer_text}</a>'
        parts.append(f'  <p class="condition">{_e(view.condition_text)}{answer}</p>\n')
    if view.waiting_on:
        steps = mark_safe(", ".join(escape_text(item) for item in view.waiting_on))  # noqa: S308
        waits = _bt(gettext("Waits until %(steps)s is resolved."), steps=steps)
        parts.append(f'  <p class="condition">{waits}</p>\n')
    guidance = f'<p class="guidance">{_e(in_language(view.step, "guidance"))}</p>'
    if state in ("pending", "waiting", "in_progress"):
        parts.append(f"  {guidance}\n")
    else:
        more = _t(gettext("Guidance"))
        parts.append(
            f'  <details class="guidance-more"><summary>{more}</summary>{guidance}</details>\n'
        )
    if view.is_report and page.scar_url:
        download = _t(gettext("Download the SS 8572 (pre-filled)"))
        parts.append(
            f'  <p class="no-print"><a class="button" href="{_e(page.scar_url)}">'
            f"{download}</a></p>\n"
        )
    return parts


def _record(page: _Page, view: Any, step: Mapping[str, Any]) -> list[str]:
    """What was recorded: when, by whom, late or not, why, and the details shown."""
    state = step["state"]
    if state == "not_applicable":
        what = _t(gettext("Recorded as not applying"))
    elif state == "in_progress":
        what = _e(in_language(view.step.progress, "title"))
    else:
        what = _t(gettext("Done"))
    late = ""
    if step["late"]:
        late_flag, after = _t(gettext("Late")), _t(gettext("after its due time"))
        late = f' · <strong class="flag flag-late">{late_flag}</strong> {after}'
    recorded_by = _t(gettext("recorded by"))
    parts = [
        '  <div class="record">\n'
        f"    <p>{what}: {page.when(step['resolved_at'])} · {recorded_by} "
        f"{_e(step['resolved_by'])}{late}</p>\n"
    ]
    if step["reason"]:
        why = _t(gettext("Why it was late:")) if step["late"] else _t(gettext("Reason:"))
        parts.append(f'    <p><span class="muted">{why}</span> {_e(step["reason"])}</p>\n')
    if view.recorded:
        rows = "".join(
            f"<div><dt>{_e(label)}</dt><dd>{_e(value or '—')}</dd></div>"
            for label, value in view.recorded
        )
        parts.append(f'    <dl class="details">{rows}</dl>\n')
    if step["details_withheld"]:
        withheld = (
            _t(gettext("The details of this step are visible to School Police only."))
            if view.step.police_only
            else _t(gettext("The details of this step are not shown to your role."))
        )
        parts.append(f'    <p class="muted">{withheld}</p>\n')
    parts.append("  </div>\n")
    return parts


def _plan_form(page: _Page, view: Any, step: Mapping[str, Any]) -> str:
    help_text = _t(
        gettext(
            "The step is done once the plan exists; check-ins then go on while the case is open."
        )
    )
    button = _bt(gettext("Set up the check-ins (%(code)s)"), code=step["code"])
    return (
        page.form_open("web:check-in-plan", "step-form") + f"  {_errors(view.done_errors)}"
        f'  <p class="help">{help_text}</p>\n'
        f"  {_fields(view.done_fields)}\n"
        f'  <button type="submit">{button}</button>\n'
        "</form>\n"
    )


def _progress_form(page: _Page, view: Any, step: Mapping[str, Any]) -> str:
    code = step["code"]
    title = in_language(view.step.progress, "title")
    if view.is_report:
        heading = _t(gettext("Phoned it in? Record the call"))
        help_text = _bt(
            gettext(
                "Record the phone report now. %(code)s stays open, and due, until the written "
                "report is recorded."
            ),
            code=code,
        )
        button = _t(gettext("Record the call"))
    else:
        heading = button = _bt(gettext("Record “%(title)s”"), title=title)
        help_text = _bt(gettext("%(code)s stays open until it is done."), code=code)
    return (
        page.form_open("web:step-progress", "step-form progress-form", step["id"])
        + f"  <h4>{heading}</h4>\n"
        f'  <p class="help">{help_text}</p>\n'
        f"  {_errors(view.progress_errors)}"
        f"  {_fields(view.progress_fields)}\n"
        f'  <button type="submit" class="secondary">{button}</button>\n'
        "</form>\n"
    )


def _done_form(page: _Page, view: Any, step: Mapping[str, Any]) -> str:
    code, step_id = step["code"], _e(step["id"])
    parts = [page.form_open("web:step-complete", "step-form done-form", step["id"])]
    if view.can_progress:
        or_done = _bt(gettext("Or record %(code)s as done"), code=code)
        parts.append(f"  <h4>{or_done}</h4>\n")
    elif view.in_progress:
        title = in_language(view.step.progress, "title")
        already = _bt(
            gettext("“%(title)s” is already recorded: only what is still missing is asked here."),
            title=title,
        )
        parts.append(f'  <p class="help">{already}</p>\n')
    parts.append(f"  {_errors(view.done_errors)}")
    if view.asks_occurred:
        errors = view.done_form.errors.get("occurred_at")
        control = f"done-{step_id}-occurred_at"
        error = invalid = ""
        if errors:
            error = f'<p class="error" id="{control}-error">{_e(" ".join(errors))}</p>'
            invalid = f' aria-invalid="true" aria-describedby="{control}-error"'
        happened, required = _t(gettext("When it happened")), _t(gettext("required"))
        parts.append(
            f'  <div class="field{" has-error" if errors else ""}">\n'
            f'    <label for="{control}">{happened} <span class="req">({required})</span></label>\n'
            f"    {error}\n"
            f'    <input id="{control}" name="occurred_at" type="datetime-local" '
            f'value="{_e(view.occurred_value)}" aria-required="true"{invalid}>\n'
            "  </div>\n"
        )
    parts.append(f"  {_fields(view.done_fields)}\n")
    if view.asks_late_reason:
        errors = view.done_form.errors.get("reason")
        control = f"done-{step_id}-reason"
        error = invalid = described = ""
        if errors:
            error = f'<p class="error" id="{control}-error">{_e(" ".join(errors))}</p>'
            described = f" {control}-error"
            invalid = ' aria-invalid="true"'
        due = ""
        if step["due_at"]:
            was_due = _bt(gettext("The report was due"))
            due = f"{was_due} {page.when(step['due_at'])}. "
        posted = view.done_form.posted
        sent = _e((posted.get("reason") if posted is not None else "") or "")
        say_why = _t(gettext("If it was sent after that, say why: the record keeps it."))
        why_late = _t(gettext("Why was it late?"))
        parts.append(
            f'  <div class="field{" has-error" if errors else ""}">\n'
            f'    <label for="{control}">{why_late}</label>\n'
            f'    <p class="help" id="{control}-help">{due}{say_why}</p>\n'
            f"    {error}\n"
            f'    <textarea id="{control}" name="reason" rows="2" '
            f'aria-describedby="{control}-help{described}"{invalid}>{sent}</textarea>\n'
            "  </div>\n"
        )
    record_done = _bt(gettext("Record %(code)s as done"), code=code)
    parts.append(f'  <button type="submit">{record_done}</button>\n')
    parts.append("</form>\n")
    return "".join(parts)


def _not_applicable(page: _Page, view: Any, step: Mapping[str, Any]) -> str:
    code = step["code"]
    if not view.may_mark_not_applicable:
        if view.is_report:
            always = _bt(
                gettext(
                    "On this pathway %(code)s is always required: it cannot be marked as "
                    "not applying."
                ),
                code=code,
            )
            return f'<p class="help">{always}</p>\n'
        return ""
    opened = " open" if view.open_not_applicable else ""
    review = ""
    if view.step.review_when_not_applicable or view.is_report:
        review = (
            '  <p class="help">'
            + _t(
                gettext(
                    "Deciding that this step does not apply opens a review by the district "
                    "coordinator, and the staff who reported the concern are told that their own "
                    "duty to report stands."
                )
            )
            + "</p>\n"
        )
    reason = _reason_field(
        "na",
        _e(step["id"]),
        _t(gettext("Why it does not apply")),
        view.na_form.errors.get("reason"),
        view.na_form.posted,
        rows=3,
    )
    record = _bt(gettext("Record that %(code)s does not apply"), code=code)
    question = _bt(gettext("%(code)s does not apply?"), code=code)
    return (
        f'<details class="not-applicable"{opened}>\n'
        f"  <summary>{question}</summary>\n"
        + page.form_open("web:step-not-applicable", "step-form", step["id"])
        + f"  {_errors(view.na_errors)}"
        + review
        + reason
        + f"  {_fields(view.na_fields)}\n"
        f'  <button type="submit" class="secondary">{record}</button>\n'
        "</form>\n</details>\n"
    )


def _acts(page: _Page, view: Any, step: Mapping[str, Any]) -> str:
    """The forms of a step the reader may act on, folded under "Record ..."."""
    code = step["code"]
    if view.is_plan:
        summary = _bt(gettext("Set up the check-ins (%(code)s)"), code=code)
        body = _plan_form(page, view, step)
    else:
        if view.in_progress:
            summary = _bt(gettext("Finish %(code)s"), code=code)
        else:
            summary = _bt(gettext("Record %(code)s"), code=code)
        body = (
            (_progress_form(page, view, step) if view.can_progress else "")
            + _done_form(page, view, step)
            + _not_applicable(page, view, step)
        )
    opened = " open" if view.open_form else ""
    return (
        f'  <details class="act no-print"{opened}>\n'
        f"  <summary>{summary}</summary>\n"
        f"{body}"
        "  </details>\n"
    )


def _reopen(page: _Page, view: Any, step: Mapping[str, Any]) -> str:
    code = step["code"]
    if view.is_report and step["state"] == "done":
        kept = _t(
            gettext(
                "The earlier record is kept, marked as reopened. Reopening a completed report "
                "opens a review by the district coordinator."
            )
        )
    else:
        kept = _t(gettext("The earlier record is kept, marked as reopened."))
    reason = _reason_field(
        "reopen",
        _e(step["id"]),
        _t(gettext("Why reopen it")),
        view.reopen_form.errors.get("reason"),
        view.reopen_form.posted,
        rows=2,
    )
    opened = " open" if view.open_reopen else ""
    reopen = _bt(gettext("Reopen %(code)s"), code=code)
    return (
        f'  <details class="reopen no-print"{opened}>\n'
        f"  <summary>{reopen}</summary>\n"
        + page.form_open("web:step-reopen", "step-form", step["id"])
        + f"  {_errors(view.reopen_errors)}"
        + reason
        + f'  <p class="help">{kept}</p>\n'
        f'  <button type="submit" class="secondary">{reopen}</button>\n'
        "</form>\n  </details>\n"
    )


@register.simple_tag(takes_context=True)
def step_items(context: template.Context) -> SafeString:
    """One ``<li>`` per step of the page's pathway (``steps``, from ``steps_section``)."""
    page = _Page(context)
    items = []
    for view in context["steps"]:
        step = view.data
        parts = _head(page, view, step) + _what_it_says(page, view, step)
        if step["resolved_at"]:
            parts += _record(page, view, step)
        if view.can_act:
            parts.append(_acts(page, view, step))
        if view.can_reopen:
            parts.append(_reopen(page, view, step))
        if view.finished:
            parts.append("  </details>\n")
        parts.append("</li>\n")
        items.append("".join(parts))
    return mark_safe("".join(items))  # noqa: S308 - every value is escaped above

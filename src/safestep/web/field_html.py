"""One form control drawn from a FormField: label, help and error tied to it for screen
readers.

Drawn in Python rather than by an included template: a case page draws forty of them, and
Django's template engine took about a quarter of the page's time to do it (measured in
docs/performance.md). The markup is the one the forms have always had.
"""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from safestep.web.forms import FormField
from safestep.web.html_text import escaped

_e = escaped


def _describe(field: FormField) -> str:
    """aria-describedby and aria-invalid, as the control needs them."""
    parts = []
    if field.described_by:
        parts.append(f' aria-describedby="{_e(field.described_by)}"')
    if field.errors:
        parts.append(' aria-invalid="true"')
    return "".join(parts)


def _help_and_errors(field: FormField) -> str:
    parts = []
    if field.help:
        parts.append(f'<p class="help" id="{_e(field.help_id)}">{_e(field.help)}</p>')
    if field.errors:
        joined = " ".join(_e(error) for error in field.errors)
        parts.append(f'<p class="error" id="{_e(field.error_id)}">{joined}</p>')
    return "".join(parts)


def _required_mark(field: FormField) -> str:
    if not field.required:
        return ""
    required = gettext("required")
    return f' <span class="req">({_e(required)})</span>'


def _checkbox(field: FormField, classes: str) -> str:
    checked = " checked" if any(option.checked for option in field.options) else ""
    return (
        f'<div class="{classes}">{_help_and_errors(field)}'
        f'<label class="check" for="{_e(field.id)}"><input type="checkbox" id="{_e(field.id)}"'
        f' name="{_e(field.name)}" value="yes"{checked}{_describe(field)}> {_e(field.label)}'
        "</label></div>"
    )


def _group(field: FormField, classes: str) -> str:
    described = f' aria-describedby="{_e(field.described_by)}"' if field.described_by else ""
    kind = "radio" if field.widget == "radios" else "checkbox"
    invalid = ' aria-invalid="true"' if field.errors else ""
    choices = []
    for number, option in enumerate(field.options):
        first = f' id="{_e(field.id)}"' if number == 0 else ""
        checked = " checked" if option.checked else ""
        choices.append(
            f'<label class="check"><input type="{kind}" name="{_e(field.name)}"'
            f' value="{_e(option.value)}"{first}{checked}{invalid}> {_e(option.label)}</label>'
        )
    other = ""
    if field.widget == "list":
        others = gettext("Others (one a line)")
        other = (
            f'<label for="{_e(field.id)}-other">{_e(others)}</label>'
            f'<textarea id="{_e(field.id)}-other" name="{_e(field.name)}-other" rows="2">'
            f"{_e(field.other)}</textarea>"
        )
    return (
        f'<fieldset class="{classes}" id="{_e(field.id)}-group"{described}>'
        f"<legend>{_e(field.label)}{_required_mark(field)}</legend>{_help_and_errors(field)}"
        f'<div class="choices">{"".join(choices)}</div>{other}</fieldset>'
    )


def _control(field: FormField) -> str:
    required = ' aria-required="true"' if field.required else ""
    common = f'id="{_e(field.id)}" name="{_e(field.name)}"'
    if field.widget == "textarea":
        return (
            f'<textarea {common} rows="3"{required}{_describe(field)}>{_e(field.value)}</textarea>'
        )
    if field.widget == "select":
        choose = gettext("Choose…")
        options = [f'<option value="">{_e(choose)}</option>']
        options.extend(
            f'<option value="{_e(option.value)}"{" selected" if option.checked else ""}>'
            f"{_e(option.label)}</option>"
            for option in field.options
        )
        return f"<select {common}{required}{_describe(field)}>{''.join(options)}</select>"
    bounds = ""
    if field.minimum is not None:
        bounds += f' min="{_e(field.minimum)}"'
    if field.maximum is not None:
        bounds += f' max="{_e(field.maximum)}"'
    return (
        f'<input {common} type="{_e(field.input_type)}" value="{_e(field.value)}"'
        f' autocomplete="{_e(field.autocomplete)}"{bounds}{required}{_describe(field)}>'
    )


def field_html(field: FormField) -> SafeString:
    """FIELD's label, help, error and control, every text escaped."""
    classes = "field has-error" if field.errors else "field"
    if field.widget == "checkbox":
        return mark_safe(_checkbox(field, classes))  # noqa: S308 - every value is escaped above
    if field.is_group:
        return mark_safe(_group(field, classes))  # noqa: S308 - every value is escaped above
    return mark_safe(  # noqa: S308 - every value is escaped above
        f'<div class="{classes}"><label for="{_e(field.id)}">{_e(field.label)}'
        f"{_required_mark(field)}</label>{_help_and_errors(field)}{_control(field)}</div>"
    )

"""HTML forms built from the protocol's declared step fields, and read back from a POST.

The protocol says what a step records (``FieldSpec``: a name, a label, a type, choices,
whether it is required). Here that becomes form controls, and a submitted form becomes the
``details`` mapping that the services check with the protocol's own rules. Nothing here
decides whether input is acceptable: this module only translates between HTML and the
shapes the services take, so the pages and the API obey exactly the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from safestep.core.moment_text import moment_text
from safestep.core.moments import local_moment
from safestep.protocol import (
    FieldSpec,
    Step,
    choice_label_in_language,
    in_language,
    is_field_required,
)

# Words for values of SafeStep's own that pages show with ``choice_label`` (a case's
# status). A protocol's choices are worded by the definition (each choice's ``label``);
# any other value is shown with its underscores turned into spaces.
CHOICE_LABELS: dict[str, Any] = {
    "open": gettext_lazy("Open"),
    "closed": gettext_lazy("Closed"),
    "voided": gettext_lazy("Voided"),
}

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
# How a moment reads on a page: "Mon 2 Mar 2026, 09:30", in the district's time zone.


def choice_label(value: object, spec: FieldSpec | None = None) -> str:
    """VALUE in words: as SPEC (the protocol field it is a choice of) labels it, if it does."""
    text = str(value)
    # In the page's language; the SS 8572 words choices itself, in English.
    declared = choice_label_in_language(spec, text, get_language()) if spec is not None else None
    if declared:
        return declared
    label = CHOICE_LABELS.get(text)
    if label is not None:
        return str(label)
    return text.replace("_", " ").capitalize()


def format_detail(spec: FieldSpec | None, value: object) -> str:
    """A recorded detail as a person reads it: yes/no, choice names, local times."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        return ", ".join(format_detail(spec, item) for item in value)
    kind = spec.type if spec is not None else ""
    if kind in ("choice", "multi_choice"):
        return choice_label(value, spec)
    if kind == "datetime" and isinstance(value, str):
        try:
            # localtime() refuses a time without a zone (ValueError): shown as entered.
            return moment_text(timezone.localtime(datetime.fromisoformat(value)))
        except (ValueError, OverflowError):
            # Stored before times were bounded: show it as it was entered, never fail.
            return value
    return "" if value is None else str(value)


# --- times ------------------------------------------------------------------------------


def local_input_value(moment: datetime | None) -> str:
    """A time as an ``<input type="datetime-local">`` shows it, in the district's zone."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime(LOCAL_INPUT_FORMAT)


def now_input_value() -> str:
    return local_input_value(timezone.now())


def parse_local_datetime(raw: str) -> datetime:
    """A ``datetime-local`` value (no offset) read in the district's time zone.

    A value that already carries an offset keeps it. Raises ValueError, with a sentence to
    show, when unreadable or when the district's clocks skip or repeat that time
    (``safestep.core.moments.local_moment``); the services check the bounds.
    """
    return local_moment(raw, timezone.get_current_timezone())


def iso_to_local_input(value: object) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        return local_input_value(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        return ""


# Whole numbers a form sends (a version, a number of days, an id): ASCII digits only, and
# few enough to fit a 64-bit column. str.isdigit() also accepts "²", which int() refuses.
MAX_WHOLE_NUMBER_DIGITS = 18


def whole_number(raw: object) -> int | None:
    """RAW as a non-negative whole number, or None when it is not one."""
    text = str(raw or "").strip()
    if text.isascii() and text.isdecimal() and len(text) <= MAX_WHOLE_NUMBER_DIGITS:
        return int(text)
    return None


# --- controls ---------------------------------------------------------------------------


@dataclass
class Option:
    value: str
    label: str
    checked: bool = False


@dataclass
class FormField:
    """One control as the field template draws it."""

    id: str
    name: str
    label: str
    widget: str  # textarea | input | radios | checkboxes | select | list
    input_type: str = "text"
    required: bool = False
    help: str = ""
    value: str = ""
    options: list[Option] = field(default_factory=list)
    other: str = ""  # a list field's own entries, one a line
    errors: list[str] = field(default_factory=list)
    minimum: int | None = None
    maximum: int | None = None
    autocomplete: str = "off"

    @property
    def help_id(self) -> str:
        return f"{self.id}-help"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def described_by(self) -> str:
        ids = [self.help_id] if self.help else []
        if self.errors:
            ids.append(self.error_id)
        return " ".join(ids)

    @property
    def is_group(self) -> bool:
        return self.widget in ("radios", "checkboxes", "list")


def _posted(posted: QueryDict | None, name: str) -> str | None:
    if posted is None or name not in posted:
        return None
    return str(posted.get(name, ""))


def _posted_list(posted: QueryDict | None, name: str) -> list[str] | None:
    if posted is None:
        return None
    return [str(item) for item in posted.getlist(name)]


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def field_from_spec(
    spec: FieldSpec,
    *,
    prefix: str,
    required: bool,
    posted: QueryDict | None = None,
    initial: Mapping[str, object] | None = None,
    errors: Sequence[str] = (),
    choices_override: Sequence[tuple[str, str]] | None = None,
) -> FormField:
    """One protocol field as a form control, showing what was posted, else INITIAL."""
    start = (initial or {}).get(spec.name)
    control = FormField(
        id=f"{prefix}-{spec.name}",
        name=spec.name,
        label=in_language(spec, "label", get_language()),
        widget="input",
        required=required,
        help=in_language(spec, "help", get_language()),
        errors=list(errors),
    )
    posted_value = _posted(posted, spec.name)
    value = posted_value if posted_value is not None else _as_text(start)
    kind = spec.type
    if kind == "text":
        control.widget, control.value = "textarea", value
    elif kind in ("string", "user", "school", "person") and choices_override is None:
        control.value = value
    elif kind == "yes_no":
        control.widget = "radios"
        if posted is not None and posted_value is None:
            value = ""
        control.options = [
            Option("yes", _("Yes"), value == "yes"),
            Option("no", _("No"), value == "no"),
        ]
    elif kind in ("choice", "user", "school", "person"):
        pairs = choices_override or [
            (choice, choice_label(choice, spec)) for choice in spec.choices
        ]
        control.widget = "radios" if len(pairs) <= 5 and kind == "choice" else "select"
        control.options = [Option(v, label, v == value) for v, label in pairs]
    elif kind in ("multi_choice", "list"):
        chosen = _posted_list(posted, spec.name)
        if chosen is None:
            chosen = [str(item) for item in start] if isinstance(start, list | tuple) else []
        control.widget = "checkboxes" if kind == "multi_choice" else "list"
        control.options = [
            Option(choice, choice_label(choice, spec) if kind == "multi_choice" else choice)
            for choice in spec.choices
        ]
        for option in control.options:
            option.checked = option.value in chosen
        if kind == "list":
            extra_posted = _posted(posted, f"{spec.name}-other")
            known = set(spec.choices)
            control.other = (
                extra_posted
                if extra_posted is not None
                else "\n".join(item for item in chosen if item not in known)
            )
    elif kind == "datetime":
        control.input_type = "datetime-local"
        control.value = value if posted_value is not None else iso_to_local_input(start)
    elif kind == "date":
        control.input_type = "date"
        control.value = value
    elif kind == "integer":
        control.input_type = "number"
        control.value = value
        control.minimum = 1 if spec.minimum is None else spec.minimum
        control.maximum = spec.maximum
    else:
        control.value = value
    return control


def step_fields(
    step: Step,
    *,
    prefix: str,
    resolution: str,
    posted: QueryDict | None = None,
    initial: Mapping[str, object] | None = None,
    errors: Mapping[str, Sequence[str]] | None = None,
    only_required: bool = False,
    choices_by_type: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> list[FormField]:
    """The controls for resolving STEP: as done, or as "does not apply".

    CHOICES_BY_TYPE offers, for fields naming something SafeStep holds (a ``person`` on
    the case, a ``school``), the things to choose from.
    """
    problems = errors or {}
    offered = choices_by_type or {}
    controls = []
    for spec in step.fields:
        required = is_field_required(spec, resolution)  # type: ignore[arg-type]
        if only_required and not required:
            continue
        controls.append(
            field_from_spec(
                spec,
                prefix=prefix,
                required=required,
                posted=posted,
                initial=initial,
                errors=problems.get(f"details.{spec.name}", ()),
                choices_override=offered.get(spec.type),
            )
        )
    return controls


def details_from_post(
    step: Step, posted: QueryDict, *, only: Iterable[str] | None = None
) -> tuple[dict[str, object], dict[str, list[str]]]:
    """The ``details`` a submitted step form carries, plus problems reading the HTML input.

    Blank fields are left out, so the protocol's own check reports a missing required
    field. Only values the browser could not express (an unreadable time) are problems here.
    """
    wanted = set(only) if only is not None else None
    details: dict[str, object] = {}
    problems: dict[str, list[str]] = {}
    for spec in step.fields:
        if wanted is not None and spec.name not in wanted:
            continue
        if spec.type in ("multi_choice", "list"):
            entries = [item for item in posted.getlist(spec.name) if item.strip()]
            if spec.type == "list":
                extra = posted.get(f"{spec.name}-other", "")
                entries += [line.strip() for line in extra.splitlines() if line.strip()]
            if entries:
                details[spec.name] = entries
            continue
        raw = str(posted.get(spec.name, "")).strip()
        if not raw:
            continue
        if spec.type == "datetime":
            try:
                details[spec.name] = parse_local_datetime(raw).isoformat()
            except ValueError as unreadable:
                problems[f"details.{spec.name}"] = [str(unreadable)]
        elif spec.type == "date":
            try:
                if len(raw) > 10 or not raw.isascii():
                    raise ValueError(raw)
                details[spec.name] = date.fromisoformat(raw).isoformat()
            except ValueError:
                problems[f"details.{spec.name}"] = [_("Enter a date.")]
        else:
            details[spec.name] = raw
    return details, problems


def moment_from_post(
    posted: QueryDict,
    name: str,
    problems: dict[str, list[str]],
    *,
    required: bool = True,
    missing: str = "",
) -> datetime | None:
    """A datetime-local field of a form; a missing or unreadable one is noted in PROBLEMS.

    MISSING is the sentence for an empty field (naming what to enter); a time that people
    must enter themselves is never pre-filled, so this is what they read when they forget.
    """
    raw = str(posted.get(name, "")).strip()
    if not raw:
        if required:
            problems[name] = [missing or _("Enter a date and a time.")]
        return None
    try:
        return parse_local_datetime(raw)
    except ValueError as unreadable:
        problems[name] = [str(unreadable)]
        return None


# --- errors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorItem:
    """One problem for the summary at the top of a form, linking to its field."""

    target: str  # the id of the control to jump to; "" when no single control is at fault
    label: str
    message: str


def error_summary(
    errors: Mapping[str, Sequence[str]], controls: Mapping[str, tuple[str, str]]
) -> list[ErrorItem]:
    """ERRORS (field key -> messages) as summary lines; CONTROLS maps key -> (id, label)."""
    items = []
    for key, messages in errors.items():
        fallback = "" if key == "__all__" else key.removeprefix("details.").replace("_", " ")
        target, label = controls.get(key, ("", fallback))
        for message in messages:
            items.append(ErrorItem(target, str(label), str(message)))
    return items


def controls_of(fields: Iterable[FormField], *, key_prefix: str = "") -> dict[str, tuple[str, str]]:
    return {f"{key_prefix}{item.name}": (item.id, item.label) for item in fields}

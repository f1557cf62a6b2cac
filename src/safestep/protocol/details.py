"""Checking the details recorded when a step is resolved.

``validate_details`` takes what a person entered (from a form or the API) and returns
the cleaned, JSON-safe values plus plain-English error messages per field, in the
shape the API answers with (``{"field": ["message", ...]}``). It never raises for bad
input: every problem is reported at once, so a form can show them all. It raises
``ValueError`` only for mistakes in the calling code (an unknown resolution, a naive
datetime, ``in_progress`` for a step that declares no progress).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Literal

from safestep.protocol.deadlines import require_aware
from safestep.protocol.model import CASE_ANCHORS, DetailIs, FieldSpec, Step, describe_anchor

Resolution = Literal["done", "not_applicable", "in_progress"]
RESOLUTIONS: tuple[str, ...] = ("done", "not_applicable", "in_progress")

# Generous limits that still keep a single record a sane size.
MAX_TEXT_LENGTH = 20_000
MAX_STRING_LENGTH = 200
# Same characters Django allows in usernames.
_USERNAME = re.compile(r"[\w.@+-]{1,150}")
_SCHOOL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")

REQUIRED_MESSAGE = "This field is required."

# Bounds on every date and time (the same as safestep.core.moments, which a test checks;
# this package stays free of Django). Nothing before 1 January 1990 anywhere on Earth, so
# turning a stored time into UTC or local time can never fall off the start of the
# calendar; nothing after "now" plus a few minutes for a client whose clock runs fast.
EARLIEST_DATE = date(1990, 1, 1)
EARLIEST_MOMENT = datetime(1990, 1, 1, tzinfo=timezone(timedelta(hours=14)))
FUTURE_ALLOWANCE = timedelta(minutes=5)
MAX_OFFSET = timedelta(hours=14)
# A date field may look ahead (a hearing, a review), but not past this many days.
MAX_DAYS_AHEAD = 3660
MAX_MOMENT_TEXT = 40
# Whole numbers of at most 18 digits: they fit every database's 64-bit integers.
MAX_INTEGER_DIGITS = 18


class _Invalid(Exception):
    """One field's value is unacceptable; the message is shown to the person."""


def _is_empty(value: object) -> bool:
    # False and 0 are answers, not blanks.
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return len(value) == 0
    return False


def _one_of(value: str, spec: FieldSpec) -> str:
    if value in spec.refused:
        raise _Invalid(spec.refused[value])
    if value not in spec.choices:
        raise _Invalid(f"{value!r} is not one of: {', '.join(spec.choices)}.")
    return value


def _storable(text: str) -> str:
    """TEXT, unless it holds what no database or page can keep. JSON can carry a NUL
    (``\\u0000``, which PostgreSQL refuses) and half of a UTF-16 pair (``\\ud800``, which
    UTF-8 cannot write); Django's and DRF's own text fields refuse both, in these words."""
    if "\x00" in text:
        raise _Invalid("Null characters are not allowed.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("Surrogate characters are not allowed.") from None
    return text


def _as_text(value: object, spec: FieldSpec, now: datetime) -> str:
    if not isinstance(value, str):
        raise _Invalid("Enter text.")
    text = _storable(value.strip())
    if len(text) > MAX_TEXT_LENGTH:
        raise _Invalid(f"Keep this under {MAX_TEXT_LENGTH} characters.")
    return text


def _as_string(value: object, spec: FieldSpec, now: datetime) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _Invalid("Enter a short text value.")
    text = _storable(str(value).strip())
    if "\n" in text or "\r" in text:
        raise _Invalid("Enter this on a single line.")
    if len(text) > MAX_STRING_LENGTH:
        raise _Invalid(f"Keep this under {MAX_STRING_LENGTH} characters.")
    return text


_TRUE_WORDS = {"true", "yes", "on", "1"}
_FALSE_WORDS = {"false", "no", "off", "0"}


def _yes_or_no(value: object) -> bool | None:
    """True or False for a yes/no answer, None for anything else."""
    if isinstance(value, bool):
        return value
    # HTML forms send text; accept the usual spellings of yes and no.
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _as_yes_no(value: object, spec: FieldSpec, now: datetime) -> bool:
    answer = _yes_or_no(value)
    if answer is None:
        raise _Invalid("Answer yes or no.")
    return answer


def _as_choice(value: object, spec: FieldSpec, now: datetime) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"Choose one of: {', '.join(spec.choices)}.")
    return _one_of(value.strip(), spec)


def _as_multi_choice(value: object, spec: FieldSpec, now: datetime) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise _Invalid(f"Choose from: {', '.join(spec.choices)}.")
    chosen: list[str] = []
    for item in value:
        picked = _one_of(item.strip(), spec)
        if picked not in chosen:
            chosen.append(picked)
    return chosen


def _as_list(value: object, spec: FieldSpec, now: datetime) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise _Invalid("Enter a list of entries.")
    entries: list[str] = []
    for item in value:
        entry = item.strip()
        if not entry:
            raise _Invalid("Entries must not be empty.")
        if len(entry) > MAX_STRING_LENGTH:
            raise _Invalid(f"Keep each entry under {MAX_STRING_LENGTH} characters.")
        if entry not in entries:
            entries.append(entry)
    return entries


def _as_datetime(value: object, spec: FieldSpec, now: datetime) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) > MAX_MOMENT_TEXT or not text.isascii():
                raise ValueError(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _Invalid(
                "Enter a date and time in ISO 8601 form, e.g. 2026-03-01T14:30:00-08:00."
            ) from None
    else:
        raise _Invalid("Enter a date and time.")
    offset = moment.utcoffset()
    if moment.tzinfo is None or offset is None:
        raise _Invalid("Include the time zone offset, e.g. 2026-03-01T14:30:00-08:00.")
    if abs(offset) > MAX_OFFSET:
        raise _Invalid("Give a real time zone offset, between -14:00 and +14:00.")
    if moment < EARLIEST_MOMENT:
        raise _Invalid("May not be before 1 January 1990.")
    if moment > now + FUTURE_ALLOWANCE:
        raise _Invalid("This time is in the future.")
    return moment.isoformat()


def _as_date(value: object, spec: FieldSpec, now: datetime) -> str:
    if isinstance(value, datetime):
        raise _Invalid("Enter a date without a time, e.g. 2026-03-01.")
    day: date | None = None
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and len(value.strip()) <= MAX_MOMENT_TEXT and value.isascii():
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            day = None
    if day is None:
        raise _Invalid("Enter a date, e.g. 2026-03-01.")
    if day < EARLIEST_DATE:
        raise _Invalid("May not be before 1 January 1990.")
    if (day - now.date()).days > MAX_DAYS_AHEAD:
        raise _Invalid("May not be more than ten years ahead.")
    return day.isoformat()


def _as_integer(value: object, spec: FieldSpec, now: datetime) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        # ASCII digits only: "²" and other Unicode digits pass isdigit() but not int().
        digits = value.strip().removeprefix("-")
        if digits.isascii() and digits.isdecimal() and len(digits) <= MAX_INTEGER_DIGITS:
            number = int(value.strip())
    if number is None or abs(number) >= 10**MAX_INTEGER_DIGITS:
        raise _Invalid("Enter a whole number.")
    minimum = 1 if spec.minimum is None else spec.minimum
    if number < minimum:
        raise _Invalid(f"Must be at least {minimum}.")
    if spec.maximum is not None and number > spec.maximum:
        raise _Invalid(f"Must be at most {spec.maximum}.")
    return number


def _as_user(value: object, spec: FieldSpec, now: datetime) -> str:
    if not isinstance(value, str) or not _USERNAME.fullmatch(value.strip()):
        raise _Invalid("Enter a username.")
    return value.strip()


def _as_school(value: object, spec: FieldSpec, now: datetime) -> str:
    if not isinstance(value, str) or not _SCHOOL_CODE.fullmatch(value.strip()):
        raise _Invalid("Enter a school code.")
    return value.strip()


def _as_person(value: object, spec: FieldSpec, now: datetime) -> int:
    # A form sends the id as text, the API as a number; either way a positive whole
    # number of ASCII digits ("²" and other Unicode digits pass isdigit() but not int()).
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        digits = value.strip()
        if digits.isascii() and digits.isdecimal() and len(digits) <= MAX_INTEGER_DIGITS:
            number = int(digits)
    if number is None or not 1 <= number < 10**MAX_INTEGER_DIGITS:
        raise _Invalid("Choose a person on the case.")
    return number


_CLEANERS: dict[str, Callable[[object, FieldSpec, datetime], object]] = {
    "text": _as_text,
    "string": _as_string,
    "yes_no": _as_yes_no,
    "choice": _as_choice,
    "multi_choice": _as_multi_choice,
    "list": _as_list,
    "datetime": _as_datetime,
    "date": _as_date,
    "integer": _as_integer,
    "user": _as_user,
    "school": _as_school,
    "person": _as_person,
}


def _progress_fields(step: Step | None) -> tuple[str, ...]:
    if step is None:
        raise ValueError("pass the step to know which fields recording progress requires")
    if step.progress is None:
        raise ValueError(
            f"step {step.id!r} declares no progress, so it cannot be recorded as in progress"
        )
    return step.progress.fields


def _answered(condition: DetailIs, details: Mapping[str, object]) -> bool:
    """Whether DETAILS give the condition's field its value, cleaned or as a form sent it."""
    found = details.get(condition.field_name)
    if isinstance(condition.value, bool):
        return _yes_or_no(found) is condition.value
    return isinstance(found, str) and found.strip() == condition.value


def is_field_required(
    spec: FieldSpec,
    resolution: Resolution,
    *,
    step: Step | None = None,
    details: Mapping[str, object] | None = None,
) -> bool:
    """Whether a field must be filled in to resolve its step this way.

    For ``"in_progress"`` pass the field's ``step``: exactly the fields its progress
    names are required. Raises ``ValueError`` if the step declares no progress.

    A field with ``required_when`` is required to mark the step done only when the
    other field has that value in ``details`` (cleaned, or as a form sends them: "yes"
    is yes). Without ``details`` it reads as not required, as a blank form shows it.
    """
    if resolution == "in_progress":
        return spec.name in _progress_fields(step)
    if resolution == "not_applicable":
        return spec.record_either_way
    if spec.required:
        return True
    return (
        spec.required_when is not None
        and details is not None
        and _answered(spec.required_when, details)
    )


def _label_in_sentence(label: str) -> str:
    # "When the report was phoned in" reads as "... before when the report was ...",
    # but an abbreviation such as "SS 8572 sent" keeps its capitals.
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _check_not_before(
    step: Step,
    cleaned: Mapping[str, object],
    anchors: Mapping[str, datetime],
    errors: dict[str, list[str]],
) -> None:
    """Add an error on each datetime field that is earlier than a time it may not precede.

    Only values that were given and are valid are compared; a missing other field or
    anchor is skipped, because there is nothing to contradict.
    """
    for spec in step.fields:
        value = cleaned.get(spec.name)
        if not spec.not_before or not isinstance(value, str):
            continue
        moment = datetime.fromisoformat(value)
        for name in spec.not_before:
            if name in CASE_ANCHORS:
                anchor = anchors.get(name)
                if anchor is not None and anchor > moment:
                    shown = anchor.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
                    errors.setdefault(spec.name, []).append(
                        f"May not be before {describe_anchor(name)} ({shown})."
                    )
                continue
            other = cleaned.get(name)
            if isinstance(other, str) and datetime.fromisoformat(other) > moment:
                label = _label_in_sentence(step.field(name).label)
                errors.setdefault(spec.name, []).append(f"May not be before {label}.")


def validate_details(
    step: Step,
    details: Mapping[str, object],
    *,
    resolution: Resolution,
    now: datetime,
    anchors: Mapping[str, datetime] | None = None,
) -> tuple[dict[str, object], dict[str, list[str]]]:
    """Check a step's details; return ``(cleaned, errors)``.

    ``cleaned`` holds only fields with a value, as JSON-safe values: text as ``str``,
    yes/no as ``bool``, lists as ``list``, datetimes as ISO 8601 strings with their
    offset, dates as ``YYYY-MM-DD``, whole numbers and people's ids as ``int``.
    ``errors`` maps a field name (or an unknown key that was sent) to messages; it is
    empty when the details are acceptable.

    For ``"done"`` every required field must be filled in, and so must every field
    whose ``required_when`` holds on the other values given (and valid), e.g. the new
    school when the decision is a transfer. For ``"not_applicable"`` only fields
    marked ``record_either_way`` are required. For ``"in_progress"`` exactly the
    fields named by the step's ``progress`` are required; a step without ``progress``
    raises ``ValueError`` (the caller should not have offered it). Fields that are not
    required may still be given and are checked the same way.

    Every datetime must carry a real offset (within 14 hours) and lie between
    :data:`EARLIEST_MOMENT` (1 January 1990 anywhere) and ``now`` plus
    :data:`FUTURE_ALLOWANCE`; a date lies between :data:`EARLIEST_DATE` and
    :data:`MAX_DAYS_AHEAD` days after ``now``; a whole number has at most 18 ASCII digits.

    Datetime fields with ``not_before`` must not be earlier than the other fields
    they name (when those were given and are valid) nor than the case times in
    ``anchors`` (``suspicion_formed_at``, ``case_opened_at``; timezone-aware). The
    error goes on the earlier field, e.g. "May not be before when the report was
    phoned in." Times missing from ``anchors`` are not compared.
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}")
    if resolution == "in_progress":
        _progress_fields(step)  # raises for a step that declares no progress
    require_aware(now, "now")
    for name, moment in (anchors or {}).items():
        require_aware(moment, f"anchor {name!r}")
    cleaned: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    if not isinstance(details, Mapping):
        # e.g. a JSON list where an object was expected: say so instead of crashing.
        return cleaned, {"details": ["Send the details as named fields (a JSON object)."]}
    known = set(step.field_names)
    for key in details:
        if key not in known:
            listed = ", ".join(step.field_names) or "no details"
            errors[str(key)] = [f"Unknown field. This step records: {listed}."]
    invalid: dict[str, str] = {}
    for spec in step.fields:
        value = details.get(spec.name)
        if _is_empty(value):
            continue
        try:
            cleaned[spec.name] = _CLEANERS[spec.type](value, spec, now)
        except _Invalid as problem:
            invalid[spec.name] = str(problem)
    # Whether a field is required may depend on another's cleaned value, so this comes
    # second; the errors still follow the order of the fields.
    for spec in step.fields:
        if spec.name in invalid:
            errors[spec.name] = [invalid[spec.name]]
        elif spec.name not in cleaned and is_field_required(
            spec, resolution, step=step, details=cleaned
        ):
            errors[spec.name] = [REQUIRED_MESSAGE]
    _check_not_before(step, cleaned, anchors or {}, errors)
    return cleaned, errors

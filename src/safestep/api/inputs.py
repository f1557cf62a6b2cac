"""Input serializers: one per endpoint, parsing only. Rules live in the services."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.translation import gettext
from rest_framework import serializers

from safestep.core import moments

# Ids and versions fit a 64-bit column; a larger number names nothing.
MAX_ID = 2**63 - 1
# Enough for any step's fields or a case's facts; a body of a million keys is an attack.
MAX_KEYS = 100
MAX_LIST_ITEMS = 100


class BoundedDictField(serializers.DictField):
    """A JSON object of at most MAX_KEYS entries, counted before any entry is checked."""

    def to_internal_value(self, data: Any) -> dict[Any, Any]:
        if isinstance(data, Mapping) and len(data) > MAX_KEYS:
            raise serializers.ValidationError(
                gettext("At most %(limit)s entries.") % {"limit": MAX_KEYS}
            )
        return super().to_internal_value(data)


def bounded_dict(**kwargs: Any) -> BoundedDictField:
    return BoundedDictField(**kwargs)


class MomentField(serializers.DateTimeField):
    """An ISO 8601 time with its offset. A time without one is refused, not guessed at.

    The bounds (from 1990, not in the future) are the services' check
    (``safestep.core.moments.check_moment``), the same for every front end.
    """

    def enforce_timezone(self, value: datetime) -> datetime:
        offset = value.utcoffset()
        if value.tzinfo is None or offset is None:
            raise serializers.ValidationError(moments.NAIVE_MESSAGE)
        if abs(offset) > moments.MAX_OFFSET:
            raise serializers.ValidationError(moments.OFFSET_MESSAGE)
        return super().enforce_timezone(value)


class StudentIn(serializers.Serializer):
    sis_id = serializers.CharField(max_length=32)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    birth_date = serializers.DateField(required=False, allow_null=True)
    grade = serializers.CharField(max_length=8, required=False, allow_blank=True, default="")


class OwnReportIn(serializers.Serializer):
    agency = serializers.CharField()
    phoned_at = serializers.CharField()
    written_submitted_at = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    reference = serializers.CharField(required=False, allow_blank=True)
    agency_name = serializers.CharField(required=False, allow_blank=True, max_length=200)


# One incident rarely involves more students than this; see cases.services.
MAX_STUDENTS = 20


class ConcernIn(serializers.Serializer):
    """A concern names one ``student`` or several ``students`` (not both)."""

    school = serializers.CharField(max_length=16)
    student = StudentIn(required=False)
    students = serializers.ListField(
        child=StudentIn(), required=False, min_length=1, max_length=MAX_STUDENTS
    )
    observed_at = MomentField()
    description = serializers.CharField(max_length=20_000)
    indicators = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        default=list,
        max_length=MAX_LIST_ITEMS,
    )
    own_report = OwnReportIn(required=False, allow_null=True)
    withhold_identity = serializers.BooleanField(required=False, default=False)


class ConcernDismissIn(serializers.Serializer):
    reason = serializers.CharField()


class ConcernOwnReportIn(OwnReportIn):
    pass


class CaseOpenIn(serializers.Serializer):
    school = serializers.CharField(max_length=16, required=False)
    student = StudentIn(required=False)
    concern = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    # Which of the concern's students the case is for, when it names several.
    student_sis_id = serializers.CharField(max_length=32, required=False, allow_blank=True)
    pathway = serializers.CharField(max_length=64)
    suspicion_formed_at = MomentField()
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    # A loaded protocol's id; without it, the case follows the active protocol.
    protocol = serializers.CharField(max_length=64, required=False, allow_blank=True)


class VersionedIn(serializers.Serializer):
    """Every write on a case carries the version it read (or sends it as If-Match)."""

    version = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class FactsIn(VersionedIn):
    facts = bounded_dict(child=serializers.BooleanField(allow_null=True))
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class StepCompleteIn(VersionedIn):
    occurred_at = MomentField()
    details = bounded_dict(required=False, default=dict)
    # Needed when the child abuse report is completed after its legal deadline.
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class StepProgressIn(VersionedIn):
    details = bounded_dict()


class ClockIn(VersionedIn):
    suspicion_formed_at = MomentField()
    reason = serializers.CharField(allow_blank=True)


class ReviewDecideIn(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["upheld", "overruled"])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)


class StepNotApplicableIn(VersionedIn):
    reason = serializers.CharField(allow_blank=True)
    details = bounded_dict(required=False, default=dict)
    occurred_at = MomentField(required=False)


class StepReopenIn(VersionedIn):
    reason = serializers.CharField(allow_blank=True)


class EscalateIn(VersionedIn):
    pathway = serializers.CharField(max_length=64)
    reason = serializers.CharField(allow_blank=True)


class LinkIn(serializers.Serializer):
    case = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    relation = serializers.CharField(max_length=16)


class CheckInPlanIn(VersionedIn):
    every_days = serializers.IntegerField(min_value=1, max_value=90)
    assignee = serializers.CharField(max_length=150)


class CheckInIn(VersionedIn):
    occurred_at = MomentField()
    method = serializers.CharField(max_length=16)
    # Required, but by the service (a check-in says how the student is), so that a missing
    # note is reported together with every other problem of the check-in, not alone.
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)


class NoteIn(VersionedIn):
    text = serializers.CharField(max_length=20_000, allow_blank=True)


class CloseIn(VersionedIn):
    outcome = serializers.CharField(allow_blank=True, max_length=20_000)


class ReopenIn(VersionedIn):
    reason = serializers.CharField(allow_blank=True)


class StrictIn(serializers.Serializer):
    """Refuses keys it does not know, named one by one, with the other fields' errors: a
    change that names a field SafeStep does not hold must not look saved."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            names = [name for name, _ in self.fields.items()]
            known = ", ".join(name for name in names if name != "version")
            unknown = {
                str(key): [gettext("Unknown field; one of: %(known)s.") % {"known": known}]
                for key in data
                if key not in names
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            detail = error.detail if isinstance(error.detail, dict) else {}
            raise serializers.ValidationError({**unknown, **detail}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def _text(max_length: int) -> serializers.CharField:
    # null or "" clears a value on a change; a key not sent keeps it.
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, allow_null=True
    )


class PersonIn(StrictIn, VersionedIn):
    """Someone involved in the case; a name or a description (or both)."""

    role = serializers.CharField(max_length=16)
    name = _text(200)
    description = _text(2_000)
    birth_date = serializers.DateField(required=False, allow_null=True)
    approximate_age = serializers.IntegerField(required=False, allow_null=True)
    sex = _text(16)
    ethnicity = _text(200)
    address = _text(2_000)
    phone = _text(200)
    business_phone = _text(200)
    relationship = _text(200)
    sis_id = _text(32)
    may_contact = serializers.BooleanField(required=False, allow_null=True)
    may_be_involved = serializers.BooleanField(required=False, allow_null=True)


class PersonChangeIn(PersonIn):
    role = serializers.CharField(max_length=16, required=False)


class VictimDetailsIn(StrictIn, VersionedIn):
    sex = _text(16)
    ethnicity = _text(200)
    primary_language = _text(200)
    address = _text(2_000)
    phone = _text(200)
    disabilities = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        allow_null=True,
        max_length=MAX_LIST_ITEMS,
    )
    other_disability = _text(200)
    in_foster_care = serializers.BooleanField(required=False, allow_null=True)
    out_of_home_care = _text(32)
    present_location = _text(2_000)


class AttachIn(VersionedIn):
    case = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class VoidIn(VersionedIn):
    reason = serializers.CharField(allow_blank=True, max_length=20_000)


class TransferIn(VersionedIn):
    school = serializers.CharField(max_length=32)
    completed_at = MomentField()

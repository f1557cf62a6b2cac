"""Input serializers: one per endpoint, parsing only. Rules live in the services."""

from __future__ import annotations

from rest_framework import serializers


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


class ConcernIn(serializers.Serializer):
    school = serializers.CharField(max_length=16)
    student = StudentIn()
    observed_at = serializers.DateTimeField()
    description = serializers.CharField(max_length=20_000)
    indicators = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    own_report = OwnReportIn(required=False, allow_null=True)
    withhold_identity = serializers.BooleanField(required=False, default=False)


class ConcernDismissIn(serializers.Serializer):
    reason = serializers.CharField()


class ConcernOwnReportIn(OwnReportIn):
    pass


class CaseOpenIn(serializers.Serializer):
    school = serializers.CharField(max_length=16, required=False)
    student = StudentIn(required=False)
    concern = serializers.IntegerField(required=False, min_value=1)
    pathway = serializers.CharField(max_length=64)
    suspicion_formed_at = serializers.DateTimeField()
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)


class VersionedIn(serializers.Serializer):
    """Every write on a case carries the version it read (or sends it as If-Match)."""

    version = serializers.IntegerField(required=False, min_value=1)


class FactsIn(VersionedIn):
    facts = serializers.DictField(child=serializers.BooleanField(allow_null=True))
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class StepCompleteIn(VersionedIn):
    occurred_at = serializers.DateTimeField()
    details = serializers.DictField(required=False, default=dict)
    # Needed when the child abuse report is completed after its legal deadline.
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class StepProgressIn(VersionedIn):
    details = serializers.DictField()


class ClockIn(VersionedIn):
    suspicion_formed_at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)


class ReviewDecideIn(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["upheld", "overruled"])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)


class StepNotApplicableIn(VersionedIn):
    reason = serializers.CharField(allow_blank=True)
    details = serializers.DictField(required=False, default=dict)
    occurred_at = serializers.DateTimeField(required=False)


class StepReopenIn(VersionedIn):
    reason = serializers.CharField(allow_blank=True)


class EscalateIn(VersionedIn):
    pathway = serializers.CharField(max_length=64)
    reason = serializers.CharField(allow_blank=True)


class LinkIn(serializers.Serializer):
    case = serializers.IntegerField(min_value=1)
    relation = serializers.CharField(max_length=16)


class CheckInPlanIn(VersionedIn):
    every_days = serializers.IntegerField(min_value=1, max_value=90)
    assignee = serializers.CharField(max_length=150)


class CheckInIn(VersionedIn):
    occurred_at = serializers.DateTimeField()
    method = serializers.CharField(max_length=16)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)


class NoteIn(VersionedIn):
    text = serializers.CharField(max_length=20_000, allow_blank=True)


class CloseIn(VersionedIn):
    outcome = serializers.CharField(allow_blank=True, max_length=20_000)


class ReopenIn(VersionedIn):
    reason = serializers.CharField(allow_blank=True)

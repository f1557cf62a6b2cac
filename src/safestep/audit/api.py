"""The audit trail and the disclosure log over the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safestep.accounts.models import User
from safestep.audit.selectors import (
    audit_events_for_user,
    disclosures_for_user,
    event_output,
    sees_sealed_payloads,
    withheld_reporter_concerns,
)
from safestep.audit.services import event_record


class AuditQuery(serializers.Serializer):
    case = serializers.IntegerField(required=False, min_value=1)
    actor = serializers.CharField(required=False, max_length=150)
    action = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class AuditPagination(PageNumberPagination):
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


def parse_audit_query(params: Any) -> dict[str, Any]:
    query = AuditQuery(data=params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class AuditTrail(APIView):
    @extend_schema(
        summary="The audit trail (auditors and the district coordinator)",
        parameters=[
            OpenApiParameter("case", int),
            OpenApiParameter("actor", str),
            OpenApiParameter("action", str),
            OpenApiParameter("since", datetime),
            OpenApiParameter("until", datetime),
        ],
    )
    def get(self, request: Request) -> Response:
        user = _user(request)
        filters = parse_audit_query(request.query_params)
        events = audit_events_for_user(
            user,
            case_id=filters.get("case"),
            actor=filters.get("actor"),
            action=filters.get("action"),
            since=filters.get("since"),
            until=filters.get("until"),
        )
        paginator = AuditPagination()
        page = paginator.paginate_queryset(events, request, view=self) or []
        with_sealed = sees_sealed_payloads(user)
        # Reading the trail is itself recorded: who looked at what.
        event_record(
            actor=user,
            action="audit.read",
            payload={key: str(value) for key, value in filters.items()},
        )
        return paginator.get_paginated_response(
            [event_output(event, with_sealed=with_sealed) for event in page]
        )


class StudentDisclosures(APIView):
    @extend_schema(summary="Disclosures of one student's information outside the school")
    def get(self, request: Request, sis_id: str) -> Response:
        user = _user(request)
        disclosures = list(disclosures_for_user(user, sis_id=sis_id))
        # Every lookup is recorded, whatever it found.
        event_record(
            actor=user,
            action="disclosure.read",
            payload={"student": sis_id[:64], "found": len(disclosures)},
        )
        # The threat is narrative: shown to those who read sealed reasons, and otherwise only
        # whether it was recorded, which is what an auditor checks (34 CFR 99.32(a)(5)).
        with_sealed = sees_sealed_payloads(user)
        withheld = withheld_reporter_concerns(user, disclosures)
        return Response(
            [
                {
                    "at": item.disclosed_at.isoformat(),
                    "recipient_type": item.recipient_type,
                    "recipient_name": item.recipient,
                    "basis": item.legal_basis,
                    "step": item.step_id or None,
                    "by": (
                        "a staff member"
                        if item.concern_id in withheld and item.recorded_by_id != user.pk
                        else item.recorded_by.username
                    ),
                    "threat": (item.threat or None) if with_sealed else None,
                    "threat_recorded": bool(item.threat),
                    "case": item.case_id,
                    "concern": item.concern_id,
                    "categories": item.categories,
                }
                for item in disclosures
            ]
        )

"""The audit trail over the REST API.

A student's disclosure log needs the reader's case scope, so the API serves it from the
cases (``api.views.StudentDisclosures``, ``cases.audit_reads``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safestep.accounts.access import sees_sealed_payloads
from safestep.accounts.models import User
from safestep.audit.actions import Action
from safestep.audit.selectors import audit_events_for_user, event_output
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
            action=Action.AUDIT_READ,
            payload={key: str(value) for key, value in filters.items()},
        )
        return paginator.get_paginated_response(
            [event_output(event, with_sealed=with_sealed) for event in page]
        )

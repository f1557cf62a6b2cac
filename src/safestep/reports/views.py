"""Report endpoints and the dashboard page. Thin: parse, call a service or selector, render."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safestep.accounts.access import CAPABILITIES, Capability
from safestep.accounts.models import Role, User
from safestep.cases.selectors import case_definition, case_get_for_user
from safestep.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    SafeStepError,
    ValidationFailed,
)
from safestep.reports import services
from safestep.reports.periods import (
    local_today,
    month_end,
    month_start,
    months_back,
    parse_period,
    parse_school_year,
)
from safestep.reports.selectors import Dashboard, dashboard_for_user, may_see_dashboard
from safestep.reports.statistics import parse_by, statistics_csv_rows, statistics_output


class _FileRenderer(BaseRenderer):
    """Lets a client ask for the file type; errors still go out as problem+json."""

    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


class PdfRenderer(_FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class CsvRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


def _user(request: Request | HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _no_store(response: HttpResponse) -> HttpResponse:
    # Reports must not linger in shared caches or the browser's back-forward cache.
    response["Cache-Control"] = "no-store"
    return response


def _pdf(document: services.ScarDocument) -> HttpResponse:
    response = HttpResponse(document.content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return _no_store(response)


class ScarPdf(APIView):
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        summary="The pre-filled Suspected Child Abuse Report (SS 8572) as PDF",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request: Request, case_id: int) -> HttpResponse:
        return _pdf(services.scar_generate(acting_user=_user(request), case_id=case_id))


class ConcernScarPdf(APIView):
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        summary="The reporter's own pre-filled SS 8572 for a concern they reported, as PDF",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request: Request, concern_id: int) -> HttpResponse:
        return _pdf(
            services.scar_generate_for_concern(acting_user=_user(request), concern_id=concern_id)
        )


# --- the SS 8572 from the pages -----------------------------------------------------------
#
# The pages link here, not to the API: a signed-in person gets the PDF, or a page that says
# in words why it cannot be printed (never the API's JSON). Who may print it, and on which
# cases, is the services' rule, the same as for the API.

SCAR_REFUSED_TEMPLATE = "reports/scar_refused.html"


def _scar_roles() -> str:
    """The roles that print the case's SS 8572, in words, as the access table says."""
    return ", ".join(
        str(Role(role).label)
        for role, capabilities in CAPABILITIES.items()
        if Capability.SCAR_GENERATE in capabilities and role in Role.values
    )


def _scar_refused(request: HttpRequest, user: User, case_id: int, error: SafeStepError) -> Any:
    case = case_get_for_user(user, case_id, audit_read=False)
    pathway = case_definition(case).pathway(case.pathway)
    if isinstance(error, PermissionDenied):
        status = 403
        reason = _(
            "Your role (%(role)s) does not print the SS 8572. These roles print it: "
            "%(roles)s. Ask one of them."
        ) % {"role": user.get_role_display(), "roles": _scar_roles()}
    else:
        status = 409
        reason = _(
            "Case %(reference)s follows the pathway “%(code)s · %(pathway)s”, which makes no "
            "report to Child Welfare Services: the SS 8572 reports a suspected victim of "
            "abuse. If this student is one, move the case to a pathway that makes the report "
            "first; it can then be printed."
        ) % {"reference": case.reference, "code": pathway.code, "pathway": pathway.title}
    context = {"reason": reason, "case_id": case.pk, "reference": case.reference}
    return render(request, SCAR_REFUSED_TEMPLATE, context, status=status)


@login_required
@require_GET
def case_scar_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's pre-filled SS 8572 for the people who print it, or why it cannot be."""
    user = _user(request)
    try:
        document = services.scar_generate(acting_user=user, case_id=case_id, channel="page")
    except NotFound:
        raise Http404("No such case") from None
    except (PermissionDenied, Conflict) as error:
        response: HttpResponse = _scar_refused(request, user, case_id, error)
        return _no_store(response)
    return _pdf(document)


@login_required
@require_GET
def concern_scar_page(request: HttpRequest, concern_id: int) -> HttpResponse:
    """The reporter's own pre-filled SS 8572: only theirs, anyone else finds nothing."""
    try:
        document = services.scar_generate_for_concern(
            acting_user=_user(request), concern_id=concern_id, channel="page"
        )
    except NotFound:
        raise Http404("No such concern") from None
    except PermissionDenied as error:
        # A role that reports no concern (an auditor): the "Not allowed" page.
        raise PageForbidden(error.detail) from None
    return _pdf(document)


STATS_PARAMETERS = [
    OpenApiParameter(
        "from",
        str,
        description=(
            "first month of one ended school year: a July, YYYY-07 or YYYY-07-01 "
            "(default: the latest ended school year)"
        ),
    ),
    OpenApiParameter(
        "to",
        str,
        description="last month of the same school year: the June after, YYYY-06 or YYYY-06-30",
    ),
    OpenApiParameter("by", str, description="comma-separated: school, pathway, month"),
]


def _statistics(request: Request, file_format: str) -> Any:
    """One ended school year per request (any other period answers 400 naming from/to)."""
    params = request.query_params
    period = parse_school_year(
        params.get("from"), params.get("to"), today=local_today(timezone.now())
    )
    return services.statistics_export(
        acting_user=_user(request),
        period=period,
        by=parse_by(params.get("by")),
        file_format=file_format,
    )


STATS_OUT = inline_serializer(
    "StatsOut",
    fields={
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "by": serializers.ListField(child=serializers.CharField()),
        "suppressed_below": serializers.IntegerField(),
        "rows": serializers.ListField(
            child=inline_serializer(
                "StatsRow",
                fields={
                    "school": serializers.CharField(required=False),
                    "pathway": serializers.CharField(required=False),
                    "month": serializers.CharField(required=False),
                    "cases": serializers.IntegerField(allow_null=True),
                    "suppressed": serializers.BooleanField(),
                },
            )
        ),
    },
)


class Stats(APIView):
    # JSON only: the browsable API would draw its HTML page under the problem+json type of
    # an error, and a browser shows that page's source as text.
    renderer_classes = [JSONRenderer]

    @extend_schema(
        summary="De-identified case counts for one ended school year; cells under 11 suppressed",
        parameters=STATS_PARAMETERS,
        responses=STATS_OUT,
    )
    def get(self, request: Request) -> Response:
        return Response(statistics_output(_statistics(request, "json")))


class StatsCsv(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        summary="The same counts as CSV",
        parameters=STATS_PARAMETERS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request: Request) -> HttpResponse:
        statistics = _statistics(request, "csv")
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(statistics_csv_rows(statistics))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"safestep-stats-{statistics.period.first:%Y-%m}-{statistics.period.last:%Y-%m}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return _no_store(response)


# --- the dashboard page --------------------------------------------------------------------


def _chart_data(board: Dashboard) -> dict[str, Any]:
    """What the charts draw: the same numbers as the tables beside them."""
    pathway_titles = dict(board.pathways)
    overdue_by_step: dict[str, int] = {}
    for title, count in board.overdue_by_step:
        overdue_by_step[title] = overdue_by_step.get(title, 0) + count
    return {
        "open": {
            "labels": [code for code, _name in board.schools],
            "datasets": [
                {
                    "label": pathway_titles[pathway],
                    "data": [board.open_cases.get((code, pathway), 0) for code, _ in board.schools],
                }
                for pathway, _title in board.pathways
            ],
        },
        "overdue": {
            "labels": list(overdue_by_step),
            "datasets": [{"label": _("Overdue steps"), "data": list(overdue_by_step.values())}],
        },
        "monthly": {
            "labels": [month for month, _counts in board.opened_by_month],
            "datasets": [
                {
                    "label": pathway_titles[pathway],
                    "data": [counts.get(pathway, 0) for _month, counts in board.opened_by_month],
                }
                for pathway, _title in board.pathways
            ],
        },
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may_see_dashboard(user):
        raise PageForbidden(
            _("The dashboard is for site administrators and district coordinators.")
        )
    now = timezone.now()
    today = local_today(now)
    errors: dict[str, list[str]] = {}
    try:
        period = parse_period(
            request.GET.get("from"),
            request.GET.get("to"),
            default_first=months_back(month_start(today), 11),
            default_last=month_end(today),
        )
    except ValidationFailed as error:
        errors = error.errors
        period = parse_period(
            None,
            None,
            default_first=months_back(month_start(today), 11),
            default_last=month_end(today),
        )
    board = dashboard_for_user(user, period=period, now=now)
    by_school = board.open_by_school()
    context = {
        "board": board,
        "errors": errors,
        "chart_data": _chart_data(board),
        "open_rows": [
            (
                code,
                name,
                [board.open_cases.get((code, pathway), 0) for pathway, _t in board.pathways],
                by_school[code],
            )
            for code, name in board.schools
        ],
        "open_totals": [board.open_total(pathway=pathway) for pathway, _t in board.pathways],
        "open_total": board.open_total(),
        "overdue_by_step": board.overdue_by_step,
        "overdue_listed": board.overdue,
        "monthly_rows": [
            (
                month,
                [counts.get(pathway, 0) for pathway, _t in board.pathways],
                sum(counts.values()),
            )
            for month, counts in board.opened_by_month
        ],
        "from_value": f"{period.first:%Y-%m}",
        "to_value": f"{period.last:%Y-%m}",
    }
    return render(request, "reports/dashboard.html", context, status=400 if errors else 200)

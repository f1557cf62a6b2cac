"""REST API views: parse, call a service or selector, render. Nothing else.

Each view is small on purpose: rules live in services and the protocol, access in
accounts.access and the selectors.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safestep.accounts.access import Capability, has_capability, sees_sealed_payloads
from safestep.accounts.models import User
from safestep.api import inputs
from safestep.api.outputs import (
    WITHHELD_REPORTER,
    case_output,
    case_summary_output,
    check_in_output,
    concern_output,
    note_output,
    protocol_output,
    review_output,
)
from safestep.api.pagination import CasePagination
from safestep.audit.selectors import event_output
from safestep.audit.services import event_record
from safestep.cases import people, services
from safestep.cases.audit_reads import (
    case_timeline_for_user,
    disclosures_for_user,
    withheld_reporter_concerns,
)
from safestep.cases.models import CaseStatus
from safestep.cases.selectors import (
    CaseListing,
    case_get_for_user,
    concern_get_for_user,
    concern_list_for_user,
    review_list_for_user,
)
from safestep.core.errors import PermissionDenied, ValidationFailed
from safestep.definitions.selectors import protocols_current


def parse(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def acting(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


# A version is a positive whole number that fits a 64-bit column: at most 18 ASCII digits.
MAX_VERSION_DIGITS = 18


def _if_match_version(request: Request) -> int | None:
    """The version an If-Match header names (``"3"``, ``W/"3"``), None when there is none.

    A header that names something else is refused, never guessed at: ``str.isdigit``
    also accepts "²", which ``int`` cannot read.
    """
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() in ("", "*"):
        return None
    tag = raw.strip().removeprefix("W/")
    if len(tag) >= 2 and tag[0] == tag[-1] == '"':
        tag = tag[1:-1]
    if tag.isascii() and tag.isdecimal() and len(tag) <= MAX_VERSION_DIGITS and int(tag) > 0:
        return int(tag)
    raise ValidationFailed(
        {"If-Match": [gettext('Send the case\'s version as an entity tag, e.g. If-Match: "3".')]}
    )


def optional_version(request: Request, data: dict[str, Any]) -> int | None:
    """The version the client read, from the body or an If-Match header, if it sent one."""
    header = _if_match_version(request)
    if data.get("version") is not None:
        return int(data["version"])
    return header


def expected_version(request: Request, data: dict[str, Any]) -> int:
    """The version the client read: from the body, or from an If-Match header."""
    version = optional_version(request, data)
    if version is None:
        raise ValidationFailed(
            {"version": [gettext("Send the case's current version (or If-Match).")]}
        )
    return version


def case_response(request: Request, case_id: int, status_code: int = 200) -> Response:
    # Re-read after a write, so the answer shows exactly what is stored now. The write's
    # own event already records it; this read is not audited twice.
    case = case_get_for_user(acting(request), case_id, audit_read=False)
    response = Response(case_output(acting(request), case), status=status_code)
    response["ETag"] = f'"{case.version}"'
    return response


def student_input(data: dict[str, Any] | None) -> services.StudentInput | None:
    return services.StudentInput(**data) if data else None


def students_input(data: dict[str, Any]) -> list[services.StudentInput]:
    """The students a concern names: ``student`` (one) or ``students`` (several)."""
    if data.get("student") and data.get("students"):
        raise ValidationFailed(
            {"students": [gettext("Send either student or students, not both.")]}
        )
    if data.get("student"):
        return [services.StudentInput(**data["student"])]
    if not data.get("students"):
        raise ValidationFailed(
            {"student": [gettext("Name the student (or students) of the concern.")]}
        )
    return [services.StudentInput(**item) for item in data["students"]]


def given(data: dict[str, Any]) -> dict[str, Any]:
    """What the client sent besides the version, with dates as ISO text."""
    return {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in data.items()
        if key != "version"
    }


class ProtocolList(APIView):
    @extend_schema(summary="Loaded protocols with their pathways and steps in order")
    def get(self, request: Request) -> Response:
        if not has_capability(acting(request), Capability.PROTOCOL_READ):
            raise PermissionDenied(gettext("your role does not read protocols"))
        return Response([protocol_output(stored) for stored in protocols_current()])


class ConcernCollection(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=["submitted", "triaged", "dismissed"])]
    )
    def get(self, request: Request) -> Response:
        user = acting(request)
        concerns = concern_list_for_user(user, status=request.query_params.get("status"))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(concerns, request, view=self) or []
        return paginator.get_paginated_response([concern_output(user, item) for item in page])

    @extend_schema(request=inputs.ConcernIn)
    def post(self, request: Request) -> Response:
        data = parse(inputs.ConcernIn, request)
        concern = services.concern_submit(
            acting_user=acting(request),
            school_code=data["school"],
            students=students_input(data),
            observed_at=data["observed_at"],
            description=data["description"],
            indicators=data["indicators"],
            own_report=data.get("own_report"),
            withhold_identity=data["withhold_identity"],
        )
        return Response(
            {
                "id": concern.pk,
                "status": concern.status,
                "report_due_at": concern_output(acting(request), concern)["report_due_at"],
            },
            status=201,
        )


class ConcernDetail(APIView):
    def get(self, request: Request, concern_id: int) -> Response:
        user = acting(request)
        return Response(concern_output(user, concern_get_for_user(user, concern_id)))


class ConcernOwnReport(APIView):
    @extend_schema(
        request=inputs.ConcernOwnReportIn,
        summary="The reporter records or updates their own report to CWS or law enforcement",
    )
    def post(self, request: Request, concern_id: int) -> Response:
        data = parse(inputs.ConcernOwnReportIn, request)
        user = acting(request)
        concern = services.concern_own_report_set(
            acting_user=user,
            concern_id=concern_id,
            agency=data["agency"],
            phoned_at=data["phoned_at"],
            written_submitted_at=data.get("written_submitted_at") or None,
            reference=data.get("reference") or "",
            agency_name=data.get("agency_name") or "",
        )
        return Response(concern_output(user, concern))


class ConcernDismiss(APIView):
    @extend_schema(request=inputs.ConcernDismissIn)
    def post(self, request: Request, concern_id: int) -> Response:
        data = parse(inputs.ConcernDismissIn, request)
        concern = services.concern_dismiss(
            acting_user=acting(request), concern_id=concern_id, reason=data["reason"]
        )
        return Response({"id": concern.pk, "status": concern.status})


class CaseCollection(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["open", "closed", "voided"]),
            OpenApiParameter("school", str),
            OpenApiParameter("pathway", str),
            OpenApiParameter("overdue", bool),
        ]
    )
    def get(self, request: Request) -> Response:
        user = acting(request)
        if not has_capability(user, Capability.CASE_READ):
            raise PermissionDenied(gettext("your role does not read cases"))
        params = request.query_params
        status = params.get("status")
        if status and status not in CaseStatus.values:
            raise ValidationFailed(
                {
                    "status": [
                        gettext("One of: %(values)s.") % {"values": ", ".join(CaseStatus.values)}
                    ]
                }
            )
        overdue = params.get("overdue")
        if overdue not in (None, "", "true", "false"):
            raise ValidationFailed({"overdue": [gettext("true or false.")]})
        listing = CaseListing(
            user,
            status=status,
            school=params.get("school"),
            pathway=params.get("pathway"),
            overdue={"true": True, "false": False}.get(overdue or ""),
        )
        paginator = CasePagination()
        page = paginator.paginate_listing(listing, request, view=self)
        return paginator.get_paginated_response([case_summary_output(user, case) for case in page])

    @extend_schema(request=inputs.CaseOpenIn)
    def post(self, request: Request) -> Response:
        data = parse(inputs.CaseOpenIn, request)
        case = services.case_open(
            acting_user=acting(request),
            pathway=data["pathway"],
            suspicion_formed_at=data["suspicion_formed_at"],
            summary=data["summary"],
            school_code=data.get("school"),
            student=student_input(data.get("student")),
            concern_id=data.get("concern"),
            student_sis_id=data.get("student_sis_id") or None,
            protocol_id=data.get("protocol") or None,
        )
        return case_response(request, case.pk, 201)


class CaseDetail(APIView):
    def get(self, request: Request, case_id: int) -> Response:
        case = case_get_for_user(acting(request), case_id)
        response = Response(case_output(acting(request), case))
        response["ETag"] = f'"{case.version}"'
        return response


class CaseFacts(APIView):
    @extend_schema(request=inputs.FactsIn)
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.FactsIn, request)
        services.case_facts_set(
            acting_user=acting(request),
            case_id=case_id,
            facts=data["facts"],
            reason=data["reason"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class StepComplete(APIView):
    @extend_schema(request=inputs.StepCompleteIn)
    def post(self, request: Request, case_id: int, step_id: str) -> Response:
        data = parse(inputs.StepCompleteIn, request)
        services.step_complete(
            acting_user=acting(request),
            case_id=case_id,
            step_id=step_id,
            occurred_at=data["occurred_at"],
            details=data["details"],
            reason=data["reason"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class StepProgress(APIView):
    @extend_schema(
        request=inputs.StepProgressIn,
        summary="Record partial progress on a step (the phone call before the written report)",
    )
    def post(self, request: Request, case_id: int, step_id: str) -> Response:
        data = parse(inputs.StepProgressIn, request)
        services.step_progress(
            acting_user=acting(request),
            case_id=case_id,
            step_id=step_id,
            details=data["details"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class CaseClock(APIView):
    @extend_schema(
        request=inputs.ClockIn,
        summary="Correct when the suspicion was formed (opens a review)",
    )
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.ClockIn, request)
        services.case_clock_move(
            acting_user=acting(request),
            case_id=case_id,
            suspicion_formed_at=data["suspicion_formed_at"],
            reason=data["reason"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class ReviewCollection(APIView):
    @extend_schema(parameters=[OpenApiParameter("status", str, enum=["open", "decided"])])
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status")
        if status and status not in ("open", "decided"):
            raise ValidationFailed(
                {"status": [gettext("One of: %(values)s.") % {"values": "open, decided"}]}
            )
        # A plain list, as the interface promises: the queue is short by design (each review
        # waits for one decision), and "decided" can be narrowed by asking for "open".
        reviews = review_list_for_user(acting(request), status=status)
        return Response([review_output(review) for review in reviews])


class ReviewDecide(APIView):
    @extend_schema(request=inputs.ReviewDecideIn, summary="Uphold or overrule a decision")
    def post(self, request: Request, review_id: int) -> Response:
        data = parse(inputs.ReviewDecideIn, request)
        review = services.review_decide(
            acting_user=acting(request),
            review_id=review_id,
            decision=data["decision"],
            comment=data["comment"],
        )
        return Response(review_output(review))


class StepNotApplicable(APIView):
    @extend_schema(request=inputs.StepNotApplicableIn)
    def post(self, request: Request, case_id: int, step_id: str) -> Response:
        data = parse(inputs.StepNotApplicableIn, request)
        services.step_mark_not_applicable(
            acting_user=acting(request),
            case_id=case_id,
            step_id=step_id,
            reason=data["reason"],
            details=data["details"],
            occurred_at=data.get("occurred_at"),
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class StepReopen(APIView):
    @extend_schema(request=inputs.StepReopenIn)
    def post(self, request: Request, case_id: int, step_id: str) -> Response:
        data = parse(inputs.StepReopenIn, request)
        services.step_reopen(
            acting_user=acting(request),
            case_id=case_id,
            step_id=step_id,
            reason=data["reason"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class CaseEscalate(APIView):
    @extend_schema(request=inputs.EscalateIn)
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.EscalateIn, request)
        services.case_escalate(
            acting_user=acting(request),
            case_id=case_id,
            pathway=data["pathway"],
            reason=data["reason"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class CaseLinks(APIView):
    @extend_schema(request=inputs.LinkIn)
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.LinkIn, request)
        link = services.case_link(
            acting_user=acting(request),
            case_id=case_id,
            other_case_id=data["case"],
            relation=data["relation"],
        )
        return Response(
            {"id": link.pk, "case": link.to_case_id, "relation": link.relation}, status=201
        )


class CheckInPlanView(APIView):
    @extend_schema(request=inputs.CheckInPlanIn)
    def put(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.CheckInPlanIn, request)
        services.checkin_plan_set(
            acting_user=acting(request),
            case_id=case_id,
            every_days=data["every_days"],
            assignee=data["assignee"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class CheckIns(APIView):
    @extend_schema(request=inputs.CheckInIn)
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.CheckInIn, request)
        check_in = services.checkin_record(
            acting_user=acting(request),
            case_id=case_id,
            occurred_at=data["occurred_at"],
            method=data["method"],
            notes=data["notes"],
            expected_version=optional_version(request, data),
        )
        return Response(check_in_output(check_in), status=201)


class Notes(APIView):
    @extend_schema(request=inputs.NoteIn)
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.NoteIn, request)
        note = services.note_add(
            acting_user=acting(request),
            case_id=case_id,
            text=data["text"],
            expected_version=optional_version(request, data),
        )
        return Response(note_output(note), status=201)


class CaseClose(APIView):
    @extend_schema(request=inputs.CloseIn)
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.CloseIn, request)
        services.case_close(
            acting_user=acting(request),
            case_id=case_id,
            outcome=data["outcome"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class CaseReopen(APIView):
    @extend_schema(request=inputs.ReopenIn)
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.ReopenIn, request)
        services.case_reopen(
            acting_user=acting(request),
            case_id=case_id,
            reason=data["reason"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class ConcernAttach(APIView):
    @extend_schema(request=inputs.AttachIn, summary="Add a concern to an open case of its student")
    def post(self, request: Request, concern_id: int) -> Response:
        data = parse(inputs.AttachIn, request)
        case = services.concern_attach(
            acting_user=acting(request),
            concern_id=concern_id,
            case_id=data["case"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case.pk)


class CasePeople(APIView):
    @extend_schema(request=inputs.PersonIn, summary="Add someone involved in the case")
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.PersonIn, request)
        person = people.case_person_add(
            acting_user=acting(request),
            case_id=case_id,
            values=given(data),
            expected_version=expected_version(request, data),
        )
        response = case_response(request, case_id, 201)
        response["Location"] = f"/api/v1/cases/{case_id}/people/{person.pk}"
        return response


class CasePersonDetail(APIView):
    @extend_schema(request=inputs.PersonChangeIn, summary="Change what is known of a person")
    def patch(self, request: Request, case_id: int, person_id: int) -> Response:
        data = parse(inputs.PersonChangeIn, request)
        people.case_person_update(
            acting_user=acting(request),
            case_id=case_id,
            person_id=person_id,
            changes=given(data),
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class CaseStudentDetails(APIView):
    @extend_schema(request=inputs.VictimDetailsIn, summary="The student's details for the SS 8572")
    def patch(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.VictimDetailsIn, request)
        people.case_victim_details_set(
            acting_user=acting(request),
            case_id=case_id,
            changes=given(data),
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class CaseVoid(APIView):
    @extend_schema(request=inputs.VoidIn, summary="Void a case opened in error (opens a review)")
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.VoidIn, request)
        services.case_void(
            acting_user=acting(request),
            case_id=case_id,
            reason=data["reason"],
            expected_version=expected_version(request, data),
        )
        return case_response(request, case_id)


class CaseTransfer(APIView):
    @extend_schema(
        request=inputs.TransferIn, summary="Record a completed transfer; the case moves with it"
    )
    def post(self, request: Request, case_id: int) -> Response:
        data = parse(inputs.TransferIn, request)
        user = acting(request)
        case = services.case_transfer(
            acting_user=user,
            case_id=case_id,
            school_code=data["school"],
            completed_at=data["completed_at"],
            expected_version=expected_version(request, data),
        )
        # The case has left the school's scope for a transferring site administrator; the
        # coordinator and the placement office still see it.
        return Response({"id": case.pk, "school": case.school.code, "version": case.version})


class CaseTimeline(APIView):
    def get(self, request: Request, case_id: int) -> Response:
        user = acting(request)
        case = case_get_for_user(user, case_id, channel="timeline")
        with_sealed = sees_sealed_payloads(user)
        return Response(
            [
                event_output(event, with_sealed=with_sealed)
                for event in case_timeline_for_user(user, case)
            ]
        )


class StudentDisclosures(APIView):
    @extend_schema(summary="Disclosures of one student's information outside the school")
    def get(self, request: Request, sis_id: str) -> Response:
        user = acting(request)
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
                        WITHHELD_REPORTER
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

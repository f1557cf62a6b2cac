"""API endpoints for a case's attachments: upload (multipart), list, download."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safestep.accounts.models import User
from safestep.attachments import services
from safestep.attachments.models import Attachment
from safestep.core.errors import ValidationFailed

# A downloaded file is never a page: nothing in it may run, even if a browser tried.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def attachment_output(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "file_name": attachment.file_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "uploaded_by": attachment.uploaded_by.username,
        "uploaded_at": attachment.uploaded_at.isoformat(),
    }


class AttachmentCollection(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(summary="Attachments of a case")
    def get(self, request: Request, case_id: int) -> Response:
        items = services.attachment_list_for_user(_user(request), case_id)
        return Response([attachment_output(item) for item in items])

    @extend_schema(
        summary="Attach a PDF or an image to a case (multipart, field `file`)",
        request={
            "multipart/form-data": inline_serializer(
                "AttachmentUpload", {"file": serializers.FileField()}
            )
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed({"file": ["Send the file as multipart field 'file'."]})
        if upload.size is not None and upload.size > services.max_upload_bytes():
            raise ValidationFailed({"file": [services.too_large_message()]})
        attachment = services.attachment_add(
            acting_user=_user(request),
            case_id=case_id,
            file_name=upload.name or "",
            content=upload.read(),
        )
        return Response(attachment_output(attachment), status=201)


class AttachmentDownload(APIView):
    @extend_schema(
        summary="Download an attachment (audited)",
        responses={(200, "application/octet-stream"): OpenApiResponse(description="the file")},
    )
    def get(self, request: Request, case_id: int, attachment_id: int) -> HttpResponse:
        download = services.attachment_get_for_user(_user(request), case_id, attachment_id)
        response = HttpResponse(download.content, content_type=download.attachment.content_type)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=download.attachment.file_name
        )
        response["Content-Security-Policy"] = DOWNLOAD_CSP
        return response

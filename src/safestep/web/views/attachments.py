"""Files on the case page: attach one (a multipart form), and download one (recorded).

Everything about a file is decided by ``attachments.services``: the case must be in the
reader's scope (else 404), the role must be allowed (else 403), the case open (else 409),
and the file a PDF or an image judged from its first bytes. The page answers like every
other form of the case page: a redirect back to the section, or with htmx the case body.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from safestep.accounts.models import User
from safestep.attachments.services import (
    attachment_add,
    attachment_get_for_user,
    max_upload_bytes,
    too_large_message,
)
from safestep.cases.selectors import MAX_ROW_ID, case_get_for_user
from safestep.core.errors import NotFound, PermissionDenied, ValidationFailed
from safestep.web.attachments_page import ATTACHMENT_FORM, ATTACHMENTS_ANCHOR
from safestep.web.case_page import FormState, build_case_context
from safestep.web.pages import REFUSALS, acting_user, is_htmx, refusal, render_page
from safestep.web.views.cases import CASE_FRAGMENT, CASE_TEMPLATE

# A downloaded file is never a page: nothing in it may run, even if a browser tried.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def _case_answer(
    request: HttpRequest,
    user: User,
    case_id: int,
    *,
    status: int,
    errors: dict[str, list[str]] | None = None,
    done: str = "",
) -> HttpResponse:
    # The case as stored now; the attempt itself is not a new read worth a second event.
    try:
        case = case_get_for_user(user, case_id, channel="page", audit_read=False)
    except NotFound:
        raise Http404("No such case") from None
    forms = {ATTACHMENT_FORM: FormState(errors=errors)} if errors else None
    context = build_case_context(user, case, forms=forms)
    context |= {"notice": "", "done_message": done, "done_anchor": ATTACHMENTS_ANCHOR}
    return render_page(request, CASE_TEMPLATE, context, fragment=CASE_FRAGMENT, status=status)


@login_required
@require_POST
def attachment_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    user = acting_user(request)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationFailed({"file": [_("Choose the file to attach.")]})
        if upload.size is not None and upload.size > max_upload_bytes():
            raise ValidationFailed({"file": [too_large_message()]})
        attachment = attachment_add(
            acting_user=user, case_id=case_id, file_name=upload.name or "", content=upload.read()
        )
    except REFUSALS as error:
        refused = refusal(error, not_found="No such case")
        return _case_answer(request, user, case_id, status=refused.status, errors=refused.errors)
    message = _("%(name)s is attached to the case.") % {"name": attachment.file_name}
    if is_htmx(request):
        return _case_answer(request, user, case_id, status=200, done=message)
    messages.success(request, message)
    return redirect(reverse("web:case", args=[case_id]) + f"#{ATTACHMENTS_ANCHOR}")


@login_required
@require_GET
def attachment_download(request: HttpRequest, case_id: int, attachment_id: int) -> HttpResponse:
    """The file, as it was attached. Recorded in the trail (``attachment.download``)."""
    user = acting_user(request)
    if not 0 < attachment_id <= MAX_ROW_ID:
        raise Http404("No such attachment")
    try:
        download = attachment_get_for_user(user, case_id, attachment_id)
    except NotFound:
        raise Http404("No such attachment") from None
    except PermissionDenied:
        raise PageForbidden("This role does not read attachments") from None
    response = HttpResponse(download.content, content_type=download.attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=download.attachment.file_name
    )
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    return response

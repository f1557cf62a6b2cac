"""The case page's attachments: the files on the case, and the form to add one.

Who may read them and who may add them is ``accounts.access``'s (``ATTACHMENT_READ``,
``ATTACHMENT_ADD``): the placement office sees no section at all. The files' type, size and
name are checked by ``attachments.services`` when one is sent; the page only says what is
accepted. A download goes through ``attachment_get_for_user``, which records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils.translation import gettext as _

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User
from safestep.attachments.services import max_upload_bytes
from safestep.attachments.storage import KINDS
from safestep.cases.models import Case, CaseStatus
from safestep.cases.selectors import case_attachments_for_user, case_concerns
from safestep.web.concern_page import WITHHELD_REPORTER, withheld_reporters
from safestep.web.forms import ErrorItem, error_summary

# The form's key among the case page's forms, and the anchor it returns to.
ATTACHMENT_FORM = "attachment"
ATTACHMENTS_ANCHOR = "attachments"


@dataclass(frozen=True)
class AttachmentView:
    id: int
    name: str
    content_type: str
    size: int
    uploaded_by: str
    uploaded_at: datetime
    url: str


@dataclass(frozen=True)
class AttachmentsSection:
    items: list[AttachmentView]
    may_add: bool
    errors: list[str]  # the file field's problems
    summary: list[ErrorItem]
    max_megabytes: int
    accept: str  # the file chooser's hint; the server decides from the file's first bytes


def _uploader(person: User, hidden: set[str]) -> str:
    # A reporter who withheld their name from school staff stays "a staff member" here too.
    if person.username in hidden:
        return str(WITHHELD_REPORTER)
    return person.get_full_name() or person.username


def attachments_section(
    user: User, case: Case, *, errors: dict[str, list[str]] | None = None
) -> AttachmentsSection | None:
    """The section for USER on CASE (already authorized); None without ATTACHMENT_READ."""
    if not has_capability(user, Capability.ATTACHMENT_READ):
        return None
    attachments = case_attachments_for_user(user, case)
    hidden = withheld_reporters(user, case_concerns(case)) if attachments else set()
    errors = errors or {}
    return AttachmentsSection(
        items=[
            AttachmentView(
                id=item.pk,
                name=item.file_name,
                content_type=item.content_type,
                size=item.size,
                uploaded_by=_uploader(item.uploaded_by, hidden),
                uploaded_at=item.uploaded_at,
                url=reverse("web:case-attachment", args=[case.pk, item.pk]),
            )
            for item in attachments
        ],
        may_add=case.status == CaseStatus.OPEN and has_capability(user, Capability.ATTACHMENT_ADD),
        errors=list(errors.get("file", [])),
        summary=error_summary(errors, {"file": (f"{ATTACHMENT_FORM}-file", _("File to attach"))}),
        max_megabytes=max_upload_bytes() // (1024 * 1024),
        accept=",".join(
            [kind.content_type for kind in KINDS]
            + [ext for kind in KINDS for ext in kind.extensions]
        ),
    )

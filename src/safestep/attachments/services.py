"""Adding attachments to a case and handing them out. Access follows the case.

Adding needs the case in the user's scope (404 otherwise), a role that may add
attachments (403), and an open case (409). Every download is written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from safestep.accounts.access import Capability, has_capability
from safestep.accounts.models import User
from safestep.attachments import storage
from safestep.attachments.models import Attachment
from safestep.audit.services import event_record
from safestep.cases.models import CaseStatus
from safestep.cases.selectors import case_get_for_user
from safestep.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


def _require(user: User, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(f"your role ({user.role}) may not do this: {capability}")


def max_upload_bytes() -> int:
    return int(settings.MAX_UPLOAD_BYTES)


def too_large_message() -> str:
    return gettext("At most %(megabytes)d MB.") % {"megabytes": max_upload_bytes() // (1024 * 1024)}


def attachment_add(
    *, acting_user: User, case_id: int, file_name: str, content: bytes
) -> Attachment:
    """Store CONTENT, encrypted, as an attachment of the case."""
    with transaction.atomic():
        case = case_get_for_user(acting_user, case_id, for_write=True)
        _require(acting_user, Capability.ATTACHMENT_ADD)
        if case.status != CaseStatus.OPEN:
            raise Conflict(f"case {case.reference} is closed; reopen it first")
        if not content:
            raise ValidationFailed({"file": [gettext("The file is empty.")]})
        if len(content) > max_upload_bytes():
            raise ValidationFailed({"file": [too_large_message()]})
        kind = storage.sniff(content)
        if kind is None:
            raise ValidationFailed(
                {
                    "file": [
                        gettext("Only %(kinds)s may be attached.")
                        % {"kinds": gettext(storage.ALLOWED_DESCRIPTION)}
                    ]
                }
            )
        storage_name = storage.new_storage_name()
        key_id = storage.store(storage_name, content)
        try:
            attachment = Attachment.objects.create(
                case=case,
                file_name=storage.sanitize_file_name(file_name, kind),
                content_type=kind.content_type,
                size=len(content),
                storage_name=storage_name,
                key_id=key_id,
                uploaded_by=acting_user,
                uploaded_at=timezone.now(),
            )
            event_record(
                actor=acting_user,
                action="attachment.add",
                case_id=case.pk,
                payload={
                    "attachment": attachment.pk,
                    "content_type": kind.content_type,
                    "size": len(content),
                },
            )
        except BaseException:
            storage.discard(storage_name)
            raise
    # A rollback after this point (an outer transaction) leaves an unreferenced,
    # encrypted file behind: harmless, and never served.
    return attachment


def attachment_list_for_user(user: User, case_id: int) -> QuerySet[Attachment]:
    case = case_get_for_user(user, case_id, channel="attachments")
    _require(user, Capability.ATTACHMENT_READ)
    return Attachment.objects.filter(case=case).select_related("uploaded_by")


@dataclass(frozen=True)
class Download:
    attachment: Attachment
    content: bytes


def attachment_get_for_user(user: User, case_id: int, attachment_id: int) -> Download:
    """The attachment's bytes, if USER may see the case and its attachments. Audited."""
    case = case_get_for_user(user, case_id, audit_read=False)
    _require(user, Capability.ATTACHMENT_READ)
    attachment = Attachment.objects.filter(case=case, pk=attachment_id).first()
    if attachment is None:
        raise NotFound(f"no attachment {attachment_id} on case {case_id}")
    content = storage.load(attachment.storage_name)
    event_record(
        actor=user,
        action="attachment.download",
        case_id=case.pk,
        payload={"attachment": attachment.pk},
    )
    return Download(attachment, content)

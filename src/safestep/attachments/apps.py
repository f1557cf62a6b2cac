from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "safestep.attachments"
    label = "attachments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from safestep.attachments.storage import AttachmentFiles
        from safestep.core.crypto import register_reencryptor

        # Stored files are encrypted too; a key rotation re-encrypts them with the fields.
        register_reencryptor(AttachmentFiles)

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "safestep.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from safestep.audit import signals  # noqa: F401  (connects the sign-in receivers)

from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark as a Django app: `safestep bench`, `safestep seed-bench`, the floor."""

    name = "safestep_bench"
    label = "bench"
    default_auto_field = "django.db.models.BigAutoField"

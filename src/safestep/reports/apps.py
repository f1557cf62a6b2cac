from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def fill_rollup_after_upgrade(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Build the dashboard's rollup once, when an upgrade brings it to a database that
    already has cases, so that the district sees its figures at once.

    This runs after every migration has been applied, not as a data migration: the recount
    evaluates cases with today's models, which only match the schema once the last
    migration is in.
    """
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    from safestep.cases.models import Case
    from safestep.reports.models import CaseContribution
    from safestep.reports.rollups import rollup_rebuild

    # A migration run that stops part-way (``migrate <app> <migration>``) also ends with
    # this signal; the models only match the schema once every migration is in.
    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return
    if CaseContribution.objects.using(using).exists():
        return
    if not Case.objects.using(using).exists():
        return
    rollup_rebuild()


class ReportsConfig(AppConfig):
    name = "safestep.reports"
    label = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(fill_rollup_after_upgrade, sender=self)

from django.apps import AppConfig


class GoalsConfig(AppConfig):
    name = "clinicdesk.goals"
    label = "goals"
    verbose_name = "Goals"

    def ready(self) -> None:
        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        from . import receivers  # noqa: F401  (cache invalidation when new data posts)

        register_periodic("clinicdesk.goals.tasks.key_result_snapshots_daily", every=timedelta(days=1))

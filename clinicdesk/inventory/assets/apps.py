from datetime import timedelta

from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "clinicdesk.inventory.assets"
    label = "assets"
    verbose_name = "Office technology"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from clinicdesk.core.periodic import register_periodic

        from . import models

        for model in (models.Asset, models.MaintenanceSchedule, models.MaintenanceRecord, models.ServiceTicket):
            auditlog.register(model)
        register_periodic("clinicdesk.inventory.assets.tasks.asset_alerts_daily", every=timedelta(days=1))

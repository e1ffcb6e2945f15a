from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "clinicdesk.inventory"
    label = "inventory"
    verbose_name = "Supplies"

    def ready(self) -> None:
        from datetime import timedelta

        from auditlog.registry import auditlog

        from clinicdesk.core.periodic import register_periodic

        from . import models

        for model in (models.Item, models.Pack, models.StockLocation, models.StockLevel):
            auditlog.register(model)
        register_periodic("clinicdesk.inventory.tasks.stock_alerts_daily", every=timedelta(days=1))

from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "clinicdesk.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        register_periodic("clinicdesk.ledger.tasks.budget_alerts_daily", every=timedelta(days=1))
        register_periodic("clinicdesk.ledger.tasks.recurring_bills_daily", every=timedelta(days=1))

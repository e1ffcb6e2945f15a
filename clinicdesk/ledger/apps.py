from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "clinicdesk.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic
        from clinicdesk.core.restore import register_integrity_check

        register_integrity_check("ledger", "clinicdesk.ledger.reports.books_integrity")

        register_periodic("clinicdesk.ledger.tasks.budget_alerts_daily", every=timedelta(days=1))
        register_periodic("clinicdesk.ledger.tasks.recurring_bills_daily", every=timedelta(days=1))

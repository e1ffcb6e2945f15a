from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "clinicdesk.ledger"
    label = "ledger"
    verbose_name = "Ledger"

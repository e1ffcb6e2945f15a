from django.apps import AppConfig


class InsuranceConfig(AppConfig):
    name = "clinicdesk.insurance"
    label = "insurance"
    verbose_name = "Insurance"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        # Set-up records and coverages are audited field by field; claims and remittances by their services
        # (one row per transition or posting, naming the patient).
        for model in (models.Payer, models.InsurancePlan, models.Clearinghouse, models.Coverage,
                      models.PriorAuthorization, models.PayerContract, models.PayerRule):
            auditlog.register(model)

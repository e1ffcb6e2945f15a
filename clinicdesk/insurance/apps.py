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

        # --- eligibility: the next business day's appointments, checked every night ---
        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        register_periodic("clinicdesk.insurance.tasks.eligibility_check_tomorrow_task", every=timedelta(days=1))

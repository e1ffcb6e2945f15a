from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "clinicdesk.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        # Money rows are audited by the services that post them (one row naming the patient and the amount);
        # these set-up records are audited field by field.
        for model in (models.PatientAccount, models.SuperbillTemplate):
            auditlog.register(model)

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

        # --- card processor webhooks and the local test processor ---
        from datetime import timedelta

        from django.conf import settings

        from clinicdesk.core.periodic import register_periodic

        if settings.CARD_LOCAL_PROCESSOR:
            register_periodic("clinicdesk.billing.cardprocessor.tasks.card_processor_events_redeliver",
                              every=timedelta(minutes=1))

        # --- encounters, charges and the charge review queue ---
        from . import receivers  # noqa: F401  (a completed visit gets its encounter)

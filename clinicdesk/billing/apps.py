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
            register_periodic("clinicdesk.billing.cardprocessor.tasks.card_processor_payouts_make",
                              every=timedelta(hours=1))

        # --- patient accounts, payments, receipts and payment plans ---
        from clinicdesk.scheduling.views.flow import CheckInPanel, register_check_in_panel

        from .views.accounts import register_billing_tab
        from .views.pay_link import register_pay_link
        from .views.payments import copay_panel

        register_billing_tab()
        register_pay_link()
        # After the coverage panel (which will show the copay due), whatever order it is registered with.
        register_check_in_panel(CheckInPanel("copay", "Copay", "billing/payments/check_in_copay.html", copay_panel,
                                             order=110))
        register_periodic("clinicdesk.billing.tasks.payment_plans_check", every=timedelta(days=1))

        # --- card payouts: the processor's payout.paid event imports and reconciles the payout ---
        from .cards.webhooks import PAYOUT_PAID, register_card_event_handler
        from .services.payouts import payout_paid_received

        register_card_event_handler(PAYOUT_PAID, payout_paid_received)
        register_periodic("clinicdesk.billing.tasks.card_payouts_sync", every=timedelta(days=1))

        # --- encounters, charges and the charge review queue ---
        from . import receivers  # noqa: F401  (a completed visit gets its encounter)

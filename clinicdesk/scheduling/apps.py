from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "clinicdesk.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        for model in (models.Appointment, models.RecurringSeries, models.PhoneCall, models.WaitlistEntry,
                      models.Recall, models.OnlineBookingRequest):
            auditlog.register(model)

        from . import patient_tabs

        patient_tabs.register()

        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        register_periodic("clinicdesk.scheduling.tasks.waitlist_expire_offers", every=timedelta(minutes=5))
        register_periodic("clinicdesk.scheduling.tasks.online_requests_expire", every=timedelta(minutes=5))
        register_periodic("clinicdesk.scheduling.tasks.recalls_refresh_daily", every=timedelta(hours=24))

        from . import receivers  # noqa: F401  (the waitlist and recalls listen to the schedule's signals)
        from .views.front_desk import register_patient_tabs

        register_patient_tabs()

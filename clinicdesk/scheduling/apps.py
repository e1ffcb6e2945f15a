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

        from . import receivers  # noqa: F401  (the waitlist and recalls listen to the schedule's signals)
        from .views.front_desk import register_patient_tabs

        register_patient_tabs()

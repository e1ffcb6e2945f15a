from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "clinicdesk.staff"
    label = "staff"
    verbose_name = "Staff"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        for model in (models.StaffMember, models.Credential, models.TrainingAssignment, models.OnboardingTask):
            auditlog.register(model)

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

        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        register_periodic("clinicdesk.staff.tasks.credential_alerts_daily", every=timedelta(days=1))

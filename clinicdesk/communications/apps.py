from django.apps import AppConfig


class CommunicationsConfig(AppConfig):
    name = "clinicdesk.communications"
    label = "communications"
    verbose_name = "Communications"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        for model in (models.MessageTemplate, models.Letter, models.Letterhead, models.Signature,
                      models.StaffTask, models.Campaign):
            auditlog.register(model)

        # --- templates and letters ---

        # --- outbox, delivery and the SMS gateway ---
        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        register_periodic("clinicdesk.communications.tasks.outbox_dispatch", every=timedelta(minutes=1))

        # --- links, replies, the patient timeline and the staff task inbox ---

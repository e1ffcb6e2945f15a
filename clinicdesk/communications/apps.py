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
        from .views.letters import register_link_handlers as register_letter_links

        register_letter_links()

        # --- outbox, delivery and the SMS gateway ---

        # --- links, replies, the patient timeline and the staff task inbox ---

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
        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        register_periodic("clinicdesk.communications.tasks.outbox_dispatch", every=timedelta(minutes=1))

        # --- links, replies, the patient timeline and the staff task inbox ---
        from clinicdesk.patients.views import PATIENT_TABS

        from .choices import LinkAction
        from .views import appointment_links
        from .views.links import register_link_handler
        from .views.timeline import register_timeline_tab

        register_link_handler(LinkAction.CONFIRM, appointment_links.confirm_link, spent=appointment_links.spent_link)
        register_link_handler(LinkAction.CANCEL, appointment_links.cancel_link, spent=appointment_links.spent_link)
        register_link_handler(LinkAction.RESCHEDULE, appointment_links.reschedule_link, spent=appointment_links.spent_link)
        # The patients app holds a "Messages" placeholder until this tab exists; the timeline takes its place.
        PATIENT_TABS.pop("messages", None)
        register_timeline_tab()

        # --- reminders, waitlist offers, recalls and campaigns ---
        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        from . import receivers  # noqa: F401  (waitlist offers are told to the patients)
        from .views.campaigns import unsubscribe_link

        register_link_handler(LinkAction.UNSUBSCRIBE, unsubscribe_link)
        register_periodic("clinicdesk.communications.tasks.reminders_sweep", every=timedelta(minutes=5))

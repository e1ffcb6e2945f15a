from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "clinicdesk.core"
    label = "core"
    verbose_name = "Practice"

    def ready(self) -> None:
        from datetime import timedelta

        from . import lookups, receivers  # noqa: F401  (the in_array lookup; audit and login signal receivers)
        from .periodic import register_periodic

        register_periodic("clinicdesk.core.tasks.audit_chain_seal", every=timedelta(minutes=1))
        register_periodic("clinicdesk.core.tasks.audit_chain_verify", every=timedelta(hours=24))

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "clinicdesk.core"
    label = "core"
    verbose_name = "Practice"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (audit and login signal receivers)

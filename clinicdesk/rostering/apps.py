from django.apps import AppConfig


class RosteringConfig(AppConfig):
    name = "clinicdesk.rostering"
    label = "rostering"
    verbose_name = "Rostering"

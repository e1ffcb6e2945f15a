from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "clinicdesk.patients"
    label = "patients"
    verbose_name = "Patients"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import models

        for model in (models.Patient, models.Document, models.EmergencyContact, models.PatientAlert,
                      models.CommunicationConsent, models.Guarantor):
            auditlog.register(model)

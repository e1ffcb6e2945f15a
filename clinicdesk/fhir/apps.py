from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "clinicdesk.fhir"
    label = "fhir"
    verbose_name = "FHIR API"

    def ready(self) -> None:
        # --- the patient page's "Download record" button (right of access) ---
        from clinicdesk.patients.views import PatientAction, register_patient_action

        from .patient_record import RECORD_PERMISSIONS

        register_patient_action(PatientAction("record_download", "Download record (right of access)",
                                              "patient_record:download", RECORD_PERMISSIONS, order=50))

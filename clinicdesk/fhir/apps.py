from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "clinicdesk.fhir"
    label = "fhir"
    verbose_name = "FHIR API"

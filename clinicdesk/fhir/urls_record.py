"""The patient page's record download (right of access), under the patient's own address: /patients/<id>/record.zip."""

from django.urls import path

import clinicdesk.patients.urls  # noqa: F401  (registers the `pid` converter the pattern uses)

from . import pages

app_name = "patient_record"

urlpatterns = [
    path("<pid:public_id>/record.zip", pages.patient_record_download, name="download"),
]

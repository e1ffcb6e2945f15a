from django.urls import path, register_converter

from . import views, views_search
from .models import PUBLIC_ID_ALPHABET


class PublicIdConverter:
    """A patient's or document's public id: 14 characters of the unambiguous alphabet, so it never
    collides with fixed paths such as 'new' or 'export.csv'."""

    regex = f"[{PUBLIC_ID_ALPHABET}]{{14}}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PublicIdConverter, "pid")

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("suggest", views_search.patient_suggest, name="suggest"),
    path("export.csv", views.patient_export, name="export"),
    path("export.xlsx", views.patient_export, {"kind": "xlsx"}, name="export_xlsx"),
    path("import/", views.patient_import, name="import"),
    path("new/", views.patient_create, name="create"),
    path("documents/<pid:public_id>/", views.document_view, name="document"),
    path("<pid:public_id>/", views.patient_detail, name="detail"),
    path("<pid:public_id>/edit/", views.patient_edit, name="edit"),
    path("<pid:public_id>/merge/", views_search.patient_merge, name="merge"),
    path("<pid:public_id>/print/", views.patient_print, name="print"),
    path("<pid:public_id>/contacts/add/", views.contact_add, name="contact_add"),
    path("<pid:public_id>/contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("<pid:public_id>/contacts/<int:contact_id>/remove/", views.contact_remove, name="contact_remove"),
    path("<pid:public_id>/consents/", views.consent_edit, name="consent"),
    path("<pid:public_id>/alerts/add/", views.alert_add, name="alert_add"),
    path("<pid:public_id>/alerts/<int:alert_id>/deactivate/", views.alert_deactivate, name="alert_deactivate"),
    path("<pid:public_id>/guarantor/", views.guarantor_edit, name="guarantor"),
    path("<pid:public_id>/documents/upload/", views.document_upload, name="document_upload"),
]

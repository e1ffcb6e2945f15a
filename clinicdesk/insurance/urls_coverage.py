"""Payer set-up, patients' coverages, cards and prior authorisations."""

from django.urls import path

from clinicdesk.patients import urls as _patient_urls  # noqa: F401  (registers the pid converter)

from .views import coverage as views

urlpatterns = [
    path("clearinghouses/", views.clearinghouse_list, name="clearinghouse_list"),
    path("clearinghouses/new/", views.clearinghouse_edit, name="clearinghouse_create"),
    path("clearinghouses/<int:clearinghouse_id>/", views.clearinghouse_edit, name="clearinghouse_edit"),
    path("payers/", views.payer_list, name="payer_list"),
    path("payers/new/", views.payer_edit, name="payer_create"),
    path("payers/import/", views.payer_import, name="payer_import"),
    path("payers/<int:payer_id>/", views.payer_detail, name="payer_detail"),
    path("payers/<int:payer_id>/edit/", views.payer_edit, name="payer_edit"),
    path("payers/<int:payer_id>/plans/new/", views.plan_edit, name="plan_create"),
    path("payers/<int:payer_id>/plans/<int:insurance_plan_id>/", views.plan_edit, name="plan_edit"),
    path("patients/<pid:patient_id>/coverages/new/", views.coverage_create, name="coverage_create"),
    path("patients/<pid:patient_id>/coverages/reorder/", views.coverage_reorder, name="coverage_reorder"),
    path("coverages/<pid:coverage_id>/", views.coverage_edit, name="coverage_edit"),
    path("coverages/<pid:coverage_id>/end/", views.coverage_end, name="coverage_end"),
    path("coverages/<pid:coverage_id>/card/", views.coverage_card_upload, name="coverage_card_upload"),
    path("coverages/<pid:coverage_id>/authorizations/new/", views.authorization_edit, name="authorization_create"),
    path("authorizations/<int:authorization_id>/", views.authorization_edit, name="authorization_edit"),
]

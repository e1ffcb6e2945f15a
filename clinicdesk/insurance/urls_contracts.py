"""Contract pages: reference schedules, payer contracts, underpayments, the payer scorecard, the negotiation
packet and the patient's cost estimate."""

from django.urls import path

from .views import contracts as views

urlpatterns = [
    path("contracts/", views.contract_list, name="contract_list"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:contract_id>/", views.contract_detail, name="contract_detail"),
    path("contracts/<int:contract_id>/edit/", views.contract_edit, name="contract_edit"),
    path("contracts/<int:contract_id>/import/", views.contract_rates_import, name="contract_rates_import"),
    path("contracts/reference/", views.reference_schedule_list, name="reference_schedule_list"),
    path("contracts/reference/new/", views.reference_schedule_create, name="reference_schedule_create"),
    path("contracts/reference/<int:reference_schedule_id>/", views.reference_schedule_detail,
         name="reference_schedule_detail"),
    path("contracts/reference/<int:reference_schedule_id>/import/", views.reference_schedule_import,
         name="reference_schedule_import"),
    path("contracts/underpayments/", views.underpayments, name="underpayments"),
    path("contracts/scorecard/", views.scorecard, name="scorecard"),
    path("contracts/packet/", views.packet, name="negotiation_packet"),
    path("estimate/", views.estimate, name="cost_estimate"),
]

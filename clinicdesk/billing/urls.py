"""Staff pages of billing, under /billing/."""

from django.urls import path  # noqa: F401

from .views import codes

app_name = "billing"

urlpatterns = []

# --- code sets and fee schedules ---------------------------------------------------------------------------
urlpatterns += [
    path("codes/icd10/", codes.icd10_lookup, name="icd10_lookup"),
    path("codes/icd10/coding/", codes.icd10_lookup_coding, name="icd10_lookup_coding"),
    path("codes/icd10/search.json", codes.icd10_search, name="icd10_search"),
    path("codes/icd10/lookup.json", codes.icd10_search_billing, name="icd10_search_billing"),
    path("codes/procedures/", codes.procedure_list, name="procedure_list"),
    path("codes/fee-schedules/", codes.fee_schedule_list, name="fee_schedule_list"),
    path("codes/fee-schedules/new/", codes.fee_schedule_create, name="fee_schedule_create"),
    path("codes/fee-schedules/<int:fee_schedule_id>/", codes.fee_schedule_detail, name="fee_schedule_detail"),
    path("codes/fee-schedules/<int:fee_schedule_id>/import/", codes.fee_schedule_import, name="fee_schedule_import"),
]

# --- encounters, charges and the charge review queue -------------------------------------------------------

# --- patient accounts, payments, receipts and payment plans ------------------------------------------------

# --- statements, day close and reports ---------------------------------------------------------------------

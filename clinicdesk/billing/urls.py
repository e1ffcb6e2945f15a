"""Staff pages of billing, under /billing/."""

from django.urls import path  # noqa: F401

from .views import codes, encounters, review, superbills

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
urlpatterns += [
    path("encounters/", encounters.encounter_list, name="encounter_list"),
    path("encounters/new/", encounters.encounter_new, name="encounter_new"),
    path("encounters/visit/<str:appointment_id>/", encounters.encounter_for_appointment, name="encounter_for_appointment"),
    path("encounters/<str:encounter_id>/", encounters.encounter_detail, name="encounter_detail"),
    path("encounters/<str:encounter_id>/code/", encounters.encounter_code, name="encounter_code"),
    path("encounters/<str:encounter_id>/void/", encounters.encounter_void, name="encounter_void"),
    path("codes/procedures/search.json", encounters.procedure_search_json, name="procedure_search_json"),
    path("superbills/", superbills.superbill_list, name="superbill_list"),
    path("superbills/new/", superbills.superbill_create, name="superbill_create"),
    path("superbills/<int:superbill_id>/", superbills.superbill_edit, name="superbill_edit"),
    path("review/", review.review_queue, name="review_queue"),
    path("review/post/", review.review_post, name="review_post"),
    path("review/<str:encounter_id>/hold/", review.review_hold, name="review_hold"),
]

# --- patient accounts, payments, receipts and payment plans ------------------------------------------------

# --- statements, day close and reports ---------------------------------------------------------------------

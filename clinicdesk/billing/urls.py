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
from .views import dayclose as dayclose_views  # noqa: E402
from .views import reports as report_views  # noqa: E402

urlpatterns += [
    path("reports/", report_views.reports_home, name="reports"),
    path("reports/deposits/", report_views.report_deposits, name="report_deposits"),
    path("reports/day-sheet/", report_views.report_day_sheet, name="report_day_sheet"),
    path("reports/collections/", report_views.report_collections, name="report_collections"),
    path("reports/charges-and-payments/", report_views.report_charges_payments, name="report_charges_payments"),
    path("day-close/", dayclose_views.day_close_list, name="day_close_list"),
    path("day-close/count/", dayclose_views.day_close_count, name="day_close_count"),
    path("day-close/cards/", dayclose_views.card_settlement, name="card_settlement"),
    path("day-close/drawers/", dayclose_views.drawers, name="drawers"),
    path("day-close/<str:close_id>/", dayclose_views.day_close_detail, name="day_close_detail"),
    path("day-close/<str:close_id>/approve/", dayclose_views.day_close_approve, name="day_close_approve"),
    path("day-close/<str:close_id>/reopen/", dayclose_views.day_close_reopen, name="day_close_reopen"),
]

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
from .views import statements as statement_views  # noqa: E402

urlpatterns += [
    path("statements/", statement_views.statement_runs, name="statement_runs"),
    path("statements/new/", statement_views.statement_run_new, name="statement_run_new"),
    path("statements/policy/", statement_views.dunning_policy, name="dunning_policy"),
    path("statements/runs/<int:statement_run_id>/", statement_views.statement_run_detail, name="statement_run_detail"),
    path("statements/runs/<int:statement_run_id>/start/", statement_views.statement_run_start, name="statement_run_start"),
    path("statements/runs/<int:statement_run_id>/results.csv", statement_views.statement_run_results,
         name="statement_run_results"),
    path("statements/runs/<int:statement_run_id>/print.pdf", statement_views.statement_run_print_batch,
         name="statement_run_print_batch"),
    path("statements/accounts/<str:account_public_id>/", statement_views.account_statements, name="account_statements"),
    path("statements/<str:statement_id>/pdf/", statement_views.statement_pdf, name="statement_pdf"),
]

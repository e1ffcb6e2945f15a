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
from .views import accounts as account_views  # noqa: E402
from .views import payments as payment_views  # noqa: E402
from .views import plans as plan_views  # noqa: E402

urlpatterns += [
    path("accounts/<str:account_public_id>/", account_views.account_detail, name="account_detail"),
    path("accounts/<str:account_public_id>/activity.csv", account_views.account_activity_export, name="account_activity_export"),
    path("accounts/<str:account_public_id>/charges/<int:item_id>/adjust/", account_views.account_adjust, name="account_adjust"),
    path("accounts/<str:account_public_id>/credit/apply/", account_views.account_credit_apply, name="account_credit_apply"),
    path("accounts/<str:account_public_id>/members/move/", account_views.account_move_member, name="account_move_member"),
    path("accounts/<str:account_public_id>/pay-link/", account_views.account_pay_link, name="account_pay_link"),
    path("accounts/<str:account_public_id>/pay/", payment_views.payment_take, name="payment_take"),
    path("accounts/<str:account_public_id>/plans/new/", plan_views.plan_create, name="plan_create"),
    path("patients/<str:patient_id>/account/", account_views.patient_account_open, name="patient_account_open"),
    path("copay/<str:appointment_id>/", payment_views.copay_start, name="copay_start"),
    path("payments/", payment_views.payments, name="payments"),
    path("payments/export.csv", payment_views.payments_export, name="payments_export"),
    path("payments/import/", payment_views.payments_import, name="payments_import"),
    path("payments/<str:payment_id>/", payment_views.payment_detail, name="payment_detail"),
    path("payments/<str:payment_id>/void/", payment_views.payment_void_view, name="payment_void"),
    path("payments/<str:payment_id>/refund/", payment_views.payment_refund_view, name="payment_refund"),
    path("payments/<str:payment_id>/receipt.pdf", payment_views.payment_receipt, name="payment_receipt"),
    path("payments/<str:payment_id>/receipt/email/", payment_views.payment_receipt_email, name="payment_receipt_email"),
    path("plans/<int:plan_id>/", plan_views.plan_detail, name="plan_detail"),
    path("plans/<int:plan_id>/cancel/", plan_views.plan_cancel, name="plan_cancel"),
    path("plans/<int:plan_id>/autopay/", plan_views.plan_autopay, name="plan_autopay"),
    path("plans/<int:plan_id>/autopay/card/", plan_views.plan_autopay_card, name="plan_autopay_card"),
]

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

# --- card payouts ------------------------------------------------------------------------------------------
from .views import payouts as payout_views  # noqa: E402

urlpatterns += [
    path("card-payouts/", payout_views.payout_list, name="payout_list"),
    path("card-payouts/sync/", payout_views.payouts_sync, name="payouts_sync"),
    path("card-payouts/<str:card_payout_id>/", payout_views.payout_detail, name="payout_detail"),
    path("card-payouts/<str:card_payout_id>/rematch/", payout_views.payout_rematch, name="payout_rematch"),
    path("card-payouts/<str:card_payout_id>/accept/", payout_views.payout_accept, name="payout_accept"),
]

"""Staff pages of the ledger, under /ledger/."""

from django.urls import path

from . import bank_views, views

app_name = "ledger"

urlpatterns = [
    path("", views.index, name="index"),
    # --- chart of accounts
    path("accounts/", views.account_list, name="accounts"),
    path("accounts/export.csv", views.account_export, name="accounts_export"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:account_id>/edit/", views.account_edit, name="account_edit"),
    # --- one account's ledger (running balance)
    path("accounts/<int:account_id>/", views.account_ledger, name="account_ledger"),
    path("accounts/<int:account_id>/export.csv", views.account_ledger_export, name="account_ledger_export"),
    # --- journal: entries, manual entries, reversals
    path("journal/", views.journal_list, name="journal"),
    path("journal/export.csv", views.journal_export, name="journal_export"),
    path("journal/new/", views.entry_create, name="entry_create"),
    path("journal/<int:journal_entry_id>/", views.entry_detail, name="entry"),
    path("journal/<int:journal_entry_id>/reverse/", views.entry_reverse, name="entry_reverse"),
    # --- reports
    path("trial-balance/", views.trial_balance, name="trial_balance"),
    path("trial-balance/export.csv", views.trial_balance_export, name="trial_balance_export"),
    path("trial-balance/print.pdf", views.trial_balance_pdf, name="trial_balance_pdf"),
    path("aging/", views.aging, name="aging"),
    path("aging/export.csv", views.aging_export, name="aging_export"),
    path("aging/print.pdf", views.aging_pdf, name="aging_pdf"),
    # --- closing months
    path("periods/", views.period_list, name="periods"),
    path("periods/close/", views.period_close, name="period_close"),
    path("periods/reopen/", views.period_reopen, name="period_reopen"),
    # --- budgets
    path("budgets/", views.budget_vs_actual, name="budget_vs_actual"),
    path("budgets/export.csv", views.budget_vs_actual_export, name="budget_vs_actual_export"),
    path("budgets/grid/", views.budget_grid, name="budget_grid"),
    path("budgets/grid/save/", views.budget_grid_save, name="budget_grid_save"),
    path("budgets/import/", views.budget_import, name="budget_import"),
    # --- vendor bills (the bill is named in the form or the query)
    path("bills/", views.bill_list, name="bills"),
    path("bills/export.csv", views.bill_export, name="bills_export"),
    path("bills/new/", views.bill_create, name="bill_create"),
    path("bills/pay/", views.bill_pay, name="bill_pay"),
    path("bills/receipt/", views.bill_receipt, name="bill_receipt"),
    path("payroll/import/", views.payroll_import, name="payroll_import"),
    # --- vendors
    path("vendors/", views.vendor_list, name="vendors"),
    path("vendors/new/", views.vendor_create, name="vendor_create"),
    path("vendors/<int:vendor_id>/edit/", views.vendor_edit, name="vendor_edit"),
    # --- finances overview, recurring bills, bills due (bills are named in the form)
    path("finances/", bank_views.finances, name="finances"),
    path("bills/due/", bank_views.bills_due, name="bills_due"),
    path("bills/due/export.csv", bank_views.bills_due_export, name="bills_due_export"),
    path("bills/recurring/", bank_views.recurring_list, name="recurring"),
    path("bills/recurring/export.csv", bank_views.recurring_export, name="recurring_export"),
    path("bills/recurring/new/", bank_views.recurring_create, name="recurring_create"),
    path("bills/recurring/stop/", bank_views.recurring_stop, name="recurring_stop"),
    # --- bank accounts: register, statement import, matching, reconciliation (statement lines and
    # reconciliations are named in the form or the query)
    path("bank/", bank_views.bank_list, name="bank_list"),
    path("bank/export.csv", bank_views.bank_list_export, name="bank_list_export"),
    path("bank/new/", bank_views.bank_create, name="bank_create"),
    path("bank/<int:bank_account_id>/", bank_views.bank_detail, name="bank_detail"),
    path("bank/<int:bank_account_id>/edit/", bank_views.bank_edit, name="bank_edit"),
    path("bank/<int:bank_account_id>/export.csv", bank_views.bank_register_export, name="bank_register_export"),
    path("bank/<int:bank_account_id>/import/", bank_views.bank_import_view, name="bank_import"),
    path("bank/<int:bank_account_id>/matching/", bank_views.bank_matching, name="bank_matching"),
    path("bank/<int:bank_account_id>/matching/export.csv", bank_views.bank_matching_export,
         name="bank_matching_export"),
    path("bank/<int:bank_account_id>/matching/auto/", bank_views.bank_auto_match, name="bank_auto_match"),
    path("bank/<int:bank_account_id>/matching/match/", bank_views.bank_match, name="bank_match"),
    path("bank/<int:bank_account_id>/matching/unmatch/", bank_views.bank_unmatch, name="bank_unmatch"),
    path("bank/<int:bank_account_id>/matching/entry/", bank_views.bank_item_create, name="bank_item_create"),
    path("bank/<int:bank_account_id>/reconcile/", bank_views.bank_reconcile, name="bank_reconcile"),
    path("bank/<int:bank_account_id>/reconcile/undo/", bank_views.bank_reconcile_undo, name="bank_reconcile_undo"),
    path("bank/<int:bank_account_id>/reconciliation.pdf", bank_views.reconciliation_pdf, name="reconciliation_pdf"),
    path("bank/<int:bank_account_id>/reconciliation.csv", bank_views.reconciliation_csv, name="reconciliation_csv"),
    path("bank/<int:bank_account_id>/uncleared/", bank_views.bank_uncleared, name="bank_uncleared"),
    path("bank/<int:bank_account_id>/uncleared/export.csv", bank_views.bank_uncleared_export,
         name="bank_uncleared_export"),
]

# Financial statements: profit and loss, balance sheet, cash summary, each with its CSV, XLSX and PDF.
for _which, _slug in (("profit_loss", "profit-loss"), ("balance_sheet", "balance-sheet"), ("cash_summary", "cash")):
    urlpatterns += [
        path(f"statements/{_slug}/", views.statement, {"which": _which}, name=_which),
        path(f"statements/{_slug}/export.csv", views.statement_download, {"which": _which, "fmt": "csv"},
             name=f"{_which}_export"),
        path(f"statements/{_slug}/export.xlsx", views.statement_download, {"which": _which, "fmt": "xlsx"},
             name=f"{_which}_xlsx"),
        path(f"statements/{_slug}/print.pdf", views.statement_download, {"which": _which, "fmt": "pdf"},
             name=f"{_which}_pdf"),
    ]

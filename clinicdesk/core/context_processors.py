"""Navigation by role: each entry shows only to roles whose permissions open it."""

from django.urls import reverse

from .permissions import Perm

NAV = [
    ("Today", "home", Perm.DASHBOARD),
    ("Patients", "patients:list", Perm.PATIENT_VIEW),
    ("Calendar", "scheduling:calendar", Perm.SCHEDULE_VIEW),
    ("Flow board", "scheduling:flow_board", Perm.SCHEDULE_VIEW),
    ("Online requests", "scheduling:online_requests", Perm.ONLINE_REQUESTS),
    ("Calls", "scheduling:calls", Perm.CALLS),
    ("Waitlist", "scheduling:waitlist", Perm.WAITLIST),
    ("Recalls", "scheduling:recalls", Perm.RECALLS),
    ("Tasks", "communications:staff_tasks", Perm.STAFF_TASKS),
    ("Outbox", "communications:outbox", Perm.MESSAGES_VIEW),
    ("Letters", "communications:letter_list", Perm.LETTERS_WRITE),
    ("Campaigns", "communications:campaigns", Perm.CAMPAIGNS_MANAGE),
    ("Templates", "communications:template_list", Perm.TEMPLATES_MANAGE),
    ("Encounters", "billing:encounter_list", Perm.CHARGES_ENTER),
    ("Charge review", "billing:review_queue", Perm.CHARGES_REVIEW),
    ("Claims", "insurance:claim_queue", Perm.CLAIMS_VIEW),
    ("Payments", "billing:payments", Perm.BILLING_VIEW),
    ("Day close", "billing:day_close_list", Perm.DAY_CLOSE),
    ("Statements", "billing:statement_runs", Perm.STATEMENTS_RUN),
    ("Billing reports", "billing:reports", Perm.BILLING_REPORTS),
    ("Fee schedules", "billing:fee_schedule_list", Perm.FEES_MANAGE),
    ("Superbills", "billing:superbill_list", Perm.FEES_MANAGE),
    ("Payers", "insurance:payer_list", Perm.PAYERS_MANAGE),
    ("Payer rules", "insurance:payer_rule_list", Perm.PAYERS_MANAGE),
    ("Cost estimate", "insurance:cost_estimate", Perm.COVERAGE_VIEW),
    ("Underpayments", "insurance:underpayments", Perm.CLAIMS_VIEW),
    ("Payer contracts", "insurance:contract_list", Perm.CONTRACTS_VIEW),
    ("Payer scorecard", "insurance:scorecard", Perm.CONTRACTS_VIEW),
    ("Eligibility", "insurance:eligibility_day", Perm.COVERAGE_VIEW),
    ("Claim batches", "insurance:batch_list", Perm.CLAIMS_VIEW),
    ("Remittances", "insurance:remittance_list", Perm.REMITTANCES_POST),
    ("Finances", "ledger:index", Perm.LEDGER_VIEW),
    ("Goals", "goals:dashboard", Perm.GOALS_VIEW),
    ("Supplies", "inventory:item_list", Perm.INVENTORY_VIEW),
    ("Technology", "assets:list", Perm.ASSETS_VIEW),
    ("Audit log", "core:audit_log", Perm.AUDIT_VIEW),
    ("Users", "core:user_list", Perm.USERS_MANAGE),
    ("Sign-in rules", "core:organization_settings", Perm.PRACTICE_MANAGE),
    ("FHIR tokens", "fhir_tokens:list", Perm.PRACTICE_MANAGE),
    ("Rosters", "rostering:period_list", Perm.ROSTER_VIEW),
    ("My shifts", "rostering:my_shifts", Perm.ROSTER_REQUEST),
    ("Staff", "staff:list", Perm.STAFF_VIEW),
    ("Credentials", "staff:compliance", Perm.CREDENTIALS_MANAGE),
    ("Onboarding", "staff:onboarding_board", Perm.STAFF_VIEW),
    ("Training", "staff:training_compliance", Perm.TRAINING_MANAGE),
    ("My training", "staff:my_training", Perm.STAFF_SELF),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, code in NAV:
        if user.has_perm_code(code):
            url = reverse(name)
            items.append({"label": label, "url": url, "active": request.path.startswith(url) and url != "/"})
    return {
        "nav_items": items,
        "can_search_patients": user.has_perm_code(Perm.PATIENT_VIEW),
        "can_use_api_tokens": user.has_perm_code(Perm.API_TOKENS),
    }

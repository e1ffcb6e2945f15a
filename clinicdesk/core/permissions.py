"""What each role may do. Every view and API endpoint names one of these codes; anything else is denied."""

from .choices import Role


class Perm:
    """Permission codes, grouped by app."""

    PATIENT_VIEW = "patients.view"
    PATIENT_CREATE = "patients.create"
    PATIENT_CHANGE = "patients.change"
    PATIENT_MERGE = "patients.merge"
    PATIENT_EXPORT = "patients.export"
    DOCUMENT_VIEW = "documents.view"
    DOCUMENT_UPLOAD = "documents.upload"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    PRACTICE_MANAGE = "practice.manage"
    USERS_MANAGE = "users.manage"
    DASHBOARD = "dashboard.view"
    API_TOKENS = "api_tokens.manage"
    SCHEDULE_VIEW = "schedule.view"
    SCHEDULE_BOOK = "schedule.book"
    SCHEDULE_MANAGE = "schedule.manage"
    CALLS = "calls.manage"
    WAITLIST = "waitlist.manage"
    RECALLS = "recalls.manage"
    ONLINE_REQUESTS = "online_requests.manage"
    MESSAGES_VIEW = "messages.view"
    MESSAGES_SEND = "messages.send"
    TEMPLATES_MANAGE = "templates.manage"
    LETTERS_WRITE = "letters.write"
    CAMPAIGNS_MANAGE = "campaigns.manage"
    STAFF_TASKS = "staff_tasks.work"
    LEDGER_VIEW = "ledger.view"
    LEDGER_MANAGE = "ledger.manage"
    PERIODS_CLOSE = "periods.close"
    BUDGETS_MANAGE = "budgets.manage"
    BILLS_MANAGE = "bills.manage"
    BANK_RECONCILE = "bank.reconcile"
    BILLING_VIEW = "billing.view"
    CHARGES_ENTER = "charges.enter"
    CHARGES_REVIEW = "charges.review"
    PAYMENTS_TAKE = "payments.take"
    PAYMENTS_ADJUST = "payments.adjust"
    FEES_MANAGE = "fees.manage"
    STATEMENTS_RUN = "statements.run"
    DAY_CLOSE = "day_close.run"
    BILLING_REPORTS = "billing.reports"
    COVERAGE_VIEW = "coverage.view"
    COVERAGE_MANAGE = "coverage.manage"
    ELIGIBILITY_CHECK = "eligibility.check"
    CLAIMS_VIEW = "claims.view"
    CLAIMS_WORK = "claims.work"
    CLAIMS_SUBMIT = "claims.submit"
    REMITTANCES_POST = "remittances.post"
    PAYERS_MANAGE = "payers.manage"
    CONTRACTS_VIEW = "contracts.view"
    CONTRACTS_MANAGE = "contracts.manage"
    ROSTER_VIEW = "roster.view"
    ROSTER_MANAGE = "roster.manage"
    ROSTER_REQUEST = "roster.request"
    STAFF_VIEW = "staff.view"
    STAFF_MANAGE = "staff.manage"
    CREDENTIALS_MANAGE = "credentials.manage"
    TRAINING_MANAGE = "training.manage"
    STAFF_SELF = "staff.self"
    GOALS_VIEW = "goals.view"
    GOALS_MANAGE = "goals.manage"
    INVENTORY_VIEW = "inventory.view"
    INVENTORY_USE = "inventory.use"
    INVENTORY_MANAGE = "inventory.manage"
    ASSETS_VIEW = "assets.view"
    ASSETS_MANAGE = "assets.manage"


_EVERY_STAFF = {Perm.DASHBOARD, Perm.API_TOKENS}
# Every staff member sees their own record, credentials and training ("My training").
_EVERY_STAFF |= {Perm.STAFF_SELF}
# The people who hire: staff records, credentials, onboarding and training.
_PEOPLE = {Perm.STAFF_VIEW, Perm.STAFF_MANAGE, Perm.CREDENTIALS_MANAGE, Perm.TRAINING_MANAGE}
# Everyone who works with patients reads their messages, writes letters and shares the task inbox.
_TALK = {Perm.MESSAGES_VIEW, Perm.MESSAGES_SEND, Perm.LETTERS_WRITE, Perm.STAFF_TASKS}
_CHART = {Perm.PATIENT_VIEW, Perm.PATIENT_CREATE, Perm.PATIENT_CHANGE, Perm.DOCUMENT_VIEW, Perm.DOCUMENT_UPLOAD}
# The front desk's daily work: the schedule, the phone, the waitlist, recalls and online requests.
_DESK = {Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK, Perm.CALLS, Perm.WAITLIST, Perm.RECALLS, Perm.ONLINE_REQUESTS}
# The desk also looks up balances, takes payments (copays at check-in) and closes its cash drawer.
_DESK_MONEY = {Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE, Perm.DAY_CLOSE}
# The desk records insurance cards and checks eligibility before the visit.
_DESK_INSURANCE = {Perm.COVERAGE_VIEW, Perm.COVERAGE_MANAGE, Perm.ELIGIBILITY_CHECK}
# The biller's insurance work: claims, remittances, denials and payer setup; contracts are read by billers and
# changed by managers.
_INSURANCE = {
    Perm.COVERAGE_VIEW, Perm.COVERAGE_MANAGE, Perm.ELIGIBILITY_CHECK, Perm.CLAIMS_VIEW, Perm.CLAIMS_WORK,
    Perm.CLAIMS_SUBMIT, Perm.REMITTANCES_POST, Perm.PAYERS_MANAGE, Perm.CONTRACTS_VIEW,
}
# The biller's work: coding review, fee schedules, adjustments and refunds, statements and the reports.
_BILLING = {
    Perm.BILLING_VIEW, Perm.CHARGES_ENTER, Perm.CHARGES_REVIEW, Perm.PAYMENTS_TAKE, Perm.PAYMENTS_ADJUST,
    Perm.FEES_MANAGE, Perm.STATEMENTS_RUN, Perm.DAY_CLOSE, Perm.BILLING_REPORTS, Perm.LEDGER_VIEW,
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.FRONT_DESK: frozenset(_EVERY_STAFF | _CHART | _DESK | _TALK | _DESK_MONEY | _DESK_INSURANCE),
    # Clinicians code their own encounters; the biller reviews them before anything is billed.
    Role.CLINICIAN: frozenset(
        _EVERY_STAFF | _CHART | _TALK | {Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK, Perm.CALLS, Perm.CHARGES_ENTER}
    ),
    Role.NURSE: frozenset(_EVERY_STAFF | _CHART | _TALK | {Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK, Perm.CALLS, Perm.RECALLS}),
    Role.BILLER: frozenset(
        _EVERY_STAFF
        | _TALK
        | {Perm.PATIENT_VIEW, Perm.PATIENT_CHANGE, Perm.DOCUMENT_VIEW, Perm.DOCUMENT_UPLOAD, Perm.PATIENT_EXPORT}
        | {Perm.SCHEDULE_VIEW, Perm.CALLS}
        | _BILLING
        | _INSURANCE
    ),
    Role.OFFICE_MANAGER: frozenset(
        _EVERY_STAFF | _CHART | _DESK | _TALK
        | {Perm.PATIENT_MERGE, Perm.PATIENT_EXPORT, Perm.AUDIT_VIEW, Perm.USERS_MANAGE, Perm.SCHEDULE_MANAGE}
        | {Perm.TEMPLATES_MANAGE, Perm.CAMPAIGNS_MANAGE}
        | _BILLING
        | _INSURANCE
        | {Perm.CONTRACTS_MANAGE}
        | _PEOPLE
        | {Perm.PERIODS_CLOSE, Perm.BUDGETS_MANAGE, Perm.BILLS_MANAGE, Perm.BANK_RECONCILE}
    ),
    Role.ADMINISTRATOR: frozenset(
        _EVERY_STAFF
        | _CHART
        | _DESK
        | _TALK
        | {Perm.PATIENT_MERGE, Perm.PATIENT_EXPORT, Perm.AUDIT_VIEW, Perm.AUDIT_EXPORT, Perm.PRACTICE_MANAGE, Perm.USERS_MANAGE}
        | {Perm.SCHEDULE_MANAGE, Perm.TEMPLATES_MANAGE, Perm.CAMPAIGNS_MANAGE}
        | _BILLING
        | _INSURANCE
        | {Perm.LEDGER_MANAGE, Perm.CONTRACTS_MANAGE}
        | _PEOPLE
        | {Perm.PERIODS_CLOSE, Perm.BUDGETS_MANAGE, Perm.BILLS_MANAGE, Perm.BANK_RECONCILE}
    ),
    # The auditor reads the audit trail and nothing else.
    Role.AUDITOR: frozenset({Perm.DASHBOARD, Perm.AUDIT_VIEW, Perm.AUDIT_EXPORT}),
}

# Rosters: everyone who works shifts sees their own and asks for time off, give-aways and swaps; the office manager
# and the administrator build, solve and publish them.
_ROSTER_OWN = frozenset({Perm.ROSTER_REQUEST})
_ROSTER_MANAGE = frozenset({Perm.ROSTER_VIEW, Perm.ROSTER_MANAGE, Perm.ROSTER_REQUEST})
for _role in (Role.FRONT_DESK, Role.CLINICIAN, Role.NURSE, Role.BILLER):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _ROSTER_OWN
for _role in (Role.OFFICE_MANAGER, Role.ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _ROSTER_MANAGE

# Goals: every staff member reads the objectives of their own department (and edits those of a department they
# own); the office manager and the administrator see the practice-wide dashboard and edit every objective.
for _role in (Role.FRONT_DESK, Role.CLINICIAN, Role.NURSE, Role.BILLER):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.GOALS_VIEW}
for _role in (Role.OFFICE_MANAGER, Role.ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.GOALS_VIEW, Perm.GOALS_MANAGE}

# Supplies: everyone on staff but the auditor sees what is on the shelf; those who give care (and the managers)
# receive and use stock and search lot recalls; the office manager and the administrator set items up, adjust,
# count and write off.
for _role in (Role.FRONT_DESK, Role.BILLER):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.INVENTORY_VIEW}
for _role in (Role.CLINICIAN, Role.NURSE):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.INVENTORY_VIEW, Perm.INVENTORY_USE}
for _role in (Role.OFFICE_MANAGER, Role.ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.INVENTORY_VIEW, Perm.INVENTORY_USE, Perm.INVENTORY_MANAGE}

# Office technology: every staff member reads the whole register (it holds no patient data, and the person at the
# broken printer needs to find it) and reports a problem with a service ticket; the office manager and the
# administrator keep the register, work the tickets, record maintenance and see the alerts.
for _role in (Role.FRONT_DESK, Role.CLINICIAN, Role.NURSE, Role.BILLER):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.ASSETS_VIEW}
for _role in (Role.OFFICE_MANAGER, Role.ADMINISTRATOR):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Perm.ASSETS_VIEW, Perm.ASSETS_MANAGE}

ALL_PERMISSIONS: frozenset[str] = frozenset(code for codes in ROLE_PERMISSIONS.values() for code in codes)


def role_has(role: str, code: str) -> bool:
    return code in ROLE_PERMISSIONS.get(role, frozenset())


def roles_with(code: str) -> list[str]:
    return [role for role, codes in ROLE_PERMISSIONS.items() if code in codes]

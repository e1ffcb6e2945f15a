"""Kinds of accounts and entries in the practice's books: every one a choice, never a magic string."""

from django.db import models


class AccountType(models.TextChoices):
    """The five kinds of account; assets and expenses grow with debits, the others with credits."""

    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"


DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})


class AccountRole(models.TextChoices):
    """The job an account does for the services that post to it; services post by role, never by number,
    so a practice may number and name its chart as it likes. Each role is held by one account per organization."""

    CASH = "cash", "Cash on hand (cash drawers)"
    UNDEPOSITED_FUNDS = "undeposited_funds", "Undeposited funds (checks waiting for the bank)"
    CARD_CLEARING = "card_clearing", "Card clearing (card payments not yet paid out)"
    CARD_DIFFERENCES = "card_differences", "Card payout differences (to look into)"
    OPERATING_BANK = "operating_bank", "Operating bank account"
    PATIENT_RECEIVABLE = "patient_receivable", "Patient receivables"
    INSURANCE_RECEIVABLE = "insurance_receivable", "Insurance receivables"
    INVENTORY = "inventory", "Inventory"
    PATIENT_CREDIT = "patient_credit", "Patient credit balances (unapplied payments)"
    REFUNDS_PAYABLE = "refunds_payable", "Refunds payable"
    ACCOUNTS_PAYABLE = "accounts_payable", "Accounts payable"
    RETAINED_EARNINGS = "retained_earnings", "Retained earnings"
    SERVICE_REVENUE = "service_revenue", "Patient service revenue"
    CONTRACTUAL_ADJUSTMENT = "contractual_adjustment", "Contractual adjustments"
    ADMINISTRATIVE_ADJUSTMENT = "administrative_adjustment", "Administrative adjustments (discounts, small balances)"
    BAD_DEBT = "bad_debt", "Bad debt"
    CARD_FEES = "card_fees", "Card processing fees"
    SUPPLIES_EXPENSE = "supplies_expense", "Medical supplies expense"


class EntryKind(models.TextChoices):
    """What an entry records; reports and the journal filter by it."""

    CHARGE = "charge", "Charge"
    PAYMENT = "payment", "Payment"
    ADJUSTMENT = "adjustment", "Adjustment"
    REFUND = "refund", "Refund"
    TRANSFER = "transfer", "Transfer"
    WRITE_OFF = "write_off", "Write-off"
    DEPOSIT = "deposit", "Deposit"
    REVERSAL = "reversal", "Reversal"
    MANUAL = "manual", "Manual entry"
    OPENING = "opening", "Opening balance"
    BANK_ITEM = "bank_item", "Bank item (fee, interest)"
    INVENTORY = "inventory", "Inventory (stock received, used, counted)"


class PartyKind(models.TextChoices):
    """Who is expected to pay an open item."""

    PATIENT = "patient", "Patient (guarantor)"
    INSURANCE = "insurance", "Insurance"


class StatementFormat(models.TextChoices):
    """Where an imported bank statement came from."""

    CSV = "csv", "CSV"
    OFX = "ofx", "OFX / QFX"
    API = "api", "REST API"


class Frequency(models.TextChoices):
    """How often a recurring bill comes."""

    MONTHLY = "monthly", "Every month"
    QUARTERLY = "quarterly", "Every quarter"
    YEARLY = "yearly", "Every year"


FREQUENCY_MONTHS = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.YEARLY: 12}

"""The ledger's models: the books (accounts, entries, periods, budgets, bills) and the bank (accounts, imported
statements, matches, reconciliations, recurring bills)."""

from .bank import (
    BankAccount,
    BankMatch,
    ClearedLine,
    Reconciliation,
    RecurringBill,
    StatementImport,
    StatementLine,
)
from .books import (
    MONEY,
    Account,
    AccountRole,
    AccountType,
    Bill,
    Budget,
    BudgetAlert,
    EntryKind,
    FiscalPeriod,
    JournalEntry,
    JournalLine,
    OpenItem,
    PartyKind,
    Vendor,
    receipt_path,
)

__all__ = [
    "MONEY", "Account", "AccountRole", "AccountType", "BankAccount", "BankMatch", "Bill", "Budget", "BudgetAlert",
    "ClearedLine", "EntryKind", "FiscalPeriod", "JournalEntry", "JournalLine", "OpenItem", "PartyKind",
    "Reconciliation", "RecurringBill", "StatementImport", "StatementLine", "Vendor", "receipt_path",
]

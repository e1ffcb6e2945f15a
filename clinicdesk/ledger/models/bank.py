"""The practice's bank: its accounts, the statements imported from the bank, the matches between statement lines
and ledger lines, the reconciliations that lock them, and the recurring vendor bills paid from it.

Ledger lines are sealed once posted (see migrations 0002), so whether a line has cleared the bank is recorded
beside it (`ClearedLine`), never on it."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Department, Organization

from ..choices import Frequency, StatementFormat
from .books import MONEY, Account, JournalLine, Vendor


class BankAccount(models.Model):
    """One of the practice's bank accounts (operating, payroll...): what the bank calls it, the last four digits of
    its number (never the whole number) and the ledger account it books to. `csv_mapping` remembers the columns
    of the bank's CSV statements, chosen on the first import."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    institution = models.CharField(max_length=120, help_text="The bank, e.g. First Valley Bank.")
    last4 = models.CharField("last four digits", max_length=4, help_text="Only the last four digits of the number.")
    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="bank_account",
                                   help_text="The ledger account the bank's money is booked to.")
    currency = models.CharField(max_length=3, default="USD", choices=[("USD", "US dollar")])
    is_active = models.BooleanField(default=True)
    csv_mapping = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="ledger_bank_name_unique"),
            models.CheckConstraint(condition=models.Q(currency="USD"), name="ledger_bank_currency_usd"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.institution} ···{self.last4})"

    def clean(self) -> None:
        if not (len(self.last4) == 4 and self.last4.isdigit()):
            raise ValidationError({"last4": "Give the last four digits of the account number (four digits)."})
        if self.account_id and self.account.organization_id != self.organization_id:
            raise ValidationError({"account": "This account belongs to another practice."})


class StatementImport(models.Model):
    """One statement file (or API call) imported for a bank account: who, when, how many lines were new."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.CASCADE, related_name="imports")
    file_name = models.CharField(max_length=200, blank=True)
    file_format = models.CharField(max_length=5, choices=StatementFormat.choices)
    lines_added = models.PositiveIntegerField(default=0)
    lines_skipped = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name or self.get_file_format_display()} ({self.lines_added} lines)"


class StatementLine(models.Model):
    """One line of a bank statement: money in is positive, money out negative, as the bank saw it. `fitid` is
    the bank's own id for the transaction (OFX), which makes a second import of it a duplicate."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.CASCADE, related_name="statement_lines")
    statement_import = models.ForeignKey(StatementImport, on_delete=models.CASCADE, related_name="lines")
    posted_on = models.DateField()
    description = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)
    reference = models.CharField(max_length=60, blank=True, help_text="A check number or the bank's reference.")
    fitid = models.CharField(max_length=255, blank=True)
    reconciliation = models.ForeignKey("ledger.Reconciliation", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="statement_lines")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["posted_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "fitid"], condition=~models.Q(fitid=""),
                                    name="ledger_statement_fitid_once"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_statement_amount_not_zero"),
        ]
        indexes = [models.Index(fields=["bank_account", "posted_on"], name="ledger_statement_account_day")]

    def __str__(self) -> str:
        return f"{self.posted_on:%m/%d/%Y} {self.description} {self.amount}"


class BankMatch(models.Model):
    """A statement line matched to a ledger line on the bank's account; a statement line may take several ledger
    lines (a deposit of several entries), a ledger line matches one statement line at most."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    statement_line = models.ForeignKey(StatementLine, on_delete=models.CASCADE, related_name="matches")
    journal_line = models.OneToOneField(JournalLine, on_delete=models.PROTECT, related_name="bank_match")
    is_auto = models.BooleanField(default=False)
    matched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["statement_line", "id"]

    def __str__(self) -> str:
        return f"Statement line {self.statement_line_id} = ledger line {self.journal_line_id}"


class Reconciliation(models.Model):
    """A bank account reconciled to a statement's end date and ending balance: the cleared balance (beginning
    balance plus what cleared) equalled the statement's. Finished, it locks its statement lines and marks the
    ledger lines it cleared; only the last one may be undone, by a manager."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="reconciliations")
    statement_end_date = models.DateField()
    beginning_balance = models.DecimalField(**MONEY)
    ending_balance = models.DecimalField(**MONEY)
    cleared_total = models.DecimalField(**MONEY, help_text="Deposits less payments that cleared.")
    finished_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    finished_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bank_account", "-statement_end_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "statement_end_date"],
                                    condition=models.Q(undone_at__isnull=True), name="ledger_reconciliation_once"),
            models.CheckConstraint(
                condition=models.Q(ending_balance=models.F("beginning_balance") + models.F("cleared_total")),
                name="ledger_reconciliation_balances"),
        ]

    def __str__(self) -> str:
        return f"{self.bank_account.name} to {self.statement_end_date:%m/%d/%Y}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class ClearedLine(models.Model):
    """A ledger line on a bank account that a reconciliation cleared (the bank has it)."""

    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.CASCADE, related_name="cleared_lines")
    journal_line = models.OneToOneField(JournalLine, on_delete=models.PROTECT, related_name="cleared")

    class Meta:
        ordering = ["reconciliation", "journal_line"]

    def __str__(self) -> str:
        return f"Line {self.journal_line_id} cleared by reconciliation {self.reconciliation_id}"


class RecurringBill(models.Model):
    """A vendor bill that comes every month, quarter or year on a day (rent, software, a service contract):
    a daily task enters the bill when its day comes, from `start_date` until `end_date`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="recurring_bills")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    memo = models.CharField(max_length=200, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY)
    day_of_month = models.PositiveSmallIntegerField(help_text="1 to 31; a shorter month uses its last day.")
    terms_days = models.PositiveSmallIntegerField(default=15, help_text="Days from the bill's date to its due date.")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    next_date = models.DateField(help_text="The date of the next bill to enter.")
    is_active = models.BooleanField(default=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "next_date", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_recurring_amount_positive"),
            models.CheckConstraint(condition=models.Q(day_of_month__gte=1, day_of_month__lte=31),
                                   name="ledger_recurring_day_in_month"),
            models.CheckConstraint(condition=models.Q(end_date__isnull=True)
                                   | models.Q(end_date__gte=models.F("start_date")), name="ledger_recurring_end_after"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.get_frequency_display().lower()} {self.amount}"

"""The practice's books: a chart of accounts, journal entries that always balance, and open receivable items.

Every amount that changes what someone owes is a `JournalEntry` posted by a service in `services.py`.
An entry is written in one go: its lines are inserted while it is unposted, then one update stamps
`posted_at`; the database checks at that moment that the lines sum to zero, and from then on refuses
any change to the entry or its lines (triggers in the migrations). Corrections are reversals.

Amounts on lines are signed: a debit is positive, a credit negative, so an entry balances when its
lines sum to zero and any balance is one SUM.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Department, Organization

from ..choices import DEBIT_NORMAL, AccountRole, AccountType, EntryKind, PartyKind

MONEY = {"max_digits": 14, "decimal_places": 2}


class Account(models.Model):
    """One account in an organization's chart of accounts. Services find accounts by `role`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="ledger_accounts")
    code = models.CharField(max_length=20, help_text="The account number, e.g. 1200.")
    name = models.CharField(max_length=120)
    account_type = models.CharField(max_length=10, choices=AccountType.choices)
    role = models.CharField(max_length=30, choices=AccountRole.choices, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="ledger_account_code_unique"),
            models.UniqueConstraint(
                fields=["organization", "role"], condition=~models.Q(role=""), name="ledger_account_role_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self) -> bool:
        return self.account_type in DEBIT_NORMAL


class OpenItem(models.Model):
    """Something owed to the practice that payments and adjustments settle: a billed service owed by the
    patient, or by an insurer. Its balance is the sum of the ledger lines that name it; aging counts from
    `service_date`. Billing and insurance create items; the ledger only adds them up."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="open_items")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="open_items")
    party_kind = models.CharField(max_length=10, choices=PartyKind.choices, default=PartyKind.PATIENT)
    party_label = models.CharField(max_length=120, blank=True, help_text="The payer's name for insurance items.")
    service_date = models.DateField()
    description = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service_date", "id"]
        indexes = [models.Index(fields=["organization", "patient"], name="ledger_item_org_patient")]

    def __str__(self) -> str:
        return f"{self.service_date:%m/%d/%Y} {self.description}"


class JournalEntry(models.Model):
    """One balanced transaction. `reference` makes a posting idempotent: a service that posts the same
    reference twice gets the first entry back. Posted entries are never edited; `reverses` links a reversal."""

    # (organization, entry_date) and (organization, reference) lead with it: no index of its own.
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="journal_entries",
                                     db_index=False)
    entry_date = models.DateField(help_text="The accounting date.")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    memo = models.CharField(max_length=300, blank=True)
    reference = models.CharField(max_length=120, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    total = models.DecimalField(**MONEY, default=0, help_text="The sum of the debits.")
    line_count = models.PositiveSmallIntegerField(default=0)
    posted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-entry_date", "-id"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], condition=~models.Q(reference=""), name="ledger_entry_reference_unique"
            ),
            models.CheckConstraint(condition=models.Q(total__gte=0), name="ledger_entry_total_not_negative"),
        ]
        indexes = [models.Index(fields=["organization", "entry_date"], name="ledger_entry_org_date")]

    def __str__(self) -> str:
        return f"JE {self.pk} {self.entry_date} {self.get_kind_display()}"


class JournalLine(models.Model):
    """One debit (positive) or credit (negative) in an entry, tagged with what reports group by."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    # Indexed by (organization, account, entry_date) and (patient, account): no index of their own.
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    amount = models.DecimalField(**MONEY)
    entry_date = models.DateField(help_text="The entry's date, kept on the line so that balances as of a date are one scan.")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    item = models.ForeignKey(OpenItem, null=True, blank=True, on_delete=models.PROTECT, related_name="lines")
    memo = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["entry", "id"]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_line_amount_not_zero")]
        indexes = [
            models.Index(fields=["organization", "account", "entry_date"], name="ledger_line_org_account_date"),
            models.Index(fields=["patient", "account"], name="ledger_line_patient_account"),
            # A patient's unapplied credit and any receivable line that names no item: A/R aging reads these by
            # account without touching the (many) item lines on the same accounts.
            models.Index(
                fields=["organization", "account", "entry_date"],
                condition=models.Q(item__isnull=True, patient__isnull=False), name="ledger_line_patient_no_item",
            ),
        ]

    def __str__(self) -> str:
        side = "Dr" if self.amount > 0 else "Cr"
        return f"{side} {self.account} {abs(self.amount)}"

    def clean(self) -> None:
        if self.item_id and self.patient_id and self.item.patient_id != self.patient_id:
            raise ValidationError({"item": "This open item belongs to another patient."})


class FiscalPeriod(models.Model):
    """A month of the books that someone closed: no entry may be dated in it while it is closed. A month with no
    row (or whose row was reopened) is open. Reopening needs a reason; both acts are audited. The database refuses
    entries dated in a closed month too (migration 0006)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month.")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    reopen_reason = models.CharField(max_length=300, blank=True, help_text="Why the month was last reopened.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="ledger_period_month_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%B %Y} ({'closed' if self.is_closed else 'open'})"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class Budget(models.Model):
    """What a department plans to spend (or earn) on one account in one month; the grid and the importer write
    these, and budget against actual compares them with the ledger's lines."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="budgets")
    month = models.DateField(help_text="The first day of the month.")
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "department", "account", "month"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "department", "account", "month"],
                                    name="ledger_budget_cell_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="ledger_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%b %Y} {self.account_id}: {self.amount}"


class BudgetAlert(models.Model):
    """A department's spending passed a share of its month's expense budget; recorded once per threshold per
    month, so the daily check tells the department's owner once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the month's expense budget.")
    budget = models.DecimalField(**MONEY)
    actual = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "department", "threshold"]
        constraints = [models.UniqueConstraint(fields=["organization", "department", "month", "threshold"],
                                               name="ledger_budget_alert_once")]

    def __str__(self) -> str:
        return f"{self.month:%b %Y} department {self.department_id} past {self.threshold}%"


class Vendor(models.Model):
    """Someone the practice buys from: supplies, rent, software, services; purchase orders go to its e-mail address
    unless an order names another."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True, help_text="Where purchase orders are e-mailed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="ledger_vendor_name_unique")]

    def __str__(self) -> str:
        return self.name


def receipt_path(bill: "Bill", filename: str) -> str:
    return f"receipts/{bill.organization_id}/{bill.vendor_id}/{filename}"


class Bill(models.Model):
    """A vendor's bill: entered, it posts the expense against accounts payable; paid, it posts the payment from the
    bank. The receipt (PDF or image) is kept with it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="bills")
    number = models.CharField(max_length=60, blank=True, help_text="The vendor's invoice number.")
    bill_date = models.DateField()
    due_date = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    memo = models.CharField(max_length=200, blank=True)
    receipt = models.FileField(upload_to=receipt_path, max_length=200, blank=True)
    receipt_type = models.CharField(max_length=40, blank=True)
    entry = models.OneToOneField(JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    paid_on = models.DateField(null=True, blank=True)
    payment_entry = models.OneToOneField(JournalEntry, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")
    recurring = models.ForeignKey("ledger.RecurringBill", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="bills", help_text="The recurring bill that made this one.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_bill_amount_positive"),
            models.CheckConstraint(condition=models.Q(due_date__gte=models.F("bill_date")), name="ledger_bill_due_after"),
            models.UniqueConstraint(fields=["recurring", "bill_date"], condition=models.Q(recurring__isnull=False),
                                    name="ledger_bill_recurring_once"),
        ]
        indexes = [models.Index(fields=["organization", "paid_on", "due_date"], name="ledger_bill_org_due")]

    def __str__(self) -> str:
        return f"{self.vendor} {self.number or self.bill_date}"


__all__ = ["Account", "Bill", "Budget", "BudgetAlert", "Vendor", "AccountRole", "AccountType", "EntryKind", "FiscalPeriod", "JournalEntry", "JournalLine", "OpenItem", "PartyKind"]

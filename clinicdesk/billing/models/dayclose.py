"""Day close: each location's cash drawer, the business day counted and closed on it, and the bank deposit that
closing makes. Amounts here are the count and the figures the count was checked against; the money itself moves
in the ledger (the deposit's entry)."""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Location, Organization

from ..choices import CASH_DENOMINATIONS, DayCloseStatus, DepositStatus, PaymentMethod

MONEY = {"max_digits": 14, "decimal_places": 2}


def new_day_close_public_id() -> str:
    return "dc_" + secrets.token_urlsafe(9)


def new_deposit_public_id() -> str:
    return "dep_" + secrets.token_urlsafe(9)


def denominations_total(denominations: dict) -> Decimal:
    """The cash a count of bills and coins adds up to: {"20": 3, "0.25": 4} -> 61.00."""
    total = Decimal("0")
    for face, count in (denominations or {}).items():
        total += Decimal(face) * int(count)
    return total.quantize(Decimal("0.01"))


class CashDrawer(models.Model):
    """The front desk's cash drawer at one location, with the float it starts every day with. Payments name their
    location, so a location has one drawer."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    location = models.OneToOneField(Location, on_delete=models.PROTECT, related_name="cash_drawer")
    name = models.CharField(max_length=80, default="Front desk")
    opening_float = models.DecimalField(**MONEY, default=Decimal("0.00"),
                                        help_text="Cash left in the drawer each night for the next day's change.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "location__name"]
        constraints = [models.CheckConstraint(condition=models.Q(opening_float__gte=0), name="billing_drawer_float_not_negative")]

    def __str__(self) -> str:
        return f"{self.location.name} · {self.name}"

    def clean(self) -> None:
        if self.location_id and self.organization_id and self.location.organization_id != self.organization_id:
            raise ValidationError({"location": "The location belongs to another organization."})


class DayClose(models.Model):
    """One business day of one drawer: what the books expect (float + cash payments − cash refunds), what was
    counted, the difference (over/short, with a reason), and the checks counted against the checks taken.
    A closed or approved day is locked: its payments cannot be voided until an office manager reopens it."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=20, unique=True, default=new_day_close_public_id, editable=False)
    drawer = models.ForeignKey(CashDrawer, on_delete=models.PROTECT, related_name="days")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField()
    status = models.CharField(max_length=10, choices=DayCloseStatus.choices, default=DayCloseStatus.OPEN)
    opening_float = models.DecimalField(**MONEY, default=Decimal("0.00"))
    cash_payments = models.DecimalField(**MONEY, default=Decimal("0.00"))
    cash_refunds = models.DecimalField(**MONEY, default=Decimal("0.00"))
    expected_cash = models.DecimalField(**MONEY, default=Decimal("0.00"))
    denominations = models.JSONField(default=dict, blank=True, help_text='Bills and coins counted: {"20": 3, "0.25": 4}.')
    counted_cash = models.DecimalField(**MONEY, default=Decimal("0.00"))
    over_short = models.DecimalField(**MONEY, default=Decimal("0.00"), help_text="Counted less expected: over is positive.")
    over_short_reason = models.CharField(max_length=300, blank=True)
    checks_expected = models.DecimalField(**MONEY, default=Decimal("0.00"))
    checks_counted = models.DecimalField(**MONEY, default=Decimal("0.00"))
    missing_checks_reason = models.CharField(max_length=300, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.CharField(max_length=300, blank=True)
    reopened_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-business_date", "location__name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "business_date"], name="billing_dayclose_location_date_unique"),
            models.CheckConstraint(
                condition=models.Q(over_short=0) | ~models.Q(over_short_reason="") | models.Q(status=DayCloseStatus.OPEN),
                name="billing_dayclose_over_short_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["organization", "business_date"], name="billing_dayclose_org_date")]

    def __str__(self) -> str:
        return f"{self.location.name} {self.business_date:%m/%d/%Y} ({self.get_status_display()})"

    @property
    def is_locked(self) -> bool:
        return self.status != DayCloseStatus.OPEN

    @property
    def needs_approval(self) -> bool:
        return self.status == DayCloseStatus.CLOSED and self.over_short != 0


class Deposit(models.Model):
    """The bank deposit slip a closed day makes: the cash counted (less the float kept in the drawer) and each check
    in hand. Its entry moves the money from cash on hand and undeposited funds to the operating bank account."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=20, unique=True, default=new_deposit_public_id, editable=False)
    day_close = models.ForeignKey(DayClose, on_delete=models.PROTECT, related_name="deposits")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    deposit_date = models.DateField()
    status = models.CharField(max_length=8, choices=DepositStatus.choices, default=DepositStatus.POSTED)
    currency_amount = models.DecimalField(**MONEY, help_text="Bills and coins deposited.")
    checks_amount = models.DecimalField(**MONEY)
    check_count = models.PositiveIntegerField(default=0)
    total = models.DecimalField(**MONEY)
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    void_entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-deposit_date", "-id"]

    def __str__(self) -> str:
        return f"Deposit {self.deposit_date:%m/%d/%Y} {self.total}"


class DepositLine(models.Model):
    """One payment on a deposit slip: each check by number, and each cash payment the currency total is made of."""

    deposit = models.ForeignKey(Deposit, on_delete=models.CASCADE, related_name="lines")
    payment = models.ForeignKey("billing.Payment", on_delete=models.PROTECT, related_name="deposit_lines")
    method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    amount = models.DecimalField(**MONEY)
    check_number = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["deposit", "method", "id"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount}"


__all__ = ["CASH_DENOMINATIONS", "CashDrawer", "DayClose", "Deposit", "DepositLine", "denominations_total"]

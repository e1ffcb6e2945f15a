"""Money in and out of patient accounts: payments, adjustments, refunds and transfers. Each row records the act
and points at the journal entry that carries its amounts; balances come from the ledger, never from here."""

import secrets

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Location, Organization

from ..choices import AdjustmentKind, PaymentMethod, PaymentStatus, RefundMethod, RefundStatus
from .accounts import PatientAccount

MONEY = {"max_digits": 14, "decimal_places": 2}


def new_payment_public_id() -> str:
    return "pay_" + secrets.token_urlsafe(9)


class Payment(models.Model):
    """Money a patient or guarantor paid. `idempotency_key` makes a post safe to retry: the same key replays the
    first answer, the same key with another request (`request_fingerprint`) is refused."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=20, unique=True, default=new_payment_public_id, editable=False)
    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="payments")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="The patient whose visit it pays for, when there is one.")
    method = models.CharField(max_length=8, choices=PaymentMethod.choices)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.POSTED)
    amount = models.DecimalField(**MONEY)
    received_on = models.DateField()
    check_number = models.CharField(max_length=20, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    processor_id = models.CharField(max_length=80, blank=True, help_text="The card processor's payment id.")
    payment_method_id = models.CharField(max_length=80, blank=True,
                                         help_text="The processor's id of the card charged (never its number).")
    decline_reason = models.CharField(max_length=200, blank=True)
    decline_code = models.CharField(max_length=60, blank=True, help_text="The processor's decline code.")
    is_copay = models.BooleanField(default=False)
    appointment = models.ForeignKey("scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    memo = models.CharField(max_length=200, blank=True)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64)
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    void_entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    voided_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "idempotency_key"], name="billing_payment_key_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="billing_payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["organization", "received_on"], name="billing_payment_org_date")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} on {self.received_on:%m/%d/%Y}"


class Adjustment(models.Model):
    """A part of a charge the practice will not collect, with the reason; posted against one open item."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey("ledger.OpenItem", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=15, choices=AdjustmentKind.choices)
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=200)
    entry = models.ForeignKey("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="billing_adjustment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class Refund(models.Model):
    """Money paid back out of a patient's credit balance: in cash, by check, or back to the card it came from."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds",
                                help_text="The card payment refunded, for refunds to a card.")
    method = models.CharField(max_length=6, choices=RefundMethod.choices)
    status = models.CharField(max_length=8, choices=RefundStatus.choices)
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=200)
    processor_id = models.CharField(max_length=80, blank=True)
    idempotency_key = models.CharField(max_length=100)
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Day close: the drawer a cash refund was paid from.
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 help_text="Where a cash refund left the drawer.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="billing_refund_amount_positive"),
            models.UniqueConstraint(fields=["organization", "idempotency_key"], name="billing_refund_key_unique"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} ({self.get_method_display()})"


class BalanceTransfer(models.Model):
    """Money moved without changing what is owed in total: a credit applied to charges, or a balance moved
    between insurance and patient responsibility."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=200)
    entry = models.ForeignKey("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="billing_transfer_amount_positive")]

    def __str__(self) -> str:
        return f"Transfer {self.amount}: {self.reason}"

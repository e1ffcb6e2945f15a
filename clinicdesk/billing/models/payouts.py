"""Card payouts: what the card processor paid into the bank for a settlement day, line by line (each captured
charge and refund with its fee), matched to our card payments and refunds. Amounts here are the processor's
figures as reported; the books change only through the one journal entry a reconciled payout posts."""

import secrets

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Organization

from ..choices import CardPayoutStatus, PayoutLineKind, PayoutLineMatch

MONEY = {"max_digits": 14, "decimal_places": 2}


def new_payout_public_id() -> str:
    return "cpo_" + secrets.token_urlsafe(9)


class CardPayout(models.Model):
    """One processor payout: net = charges − refunds − fees. Posted (Dr bank, Dr card fees, Cr card clearing) once
    every line matches, or once a manager accepts its exceptions."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=20, unique=True, default=new_payout_public_id, editable=False)
    processor_payout_id = models.CharField(max_length=40)
    arrival_date = models.DateField(help_text="The day the money reaches the bank.")
    settlement_date = models.DateField(null=True, blank=True, help_text="The processor's day the payout groups.")
    gross = models.DecimalField(**MONEY, help_text="Captured charges.")
    refunds = models.DecimalField(**MONEY, help_text="Refunds given back (a positive number).")
    fees = models.DecimalField(**MONEY)
    net = models.DecimalField(**MONEY, help_text="What the bank receives.")
    difference = models.DecimalField(
        max_digits=14, decimal_places=2, default=0,
        help_text="On an accepted payout, what the processor's figures differ from our payments and refunds (booked "
                  "to card payout differences, so card clearing stays exact).")
    status = models.CharField(max_length=12, choices=CardPayoutStatus.choices, default=CardPayoutStatus.EXCEPTIONS)
    exception_count = models.PositiveIntegerField(default=0)
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    accept_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrival_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "processor_payout_id"], name="billing_payout_once"),
            models.CheckConstraint(condition=models.Q(gross__gte=0, refunds__gte=0, fees__gte=0),
                                   name="billing_payout_parts_not_negative"),
        ]
        indexes = [models.Index(fields=["organization", "status", "arrival_date"], name="billing_payout_org_status")]

    def __str__(self) -> str:
        return f"Payout {self.processor_payout_id} {self.net} on {self.arrival_date:%m/%d/%Y}"

    @property
    def is_posted(self) -> bool:
        return self.entry_id is not None


class CardPayoutLine(models.Model):
    """One balance transaction of a payout (a charge, a refund or anything else the processor booked), what it
    matched among our card payments and refunds, and if nothing, why."""

    payout = models.ForeignKey(CardPayout, on_delete=models.CASCADE, related_name="lines")
    processor_txn_id = models.CharField(max_length=40)
    kind = models.CharField(max_length=12, choices=PayoutLineKind.choices)
    source_id = models.CharField(max_length=40, blank=True, help_text="The processor's charge or refund id.")
    payment_intent_id = models.CharField(max_length=40, blank=True)
    amount = models.DecimalField(**MONEY, help_text="Signed: a refund is negative.")
    fee = models.DecimalField(**MONEY)
    net = models.DecimalField(**MONEY)
    booked_on = models.DateField()
    match = models.CharField(max_length=16, choices=PayoutLineMatch.choices)
    reason = models.CharField(max_length=300, blank=True)
    payment = models.ForeignKey("billing.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="payout_lines")
    refund = models.ForeignKey("billing.Refund", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="payout_lines")

    class Meta:
        ordering = ["payout", "booked_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["payout", "processor_txn_id"], name="billing_payout_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.get_match_display()})"

    @property
    def is_exception(self) -> bool:
        return self.match != PayoutLineMatch.MATCHED

"""What the local card processor holds: cards (never the number or CVC), payment intents, refunds, the first
answer given to each idempotency key, and the webhook events it owes us. Amounts are integer cents, as in the
processor's API."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from ..cards import CaptureMethod, CardIntentStatus, CardRefundStatus


class TestCardOutcome(models.TextChoices):
    """What Stripe's documented test card numbers do when a payment is confirmed with them."""

    SUCCEEDS = "succeeds", "Succeeds"
    GENERIC_DECLINE = "generic_decline", "Declined (generic)"
    INSUFFICIENT_FUNDS = "insufficient_funds", "Declined (insufficient funds)"
    EXPIRED_CARD = "expired_card", "Declined (expired card)"
    INCORRECT_CVC = "incorrect_cvc", "Declined (incorrect CVC)"


class ProcessorPaymentMethod(models.Model):
    """A card given to the processor. Only brand, last 4, expiry and a keyed hash of the number (Stripe's
    `fingerprint`: the same card gives the same value) are kept; the test outcome is decided when the card is
    given, so the number is never needed again."""

    pm_id = models.CharField(max_length=40, unique=True)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    funding = models.CharField(max_length=10, default="credit")
    fingerprint = models.CharField(max_length=32)
    outcome = models.CharField(max_length=20, choices=TestCardOutcome.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.pm_id} {self.brand} •••• {self.last4}"


class ProcessorPaymentIntent(models.Model):
    """A payment intent: authorised (requires_capture), captured (succeeded), declined (requires_payment_method)
    or cancelled. Captured and refunded amounts never pass what was captured and authorised."""

    pi_id = models.CharField(max_length=40, unique=True)
    client_secret = models.CharField(max_length=80)
    amount = models.PositiveBigIntegerField()
    amount_capturable = models.PositiveBigIntegerField(default=0)
    amount_received = models.PositiveBigIntegerField(default=0)
    amount_refunded = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    capture_method = models.CharField(max_length=10, choices=CaptureMethod.choices, default=CaptureMethod.AUTOMATIC)
    status = models.CharField(max_length=30, choices=CardIntentStatus.choices)
    payment_method = models.ForeignKey(ProcessorPaymentMethod, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="intents")
    charge_id = models.CharField(max_length=40, blank=True)
    description = models.CharField(max_length=1000, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    last_payment_error = models.JSONField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=40, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_received__lte=F("amount")), name="processor_pi_received_lte_amount"),
            models.CheckConstraint(condition=Q(amount_capturable__lte=F("amount")),
                                   name="processor_pi_capturable_lte_amount"),
            models.CheckConstraint(condition=Q(amount_refunded__lte=F("amount_received")),
                                   name="processor_pi_refunded_lte_received"),
        ]

    def __str__(self) -> str:
        return f"{self.pi_id} {self.amount} {self.status}"


class ProcessorRefund(models.Model):
    """Money given back from a captured payment intent."""

    re_id = models.CharField(max_length=40, unique=True)
    payment_intent = models.ForeignKey(ProcessorPaymentIntent, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveBigIntegerField()
    status = models.CharField(max_length=20, choices=CardRefundStatus.choices, default=CardRefundStatus.SUCCEEDED)
    reason = models.CharField(max_length=40, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="processor_refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.re_id} {self.amount}"


class ProcessorIdempotencyKey(models.Model):
    """The first answer given to an idempotency key, replayed for the same request and refused (400) for a
    different one. The key is unique: two requests racing with one key make one object (the second waits for
    the first's transaction and then replays its answer)."""

    key = models.CharField(max_length=255, unique=True)
    request_fingerprint = models.CharField(max_length=64, help_text="HMAC-SHA256 of method, path and parameters.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.key


class ProcessorEvent(models.Model):
    """A webhook event the processor owes us: posted after its transaction commits and retried until our
    endpoint answers 2xx (or the attempts run out)."""

    evt_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0: our endpoint was unreachable.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["delivered_at", "next_attempt_at"], name="processor_event_due_idx")]

    def __str__(self) -> str:
        return f"{self.evt_id} {self.event_type}"


class ProcessorPayout(models.Model):
    """Money sent to the practice's bank: the net of the balance transactions of one settlement day (captured
    charges less refunds and fees). The local processor pays at once, so a payout is made `paid`."""

    po_id = models.CharField(max_length=40, unique=True)
    amount = models.BigIntegerField(help_text="Net cents paid to the bank.")
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=20, default="paid")
    settlement_date = models.DateField(unique=True)
    arrival_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.po_id} {self.amount}"


class ProcessorBalanceTransaction(models.Model):
    """One movement of the processor balance (Stripe's balance transaction): a captured charge (amount, fee,
    net), a refund (negative, no fee back), or a payout (negative net of what it pays out)."""

    txn_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=20)
    amount = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    net = models.BigIntegerField()
    source_id = models.CharField(max_length=40, help_text="The charge, refund or payout it is about.")
    payment_intent = models.ForeignKey(ProcessorPaymentIntent, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    refund = models.ForeignKey(ProcessorRefund, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payout = models.ForeignKey(ProcessorPayout, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="transactions", help_text="The payout that paid it out.")
    settlement_date = models.DateField(help_text="The processor's day (UTC) the movement belongs to.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["payout", "settlement_date"], name="processor_txn_payout_idx")]

    def __str__(self) -> str:
        return f"{self.txn_id} {self.type} {self.amount}"

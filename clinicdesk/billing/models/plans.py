"""Payment plans: a balance paid off in installments on a schedule. The plan is only a schedule; the money is
the account's payments, matched to installments in due order by the plan selector."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Organization

from ..choices import AutopayAttemptStatus, PlanFrequency, PlanStatus
from .accounts import PatientAccount

MONEY = {"max_digits": 14, "decimal_places": 2}


class PaymentPlan(models.Model):
    """An agreement to pay `total` in installments of `installment_amount` (the last one takes the rounding),
    monthly or every two weeks from `start_date`. `autopay_payment_method_id` is the processor's id of a card the
    patient agreed to have charged; the card itself is never stored here."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="payment_plans")
    total = models.DecimalField(**MONEY)
    installment_amount = models.DecimalField(**MONEY)
    frequency = models.CharField(max_length=10, choices=PlanFrequency.choices, default=PlanFrequency.MONTHLY)
    start_date = models.DateField(help_text="The first installment is due on this day.")
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    autopay_payment_method_id = models.CharField(max_length=80, blank=True)
    autopay_enabled = models.BooleanField(default=True, help_text="Charge the stored card on each due date.")
    # What the processor says of the stored card, to show it: never its number.
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.CharField(max_length=300, blank=True)
    missed_count = models.PositiveSmallIntegerField(default=0, help_text="Installments flagged as missed so far.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gt=0), name="billing_plan_total_positive"),
            models.CheckConstraint(condition=models.Q(installment_amount__gt=0),
                                   name="billing_plan_installment_positive"),
        ]

    def __str__(self) -> str:
        return f"Plan {self.total} on {self.account.number}"

    @property
    def autopay_on(self) -> bool:
        return bool(self.autopay_enabled and self.autopay_payment_method_id)

    @property
    def card_label(self) -> str:
        """The stored card as staff see it: brand and last four only."""
        if not self.autopay_payment_method_id:
            return ""
        if not self.card_last4:
            return "Card on file"
        return f"{(self.card_brand or 'Card').title()} ending {self.card_last4}"

    def clean(self) -> None:
        if self.installment_amount is not None and self.total is not None and self.installment_amount > self.total:
            raise ValidationError({"installment_amount": "An installment cannot be more than the plan's total."})


class PaymentPlanInstallment(models.Model):
    """One due date of a plan and what is due on it. Paid or missed is decided from payments, not stored,
    except `missed_flagged_at`: when the daily check flagged it (so it is flagged once)."""

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="installments")
    sequence = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    missed_flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "sequence"], name="billing_installment_sequence_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="billing_installment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.amount} due {self.due_date:%m/%d/%Y}"


class AutopayAttempt(models.Model):
    """One charge of a plan installment to the plan's stored card: when, how much, and what came of it (the
    payment it posted, or the processor's decline code and message). Declines are retried on a schedule;
    `key_number` names the idempotency key the attempt used, which only a decline moves on (a processor that did
    not answer is asked again under the same key, so the card is never charged twice)."""

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="autopay_attempts")
    installment = models.ForeignKey(PaymentPlanInstallment, on_delete=models.CASCADE, related_name="autopay_attempts")
    key_number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField()
    attempted_on = models.DateField()
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=AutopayAttemptStatus.choices)
    payment = models.OneToOneField("billing.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="autopay_attempt")
    card_label = models.CharField(max_length=40, blank=True)
    decline_code = models.CharField(max_length=60, blank=True)
    message = models.CharField(max_length=300, blank=True)
    next_attempt_on = models.DateField(null=True, blank=True, help_text="When a declined charge is tried again.")

    class Meta:
        ordering = ["plan", "installment__sequence", "attempted_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="billing_autopay_amount_positive"),
            models.UniqueConstraint(fields=["installment", "key_number"],
                                    condition=models.Q(status__in=["charged", "declined"]),
                                    name="billing_autopay_one_outcome_per_key"),
        ]

    def __str__(self) -> str:
        return f"Autopay {self.amount} on {self.attempted_on:%m/%d/%Y}: {self.get_status_display()}"

"""Remittances (835 ERAs): what a payer paid, claim by claim and line by line, with every adjustment and its
reason; posted to the ledger once per file, and whatever cannot be matched waits in the exceptions queue."""

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Organization

from ..choices import AdjustmentGroup, DenialReview, RemitClaimState, RemittanceStatus
from .claims import Claim, ClaimLine
from .payers import Payer

MONEY = {"max_digits": 14, "decimal_places": 2}


class Remittance(models.Model):
    """One 835 transaction (one payment: a check or an EFT). `sha256` and the check number make a re-import
    post nothing; `balanced` is BPR02 against the claim payments less the provider-level adjustments."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, null=True, blank=True, on_delete=models.PROTECT, related_name="remittances")
    payer_name = models.CharField(max_length=120)
    payer_identifier = models.CharField(max_length=30, blank=True)
    check_number = models.CharField(max_length=50, help_text="TRN02: the check or EFT trace number.")
    payment_method = models.CharField(max_length=3, blank=True, help_text="BPR04: CHK, ACH, NON...")
    payment_date = models.DateField(null=True, blank=True)
    total_paid = models.DecimalField(**MONEY)
    claims_total = models.DecimalField(**MONEY, default=0)
    provider_adjustments_total = models.DecimalField(**MONEY, default=0)
    balanced = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=RemittanceStatus.choices, default=RemittanceStatus.POSTED)
    message = models.CharField(max_length=300, blank=True)
    exchange = models.ForeignKey("insurance.X12Exchange", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64, help_text="Of the transaction's segments, so the same file posts once.")
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              help_text="The payment's ledger entry (one per file transaction).")
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "sha256"], name="ins_remit_once_per_file")]
        indexes = [models.Index(fields=["organization", "check_number"], name="ins_remit_org_check")]

    def __str__(self) -> str:
        return f"ERA {self.check_number} {self.payer_name}"


class RemittanceClaim(models.Model):
    """One CLP: a claim payment (or reversal, status 22) and what was done with it."""

    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="claims")
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="remittance_claims")
    claim_number = models.CharField(max_length=40, help_text="CLP01 as sent back.")
    status_code = models.CharField(max_length=3, help_text="CLP02: 1 primary, 2 secondary, 4 denied, 22 reversal...")
    charge = models.DecimalField(**MONEY)
    paid = models.DecimalField(**MONEY)
    patient_responsibility = models.DecimalField(**MONEY, default=0)
    payer_claim_number = models.CharField(max_length=50, blank=True)
    patient_name = models.CharField(max_length=120, blank=True)
    state = models.CharField(max_length=10, choices=RemitClaimState.choices, default=RemitClaimState.POSTED)
    exception_reason = models.CharField(max_length=300, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              help_text="The ledger entry that posted this claim payment (for a denial: the biller's "
                                        "write-off or transfer, once decided).")
    review = models.CharField(max_length=12, choices=DenialReview.choices, blank=True, default=DenialReview.NONE,
                              help_text="A full denial waits here for the biller: appeal, write off or transfer.")

    class Meta:
        ordering = ["remittance", "id"]
        indexes = [models.Index(fields=["state"], name="ins_remit_claim_state"),
                   models.Index(fields=["review"], name="ins_remit_claim_review",
                                condition=~models.Q(review=""))]

    def __str__(self) -> str:
        return f"CLP {self.claim_number} paid {self.paid}"

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"


class RemittanceLine(models.Model):
    """One SVC: a service line as the payer adjudicated it."""

    remittance_claim = models.ForeignKey(RemittanceClaim, on_delete=models.CASCADE, related_name="lines")
    claim_line = models.ForeignKey(ClaimLine, null=True, blank=True, on_delete=models.PROTECT, related_name="remittance_lines")
    procedure_code = models.CharField(max_length=10)
    modifiers = models.CharField(max_length=15, blank=True)
    charge = models.DecimalField(**MONEY)
    paid = models.DecimalField(**MONEY)
    allowed = models.DecimalField(**MONEY, null=True, blank=True, help_text="AMT*B6 when sent, else charge less CO.")
    units = models.DecimalField(max_digits=8, decimal_places=2, default=1)
    service_date = models.DateField(null=True, blank=True)
    remark_codes = models.CharField(max_length=100, blank=True, help_text="RARC codes from LQ, comma separated.")
    expected_allowed = models.DecimalField(**MONEY, null=True, blank=True)
    underpaid_amount = models.DecimalField(**MONEY, default=0)

    class Meta:
        ordering = ["remittance_claim", "id"]

    def __str__(self) -> str:
        return f"SVC {self.procedure_code} paid {self.paid}"


class RemittanceAdjustment(models.Model):
    """One CAS amount at claim level (line empty) or line level: group, CARC and amount."""

    remittance_claim = models.ForeignKey(RemittanceClaim, on_delete=models.CASCADE, related_name="adjustments")
    line = models.ForeignKey(RemittanceLine, null=True, blank=True, on_delete=models.CASCADE, related_name="adjustments")
    group_code = models.CharField(max_length=2, choices=AdjustmentGroup.choices)
    reason_code = models.CharField(max_length=5, help_text="CARC.")
    amount = models.DecimalField(**MONEY)
    quantity = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["remittance_claim", "id"]

    def __str__(self) -> str:
        return f"{self.group_code}-{self.reason_code} {self.amount}"


class ProviderAdjustment(models.Model):
    """One PLB amount: money the payer takes back or adds at the provider level (interest, forward balances,
    recoupments), not tied to one claim."""

    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="provider_adjustments")
    reason_code = models.CharField(max_length=2, help_text="PLB03-1, e.g. WO, L6, FB, 72.")
    reference = models.CharField(max_length=50, blank=True)
    amount = models.DecimalField(**MONEY, help_text="As sent: positive reduces the payment.")

    class Meta:
        ordering = ["remittance", "id"]

    def __str__(self) -> str:
        return f"PLB {self.reason_code} {self.amount}"

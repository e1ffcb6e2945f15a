"""Claims: built from reviewed encounters, scrubbed, sent in 837P batches (or printed on a CMS-1500), acknowledged,
paid, denied, appealed. Every status change leaves a ClaimEvent and an audit row."""

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Organization
from clinicdesk.patients.models import new_public_id

from ..choices import (
    AppealStatus,
    BatchStatus,
    ClaimEventKind,
    ClaimFrequency,
    ClaimStatus,
    PayerRuleKind,
    ScrubSeverity,
    TransactionKind,
)
from .payers import Clearinghouse, Coverage, Payer, PriorAuthorization

MONEY = {"max_digits": 14, "decimal_places": 2}


class ClaimBatch(models.Model):
    """One 837P interchange sent to a clearinghouse. The file is kept exactly as sent; the 999 that answers it
    sets the batch's status, and the 277CA the claims'."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    clearinghouse = models.ForeignKey(Clearinghouse, on_delete=models.PROTECT, related_name="batches")
    interchange_control_number = models.PositiveIntegerField(help_text="ISA13.")
    group_control_number = models.PositiveIntegerField(help_text="GS06.")
    file_name = models.CharField(max_length=120)
    content = models.TextField()
    claim_count = models.PositiveIntegerField(default=0)
    total_charge = models.DecimalField(**MONEY, default=0)
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.BUILT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "claim batches"
        constraints = [
            models.UniqueConstraint(fields=["organization", "interchange_control_number"], name="ins_batch_isa13_unique"),
        ]

    def __str__(self) -> str:
        return self.file_name


class Claim(models.Model):
    """A bill to one payer for one encounter's services. `claim_number` is CLM01 (the patient control number the
    payer echoes in 277CA and 835); a corrected claim (frequency 7) or a void (8) points at the original, and a
    secondary claim points at the primary whose payment and adjustments it carries."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=14, unique=True, default=new_public_id, editable=False)
    claim_number = models.CharField(max_length=20, help_text="CLM01, unique in the practice.")
    encounter = models.ForeignKey("billing.Encounter", on_delete=models.PROTECT, related_name="claims")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="claims")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="claims")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="claims")
    rank = models.PositiveSmallIntegerField(default=1, help_text="1 primary, 2 secondary, 3 tertiary.")
    primary_claim = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="secondary_claims")
    original_claim = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    frequency = models.CharField(max_length=1, choices=ClaimFrequency.choices, default=ClaimFrequency.ORIGINAL)
    status = models.CharField(max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    place_of_service = models.CharField(max_length=2)
    service_from = models.DateField()
    service_to = models.DateField()
    diagnosis_codes = models.JSONField(default=list, help_text="ICD-10-CM codes in claim order, e.g. ['E11.9', 'I10'].")
    rendering_provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prior_authorization = models.ForeignKey(PriorAuthorization, null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="claims")
    total_charge = models.DecimalField(**MONEY)
    allowed_amount = models.DecimalField(**MONEY, default=0)
    paid_amount = models.DecimalField(**MONEY, default=0)
    patient_responsibility = models.DecimalField(**MONEY, default=0)
    payer_claim_number = models.CharField(max_length=50, blank=True, help_text="The payer's ICN/DCN (CLP07).")
    scrub_errors = models.PositiveSmallIntegerField(default=0)
    scrub_warnings = models.PositiveSmallIntegerField(default=0)
    scrubbed_at = models.DateTimeField(null=True, blank=True)
    batch = models.ForeignKey(ClaimBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="claims")
    submitted_at = models.DateTimeField(null=True, blank=True)
    printed_at = models.DateTimeField(null=True, blank=True, help_text="When its CMS-1500 was printed.")
    adjudicated_on = models.DateField(null=True, blank=True)
    denial_reason = models.CharField(max_length=200, blank=True, help_text="The main CARC of a denial, e.g. CO-197.")
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="assigned_claims")
    follow_up_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-service_from", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "claim_number"], name="ins_claim_number_unique"),
            models.CheckConstraint(condition=models.Q(total_charge__gte=0), name="ins_claim_total_not_negative"),
            models.CheckConstraint(condition=models.Q(service_to__gte=models.F("service_from")),
                                   name="ins_claim_dates_in_order"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "payer"], name="ins_claim_org_status_payer"),
            models.Index(fields=["organization", "patient"], name="ins_claim_org_patient"),
        ]

    def __str__(self) -> str:
        return f"Claim {self.claim_number}"


class ClaimLine(models.Model):
    """One service on a claim (an SV1 loop), tied to the billed service and to the insurance open item that
    carries its balance; the 835 fills in what the payer allowed and paid."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveSmallIntegerField()
    service_line = models.ForeignKey("billing.ServiceLine", on_delete=models.PROTECT, related_name="claim_lines")
    item = models.ForeignKey("ledger.OpenItem", null=True, blank=True, on_delete=models.PROTECT, related_name="claim_lines",
                             help_text="The insurance open item this line bills.")
    service_date = models.DateField()
    procedure_code = models.CharField(max_length=10)
    modifiers = models.CharField(max_length=15, blank=True)
    units = models.PositiveSmallIntegerField(default=1)
    charge = models.DecimalField(**MONEY)
    diagnosis_pointers = models.CharField(max_length=11)
    allowed_amount = models.DecimalField(**MONEY, default=0)
    paid_amount = models.DecimalField(**MONEY, default=0)
    patient_responsibility = models.DecimalField(**MONEY, default=0)
    expected_allowed = models.DecimalField(**MONEY, null=True, blank=True, help_text="What the payer's contract allows.")
    underpaid_amount = models.DecimalField(**MONEY, default=0, help_text="Contract allowed minus what the payer allowed.")

    class Meta:
        ordering = ["claim", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "sequence"], name="ins_claim_line_sequence_unique"),
            models.CheckConstraint(condition=models.Q(charge__gte=0), name="ins_claim_line_charge_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.procedure_code} × {self.units}"

    @property
    def modifier_list(self) -> list[str]:
        return [m for m in self.modifiers.split(",") if m]

    @property
    def pointer_list(self) -> list[int]:
        return [int(p) for p in self.diagnosis_pointers.split(",") if p]


class ClaimEvent(models.Model):
    """The claim's history: every status change, note, assignment, scrub and acknowledgement, in order."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=ClaimEventKind.choices)
    from_status = models.CharField(max_length=16, choices=ClaimStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ClaimStatus.choices, blank=True)
    text = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.from_status}→{self.to_status}"


class ScrubFinding(models.Model):
    """One edit the scrubber raised, explained: which rule, where (claim, line, field) and how to fix it."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="findings")
    line = models.ForeignKey(ClaimLine, null=True, blank=True, on_delete=models.CASCADE, related_name="findings")
    severity = models.CharField(max_length=8, choices=ScrubSeverity.choices)
    rule = models.CharField(max_length=40, help_text="e.g. npi_check_digit, dx_not_billable, timely_filing.")
    field = models.CharField(max_length=60, blank=True)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim", "-severity", "id"]

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


class PayerRule(models.Model):
    """A payer-specific edit the office configures (see PayerRuleKind); `payer` empty applies to every payer.
    `codes` are procedure codes, `values` the modifiers / diagnosis prefixes / unit limit the rule needs."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payer = models.ForeignKey(Payer, null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=20, choices=PayerRuleKind.choices)
    codes = models.CharField(max_length=300, help_text="Procedure codes, comma separated.")
    values = models.CharField(max_length=300, blank=True)
    message = models.CharField(max_length=300, blank=True, help_text="Shown to the biller; explains the rule.")
    severity = models.CharField(max_length=8, choices=ScrubSeverity.choices, default=ScrubSeverity.ERROR)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "payer", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.codes}"

    @property
    def code_list(self) -> list[str]:
        return [c.strip().upper() for c in self.codes.split(",") if c.strip()]

    @property
    def value_list(self) -> list[str]:
        return [v.strip().upper() for v in self.values.split(",") if v.strip()]


class ControlNumber(models.Model):
    """The next interchange (ISA13) and group (GS06) control numbers per practice, handed out under a row lock."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    next_interchange = models.PositiveIntegerField(default=1)
    next_group = models.PositiveIntegerField(default=1)
    next_transaction = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["organization"]

    def __str__(self) -> str:
        return f"ISA13 {self.next_interchange}"


class X12Exchange(models.Model):
    """Every X12 file that came in or went out (270, 271, 999, 277CA, 835; 837 batches are ClaimBatch), kept as
    received, with what reading it found. Re-reading the same content is recognised by its hash."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    transaction = models.CharField(max_length=6, choices=TransactionKind.choices)
    direction = models.CharField(max_length=3, choices=[("in", "Received"), ("out", "Sent")])
    clearinghouse = models.ForeignKey(Clearinghouse, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(ClaimBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="acknowledgements")
    file_name = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64)
    content = models.TextField()
    summary = models.CharField(max_length=300, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="[{'segment': 'IK3', 'line': 12, 'message': ...}]")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "transaction", "sha256"], name="ins_x12_org_kind_hash")]

    def __str__(self) -> str:
        return f"{self.transaction} {self.direction} {self.file_name}"


class Appeal(models.Model):
    """A written appeal of a denied claim: the letter (made from a communications template) and its outcome."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="appeals")
    status = models.CharField(max_length=8, choices=AppealStatus.choices, default=AppealStatus.DRAFT)
    reason = models.TextField()
    letter = models.ForeignKey("communications.Letter", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_on = models.DateField(null=True, blank=True)
    decided_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["claim", "-created_at"]

    def __str__(self) -> str:
        return f"Appeal of {self.claim}"

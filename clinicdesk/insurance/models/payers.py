"""Who pays: clearinghouses, payers and their plans, patients' coverages, eligibility answers and prior
authorisations."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Organization
from clinicdesk.patients.models import new_public_id

from ..choices import (
    ClaimFilingIndicator,
    ClearinghouseKind,
    CoverageRank,
    EligibilityStatus,
    Sex,
    SubscriberRelationship,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


class Clearinghouse(models.Model):
    """Where the office's X12 files go and come from. The local test clearinghouse answers in the real formats
    (270→271, 837→999 and 277CA, 835s for accepted claims); `submitter_id`/`receiver_id` fill ISA06/ISA08."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=ClearinghouseKind.choices, default=ClearinghouseKind.LOCAL)
    submitter_id = models.CharField(max_length=15, help_text="The office's ID with the clearinghouse (ISA06, NM109 of 1000A).")
    receiver_id = models.CharField(max_length=15, help_text="The clearinghouse's ID (ISA08, NM109 of 1000B).")
    usage = models.CharField(max_length=1, default="T", help_text="ISA15: T for test, P for production.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="ins_clearinghouse_name_unique")]

    def __str__(self) -> str:
        return self.name


class Payer(models.Model):
    """An insurance company (or program) the office bills. `payer_identifier` is the ID the clearinghouse routes
    by (NM109 of loop 2010BB); `timely_filing_days` is how long after the service date it accepts a claim."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    payer_identifier = models.CharField("payer ID", max_length=20)
    claim_filing_indicator = models.CharField(max_length=2, choices=ClaimFilingIndicator.choices,
                                              default=ClaimFilingIndicator.COMMERCIAL)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    clearinghouse = models.ForeignKey(Clearinghouse, null=True, blank=True, on_delete=models.PROTECT, related_name="payers",
                                      help_text="Empty: claims go on paper (CMS-1500).")
    timely_filing_days = models.PositiveSmallIntegerField(default=365)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "payer_identifier"], name="ins_payer_identifier_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_paper(self) -> bool:
        return self.clearinghouse_id is None or (self.clearinghouse is not None
                                                 and self.clearinghouse.kind == ClearinghouseKind.PAPER)


class InsurancePlan(models.Model):
    """A product of a payer (e.g. "Choice PPO"); the usual copay, coinsurance and deductible pre-fill coverages."""

    payer = models.ForeignKey(Payer, on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(max_length=120)
    claim_filing_indicator = models.CharField(max_length=2, choices=ClaimFilingIndicator.choices, blank=True,
                                              help_text="Leave empty to use the payer's.")
    default_copay = models.DecimalField(**MONEY, null=True, blank=True)
    default_coinsurance_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    default_deductible = models.DecimalField(**MONEY, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["payer", "name"]
        constraints = [models.UniqueConstraint(fields=["payer", "name"], name="ins_plan_name_unique")]

    def __str__(self) -> str:
        return f"{self.payer.name} · {self.name}"

    @property
    def filing_indicator(self) -> str:
        return self.claim_filing_indicator or self.payer.claim_filing_indicator


class Coverage(models.Model):
    """A patient's insurance in billing order (primary, secondary, tertiary), with who the subscriber is.

    When the patient is the subscriber the subscriber fields repeat the patient's; otherwise they name the
    policy holder (a parent, a spouse). Only one active coverage holds each rank for a patient."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=14, unique=True, default=new_public_id, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="coverages")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="coverages")
    plan = models.ForeignKey(InsurancePlan, null=True, blank=True, on_delete=models.PROTECT, related_name="coverages")
    rank = models.PositiveSmallIntegerField(choices=CoverageRank.choices, default=CoverageRank.PRIMARY)
    relationship = models.CharField("patient's relationship to the subscriber", max_length=2,
                                    choices=SubscriberRelationship.choices, default=SubscriberRelationship.SELF)
    subscriber_first_name = models.CharField(max_length=80)
    subscriber_last_name = models.CharField(max_length=80)
    subscriber_date_of_birth = models.DateField(null=True, blank=True)
    subscriber_sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    subscriber_address_line1 = models.CharField(max_length=200, blank=True)
    subscriber_city = models.CharField(max_length=100, blank=True)
    subscriber_state = models.CharField(max_length=2, blank=True)
    subscriber_postal_code = models.CharField(max_length=10, blank=True)
    member_id = models.CharField("member ID", max_length=40)
    group_number = models.CharField(max_length=40, blank=True)
    group_name = models.CharField(max_length=120, blank=True)
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    copay = models.DecimalField(**MONEY, null=True, blank=True, help_text="Office visit copay on the card.")
    coinsurance_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    deductible = models.DecimalField(**MONEY, null=True, blank=True, help_text="Yearly deductible.")
    card_front = models.ForeignKey("patients.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    card_back = models.ForeignKey("patients.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "rank", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "rank"], condition=models.Q(is_active=True),
                                    name="ins_coverage_one_active_per_rank"),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True) | models.Q(effective_from__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="ins_coverage_dates_in_order"),
            models.CheckConstraint(
                condition=models.Q(coinsurance_percent__isnull=True)
                | models.Q(coinsurance_percent__gte=0, coinsurance_percent__lte=100),
                name="ins_coverage_coinsurance_range"),
            models.CheckConstraint(condition=models.Q(copay__isnull=True) | models.Q(copay__gte=0),
                                   name="ins_coverage_copay_not_negative"),
        ]
        indexes = [models.Index(fields=["organization", "payer"], name="ins_coverage_org_payer")]

    def __str__(self) -> str:
        return f"{self.get_rank_display()}: {self.payer.name} {self.member_id}"

    def clean(self) -> None:
        if self.plan_id and self.payer_id and self.plan.payer_id != self.payer_id:
            raise ValidationError({"plan": "That plan belongs to another payer."})
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": "The coverage must end after it starts."})

    def covers(self, day) -> bool:
        """Whether the coverage is in force on `day` (open-ended dates count as in force)."""
        return (self.is_active and (self.effective_from is None or self.effective_from <= day)
                and (self.effective_to is None or day <= self.effective_to))


class EligibilityCheck(models.Model):
    """One 270 sent for a coverage and the 271 that answered it, read into what the front desk needs.

    `benefits` keeps the full reading ({"copays": [...], "coinsurance": [...], "deductibles": [...],
    "out_of_pocket": [...], "messages": [...]}); the headline numbers are columns for lists and check-in."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="eligibility_checks")
    appointment = models.ForeignKey("scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    service_date = models.DateField()
    status = models.CharField(max_length=10, choices=EligibilityStatus.choices, default=EligibilityStatus.QUEUED)
    trace_number = models.CharField(max_length=30, help_text="TRN02 of the 270, echoed by the 271.")
    request_x12 = models.TextField(blank=True)
    response_x12 = models.TextField(blank=True)
    plan_name = models.CharField(max_length=120, blank=True)
    copay = models.DecimalField(**MONEY, null=True, blank=True, help_text="Office visit copay, in network.")
    coinsurance_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    deductible = models.DecimalField(**MONEY, null=True, blank=True)
    deductible_remaining = models.DecimalField(**MONEY, null=True, blank=True)
    out_of_pocket = models.DecimalField(**MONEY, null=True, blank=True)
    out_of_pocket_remaining = models.DecimalField(**MONEY, null=True, blank=True)
    benefits = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=300, blank=True, help_text="Rejection reason or error, in plain words.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["coverage", "-requested_at"], name="ins_elig_coverage_recent")]

    def __str__(self) -> str:
        return f"Eligibility {self.service_date:%m/%d/%Y} · {self.get_status_display()}"


class PriorAuthorization(models.Model):
    """A payer's approval for services: how many units of which codes, between which dates. Booking and billing
    warn when a service that needs one has none left."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="prior_authorizations")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="prior_authorizations")
    number = models.CharField("authorisation number", max_length=50)
    procedure_codes = models.CharField(max_length=200, help_text="Comma separated, e.g. 97110,97140.")
    units_authorized = models.PositiveIntegerField()
    units_used = models.PositiveIntegerField(default=0)
    starts_on = models.DateField()
    ends_on = models.DateField()
    notes = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "-ends_on"]
        constraints = [
            models.UniqueConstraint(fields=["coverage", "number"], name="ins_auth_number_unique"),
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="ins_auth_dates_in_order"),
            models.CheckConstraint(condition=models.Q(units_used__lte=models.F("units_authorized")),
                                   name="ins_auth_units_within"),
        ]

    def __str__(self) -> str:
        return f"Auth {self.number}"

    @property
    def code_list(self) -> list[str]:
        return [c.strip().upper() for c in self.procedure_codes.split(",") if c.strip()]

    @property
    def units_left(self) -> int:
        return self.units_authorized - self.units_used

"""Payer contracts: what each payer agreed to allow per code, as its own fee list or a percentage of a reference
schedule the office imports (e.g. the Medicare physician fee schedule for its locality)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Organization

from ..choices import ContractBasis
from .payers import Payer

MONEY = {"max_digits": 14, "decimal_places": 2}


class ReferenceSchedule(models.Model):
    """A published fee schedule used as a yardstick (allowed as a percentage of it), imported from CSV."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120, help_text="e.g. Medicare PFS 2026, locality 01.")
    effective_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "-effective_from", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="ins_refsched_name_unique")]

    def __str__(self) -> str:
        return self.name


class ReferenceRate(models.Model):
    schedule = models.ForeignKey(ReferenceSchedule, on_delete=models.CASCADE, related_name="rates")
    procedure_code = models.CharField(max_length=10)
    modifiers = models.CharField(max_length=15, blank=True)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["schedule", "procedure_code", "modifiers"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "procedure_code", "modifiers"], name="ins_refrate_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="ins_refrate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.procedure_code} {self.amount}"


class PayerContract(models.Model):
    """What a payer agreed to allow between two dates: a fee list (ContractRate rows) or `percent` of a reference
    schedule; a fee-list contract may fall back to the percentage for codes it does not list."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="contracts")
    name = models.CharField(max_length=120)
    basis = models.CharField(max_length=10, choices=ContractBasis.choices, default=ContractBasis.FEE_LIST)
    reference_schedule = models.ForeignKey(ReferenceSchedule, null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="contracts")
    percent_of_reference = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True,
                                               help_text="e.g. 115.00 for 115% of the reference schedule.")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "payer", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=models.F("effective_from")),
                name="ins_contract_dates_in_order"),
            models.CheckConstraint(
                condition=models.Q(percent_of_reference__isnull=True) | models.Q(percent_of_reference__gt=0),
                name="ins_contract_percent_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.payer.name}: {self.name}"

    def clean(self) -> None:
        if self.basis == ContractBasis.PERCENT_OF_REFERENCE and (
            self.reference_schedule_id is None or self.percent_of_reference is None
        ):
            raise ValidationError({"percent_of_reference": "A percentage contract names the schedule and the percentage."})


class ContractRate(models.Model):
    contract = models.ForeignKey(PayerContract, on_delete=models.CASCADE, related_name="rates")
    procedure_code = models.CharField(max_length=10)
    modifiers = models.CharField(max_length=15, blank=True)
    allowed_amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["contract", "procedure_code", "modifiers"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "procedure_code", "modifiers"], name="ins_contract_rate_unique"),
            models.CheckConstraint(condition=models.Q(allowed_amount__gte=0), name="ins_contract_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.procedure_code} {self.allowed_amount}"

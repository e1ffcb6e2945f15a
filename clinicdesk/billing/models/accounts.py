"""Patient accounts: who pays. A family shares one account, held by its guarantor."""

import secrets

from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Organization


def new_account_public_id() -> str:
    return "acc_" + secrets.token_urlsafe(9)


class PatientAccount(models.Model):
    """The account statements go to: one guarantor (a patient of the practice, or someone who is not), one or more
    patients. Its balance is the sum of its patients' ledger lines; nothing here stores money."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=20, unique=True, default=new_account_public_id, editable=False)
    number = models.CharField(max_length=20, help_text="The account number printed on statements.")
    guarantor_patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="guaranteed_accounts"
    )
    guarantor_name = models.CharField(max_length=160)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=12, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    collections_hold = models.BooleanField(default=False, help_text="No statements or dunning while held.")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "guarantor_name", "number"]
        constraints = [models.UniqueConstraint(fields=["organization", "number"], name="billing_account_number_unique")]

    def __str__(self) -> str:
        return f"{self.number} · {self.guarantor_name}"


class AccountMember(models.Model):
    """A patient on an account. Each patient bills to exactly one account at a time."""

    account = models.ForeignKey(PatientAccount, on_delete=models.CASCADE, related_name="members")
    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="billing_membership")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "id"]

    def __str__(self) -> str:
        return f"{self.patient} on {self.account}"

    def clean(self) -> None:
        if self.patient.organization_id != self.account.organization_id:
            raise ValidationError({"patient": "The patient belongs to another organization."})

"""Patient records: demographics, contacts, consents, guarantor, alerts and documents."""

import secrets
import uuid
from datetime import date
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from clinicdesk.core.models import Organization

from .choices import (
    AdministrativeSex,
    AlertKind,
    Channel,
    ConsentStatus,
    DocumentCategory,
    GenderIdentity,
    PatientStatus,
    Relationship,
)
from .search import search_fields

PUBLIC_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
# The patient fields that search_name and search_phones are derived from.
SEARCH_SOURCE_FIELDS = frozenset(
    {"first_name", "middle_name", "last_name", "preferred_name", "phone_mobile", "phone_home", "phone_work"}
)


def new_public_id() -> str:
    """A random, unguessable identifier for URLs (the MRN is PHI and stays out of them)."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(14))


class Patient(models.Model):
    """A person the practice cares for."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="patients")
    public_id = models.CharField(max_length=14, unique=True, default=new_public_id, editable=False)
    mrn = models.CharField("MRN", max_length=20)
    first_name = models.CharField("legal first name", max_length=80)
    middle_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField("legal last name", max_length=80)
    suffix = models.CharField(max_length=10, blank=True)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField("administrative sex", max_length=10, choices=AdministrativeSex.choices)
    gender_identity = models.CharField(max_length=20, choices=GenderIdentity.choices, blank=True)
    pronouns = models.CharField(max_length=30, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=12, blank=True)
    country = models.CharField(max_length=2, default="US")
    phone_mobile = models.CharField("mobile phone", max_length=20, blank=True, help_text="Stored in E.164 form.")
    phone_home = models.CharField("home phone", max_length=20, blank=True)
    phone_work = models.CharField("work phone", max_length=20, blank=True)
    email = models.EmailField(blank=True)
    preferred_language = models.CharField(max_length=20, default="en", help_text="BCP-47 tag, e.g. en, es, zh-Hant.")
    preferred_channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    primary_provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="panel_patients"
    )
    status = models.CharField(max_length=10, choices=PatientStatus.choices, default=PatientStatus.ACTIVE)
    deceased_date = models.DateField(null=True, blank=True)
    # Set when this record was merged into another; merged records are kept but hidden.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_records")
    # Derived for search: names without accents in lower case, and phone digits.
    search_name = models.CharField(max_length=400, blank=True, editable=False)
    search_phones = models.CharField(max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "date_of_birth"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "mrn"], name="patient_mrn_unique_per_org"),
            models.CheckConstraint(
                condition=~models.Q(status="deceased") | models.Q(deceased_date__isnull=False),
                name="patient_deceased_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "date_of_birth"], name="patient_org_dob_idx"),
            models.Index(fields=["organization", "last_name", "first_name"], name="patient_org_name_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        # Every save path keeps the search columns right, so no caller can forget them (bulk_create and
        # QuerySet.update() bypass this and must fill them themselves, as demo.py does).
        self.search_name, self.search_phones = search_fields(self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and SEARCH_SOURCE_FIELDS.intersection(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_name", "search_phones"}
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.first_name
        if self.preferred_name and self.preferred_name != self.first_name:
            first = f"{self.first_name} ({self.preferred_name})"
        return f"{self.last_name}, {first}"

    @property
    def age(self) -> int:
        today = (self.deceased_date or date.today())
        dob = self.date_of_birth
        return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))

    def clean(self) -> None:
        errors = {}
        if self.date_of_birth and self.date_of_birth > timezone.localdate():
            errors["date_of_birth"] = "Date of birth cannot be in the future."
        if self.date_of_birth and self.date_of_birth.year < 1890:
            errors["date_of_birth"] = "Date of birth is before 1890; check the year."
        if self.deceased_date and self.date_of_birth and self.deceased_date < self.date_of_birth:
            errors["deceased_date"] = "Date of death is before the date of birth."
        if self.status == PatientStatus.DECEASED and not self.deceased_date:
            errors["deceased_date"] = "Give the date of death for a deceased patient."
        if errors:
            raise ValidationError(errors)


class EmergencyContact(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="emergency_contacts")
    name = models.CharField(max_length=160)
    relationship = models.CharField(max_length=20, choices=Relationship.choices, default=Relationship.OTHER)
    phone = models.CharField(max_length=20)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"


class Guarantor(models.Model):
    """The person responsible for the patient's bills: the patient, another patient, or someone outside."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="guarantor")
    relationship = models.CharField(max_length=20, choices=Relationship.choices, default=Relationship.SELF)
    guarantor_patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="guaranteed_patients"
    )
    name = models.CharField(max_length=160, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=40, blank=True)
    postal_code = models.CharField(max_length=12, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient"]

    def __str__(self) -> str:
        if self.relationship == Relationship.SELF:
            return str(self.patient)
        return str(self.guarantor_patient) if self.guarantor_patient_id else self.name

    def clean(self) -> None:
        if self.relationship != Relationship.SELF and not (self.guarantor_patient_id or self.name):
            raise ValidationError({"name": "Name the responsible party, or pick them from the patient list."})
        if self.guarantor_patient_id and self.guarantor_patient_id == self.patient_id:
            raise ValidationError({"guarantor_patient": "Use relationship 'Self' for a patient who is their own guarantor."})


class CommunicationConsent(models.Model):
    """Whether the patient agrees to be contacted on a channel, with when they opted in and out."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    opted_in_at = models.DateTimeField(null=True, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=60, blank=True, help_text="Where the answer came from: front desk, SMS STOP, portal…")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "channel"]
        constraints = [models.UniqueConstraint(fields=["patient", "channel"], name="consent_one_per_channel")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.get_status_display()}"


class PatientAlert(models.Model):
    """A banner on the patient's record: 'needs interpreter', 'collections hold'…"""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    note = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}{': ' + self.note if self.note else ''}"


def document_path(instance: "Document", filename: str) -> str:
    """A random name under the organization's folder; the original name is kept only in the row."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"documents/{instance.organization_id}/{uuid.uuid4().hex}{suffix}"


class Document(models.Model):
    """A scan, PDF or image in the patient's chart. Served only through an audited, permission-checked view."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    public_id = models.CharField(max_length=14, unique=True, default=new_public_id, editable=False)
    category = models.CharField(max_length=20, choices=DocumentCategory.choices)
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=document_path, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    retain_until = models.DateField(null=True, blank=True, help_text="Keep at least until this date.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(size__gt=0), name="document_not_empty")]

    def __str__(self) -> str:
        return self.title

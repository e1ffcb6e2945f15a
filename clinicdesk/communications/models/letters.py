"""Letters written for the doctors: letterheads per location, signatures per provider, the letters themselves."""

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Location, Organization
from clinicdesk.patients.models import new_public_id

from ..choices import LetterDelivery, LetterStatus


class Letterhead(models.Model):
    """The top and foot of a letter for one location (or the practice's default when location is empty)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    practice_name = models.CharField(max_length=200)
    address = models.TextField(blank=True, help_text="One line per line of the address.")
    phone = models.CharField(max_length=30, blank=True)
    fax = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    website = models.CharField(max_length=200, blank=True)
    footer = models.CharField(max_length=300, blank=True, help_text="Small print at the foot of each page.")
    accent_color = models.CharField(max_length=7, default="#0b5cad", help_text="#rrggbb")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "location"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "location"], name="letterhead_one_per_location"),
            models.UniqueConstraint(fields=["organization"], condition=models.Q(location__isnull=True),
                                    name="letterhead_one_practice_default"),
        ]

    def __str__(self) -> str:
        return self.practice_name


class Signature(models.Model):
    """How a provider signs letters: the closing, the name line and credentials."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="letter_signature")
    closing = models.CharField(max_length=60, default="Sincerely,")
    name_line = models.CharField(max_length=120, help_text="e.g. Maria Chen, MD")
    credentials = models.CharField(max_length=200, blank=True, help_text="e.g. Board-certified in Family Medicine; NPI 1234567893")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name_line"]

    def __str__(self) -> str:
        return self.name_line


class Letter(models.Model):
    """A letter about a patient: drafted from a template, edited, made final as a PDF in the patient's documents."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=14, unique=True, default=new_public_id, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="letters")
    template_version = models.ForeignKey("TemplateVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               help_text="The provider the letter is from.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    subject = models.CharField(max_length=200)
    body_html = models.TextField(help_text="Sanitised rich text.")
    status = models.CharField(max_length=10, choices=LetterStatus.choices, default=LetterStatus.DRAFT)
    document = models.ForeignKey("patients.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    delivery = models.CharField(max_length=10, choices=LetterDelivery.choices, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(status="final") | models.Q(document__isnull=False),
                                   name="letter_final_has_document"),
        ]

    def __str__(self) -> str:
        return self.subject

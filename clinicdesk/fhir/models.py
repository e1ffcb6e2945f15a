"""The FHIR API's client tokens: a bearer secret for one user of one practice, with SMART-style scopes."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from .choices import BulkExportStatus


class FhirToken(models.Model):
    """A token an outside system (a patient portal, a lab, an integration engine) sends as `Authorization: Bearer`.

    It acts as `user` within `organization` and never beyond the user's role; its scopes narrow that further
    (`user/Patient.read`, `user/Appointment.write`, `user/*.read`). Only the SHA-256 of the secret is kept.
    """

    SECRET_PREFIX = "cdf_"  # noqa: S105  (the visible prefix of every secret, not a secret)
    PREFIX_LEN = 8

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="fhir_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="fhir_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=PREFIX_LEN, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return cls.SECRET_PREFIX + secrets.token_urlsafe(32)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.expires_at > timezone.now() else "expired"

    @property
    def is_usable(self) -> bool:
        """Not revoked, not expired, and its user still active in the same practice."""
        user = self.user
        return (
            self.status == "active" and user.is_active and user.organization_id == self.organization_id
        )


class ImportedResource(models.Model):
    """What `import_fhir` made of one outside resource: the source's id within a practice, mapped to the local record.

    `source_id` is the resource's own id (Synthea's uuid) or, for a conditional reference to something the bundle does
    not carry (`Practitioner?identifier=…`), the identifier `system|value`. A second import finds the row and changes
    nothing when the resource's fingerprint is the same. Placeholders stand for outside organizations, practitioners and
    locations known only by identifier and display name.
    """

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    resource_type = models.CharField(max_length=40)
    source_id = models.CharField(max_length=255)
    target_type = models.ForeignKey("contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    is_placeholder = models.BooleanField(default=False)
    display = models.CharField(max_length=200, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the resource as last imported.")
    source_file = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "resource_type", "source_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "resource_type", "source_id"],
                                    name="fhir_imported_resource_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.source_id}"


class BulkExport(models.Model):
    """One `$export` asked for over HTTP: the types, who asked (and with which token), how far it is, and the NDJSON
    files it left in storage (`output`: type, count and storage name of each).

    Found by its random `public_id` (the status URL carries it), and only ever shown to the user who asked for it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    token = models.ForeignKey(FhirToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="bulk_exports")
    types = models.JSONField(default=list)
    request_url = models.CharField(max_length=2000)
    status = models.CharField(max_length=20, choices=BulkExportStatus.choices, default=BulkExportStatus.ACCEPTED)
    progress = models.CharField(max_length=200, blank=True)
    output = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=BulkExportStatus.values), name="fhir_bulk_export_status"),
        ]

    def __str__(self) -> str:
        return f"$export {self.public_id} ({self.status})"

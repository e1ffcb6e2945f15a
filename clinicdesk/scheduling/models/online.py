"""Online booking requests from the public page, and providers' private calendar feeds."""

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Location, Organization

from ..choices import OnlineRequestStatus
from .appointments import Appointment
from .availability import AppointmentType


class OnlineBookingRequest(models.Model):
    """A booking made on the public page: verified by e-mail, then booked or sent for approval."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    date_of_birth = models.DateField()
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    verify_token_hash = models.CharField(max_length=64, unique=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=25, choices=OnlineRequestStatus.choices, default=OnlineRequestStatus.PENDING_VERIFICATION)
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status"], name="online_req_org_status_idx")]

    def __str__(self) -> str:
        return f"Online request {self.starts_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class CalendarFeed(models.Model):
    """A provider's secret iCalendar feed URL; only the token's hash is kept; revocable."""

    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_accessed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Calendar feed {self.prefix}… for {self.provider}"

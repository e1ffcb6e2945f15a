"""The front desk's queues: phone calls and callbacks, the waitlist and its offers, recalls."""

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Location, Organization

from ..choices import (
    CallDirection,
    CallOutcome,
    CallReason,
    OfferStatus,
    RecallStatus,
    TimeOfDay,
    WaitlistStatus,
)
from .appointments import Appointment
from .availability import AppointmentType


class PhoneCall(models.Model):
    """A call to or from the office, on a patient's record when known; may need a callback."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="phone_calls")
    direction = models.CharField(max_length=10, choices=CallDirection.choices, default=CallDirection.INBOUND)
    caller_name = models.CharField(max_length=160, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=15, choices=CallReason.choices, default=CallReason.OTHER)
    outcome = models.CharField(max_length=15, choices=CallOutcome.choices, default=CallOutcome.RESOLVED)
    notes = models.TextField(blank=True)
    callback_needed = models.BooleanField(default=False)
    callback_due = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_calls")
    callback_done_at = models.DateTimeField(null=True, blank=True)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "callback_needed", "callback_done_at"], name="call_callback_queue_idx")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call {self.created_at:%Y-%m-%d %H:%M}"


class WaitlistEntry(models.Model):
    """A patient who wants an earlier or any time, with the constraints they gave."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="waitlist_entries")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    providers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", help_text="Empty for any provider.")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The appointment to move earlier, if the patient already has one.
    current_appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    earliest_date = models.DateField(null=True, blank=True)
    latest_date = models.DateField(null=True, blank=True)
    weekdays = models.JSONField(default=list, blank=True, help_text="0=Monday … 6=Sunday; empty for any day.")
    time_of_day = models.CharField(max_length=10, choices=TimeOfDay.choices, default=TimeOfDay.ANY)
    priority = models.PositiveSmallIntegerField(default=0, help_text="Higher is offered first.")
    notes = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "created_at"]
        verbose_name_plural = "waitlist entries"
        indexes = [models.Index(fields=["organization", "status"], name="waitlist_org_status_idx")]

    def __str__(self) -> str:
        return f"Waitlist: {self.patient} for {self.appointment_type}"


class WaitlistOffer(models.Model):
    """A freed time offered to a waitlisted patient; the first to accept gets it."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    rank = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.PENDING)
    token = models.CharField(max_length=43, unique=True, help_text="Secret for the patient's reply link.")
    expires_at = models.DateTimeField()
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "rank"]

    def __str__(self) -> str:
        return f"Offer {self.starts_at:%Y-%m-%d %H:%M} to {self.entry.patient}"


class RecallRule(models.Model):
    """'Annual physical 12 months after the last visit of this type.'"""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    after_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+", help_text="The visit that starts the clock.")
    interval_months = models.PositiveSmallIntegerField(default=12)
    recall_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+", help_text="What to book when due.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.CheckConstraint(condition=models.Q(interval_months__gte=1), name="recall_interval_positive")]

    def __str__(self) -> str:
        return self.name


class Recall(models.Model):
    """A patient due back under a rule; tracked until booked or dismissed."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="recalls")
    rule = models.ForeignKey(RecallRule, on_delete=models.PROTECT, related_name="recalls")
    last_visit = models.DateField()
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=RecallStatus.choices, default=RecallStatus.DUE)
    contacted_at = models.DateTimeField(null=True, blank=True)
    booked_appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date"]
        constraints = [models.UniqueConstraint(fields=["patient", "rule", "due_date"], name="recall_unique_per_due_date")]
        indexes = [models.Index(fields=["organization", "status", "due_date"], name="recall_org_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.rule} due {self.due_date}"

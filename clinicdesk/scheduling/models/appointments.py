"""Appointments and recurring series."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Location, Organization, Room
from clinicdesk.patients.models import new_public_id

from ..choices import LIVE_STATUSES, AppointmentStatus, BookingChannel
from .availability import AppointmentType, Equipment


class RecurringSeries(models.Model):
    """A repeating appointment defined by an RFC 5545 rule, expanded in the location's time zone."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    rrule = models.CharField("recurrence rule", max_length=300, help_text="RFC 5545, e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=8")
    dtstart = models.DateTimeField(help_text="Start of the first occurrence.")
    time_zone = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "recurring series"

    def __str__(self) -> str:
        return f"Series {self.pk}: {self.rrule}"


class Appointment(models.Model):
    """A patient's visit with a provider at a location. Time held runs from busy_from to busy_until (buffers included)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=14, unique=True, default=new_public_id, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    equipment = models.ManyToManyField(Equipment, blank=True, related_name="appointments")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Derived from the type's buffers: the stretch no other exclusive booking may overlap.
    busy_from = models.DateTimeField(editable=False)
    busy_until = models.DateTimeField(editable=False)
    # False for group types (capacity > 1): those share the time up to capacity, checked by the service.
    exclusive = models.BooleanField(default=True, editable=False)
    status = models.CharField(max_length=15, choices=AppointmentStatus.choices, default=AppointmentStatus.SCHEDULED)
    channel = models.CharField(max_length=10, choices=BookingChannel.choices, default=BookingChannel.PHONE)
    notes = models.TextField(blank=True)
    series = models.ForeignKey(RecurringSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments")
    recurrence_id = models.DateTimeField(null=True, blank=True, help_text="The occurrence's original start in its series.")
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    roomed_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cancel_reason = models.CharField(max_length=200, blank=True)
    late_cancel = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "provider"]
        indexes = [
            models.Index(fields=["organization", "starts_at"], name="appt_org_start_idx"),
            models.Index(fields=["provider", "busy_from", "busy_until"], name="appt_provider_busy_idx"),
            # Slot search reads only live time held by providers: with the status in the index too, both engines
            # answer from the index alone, already in the order the gaps are worked out in.
            models.Index(fields=["provider", "busy_from", "busy_until", "status"], condition=models.Q(status__in=LIVE_STATUSES),
                         name="appt_provider_live_busy_idx"),
            models.Index(fields=["patient", "starts_at"], name="appt_patient_start_idx"),
            models.Index(fields=["location", "starts_at"], name="appt_location_start_idx"),
            models.Index(fields=["room", "busy_from"], name="appt_room_busy_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"),
            models.CheckConstraint(
                condition=models.Q(busy_from__lte=models.F("starts_at")) & models.Q(busy_until__gte=models.F("ends_at")),
                name="appointment_busy_covers_visit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} · {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def set_busy_window(self) -> None:
        """Recompute the held time from the visit and its type's buffers."""
        kind = self.appointment_type
        self.busy_from = self.starts_at - timedelta(minutes=kind.buffer_before_minutes)
        self.busy_until = self.ends_at + timedelta(minutes=kind.buffer_after_minutes)
        self.exclusive = kind.capacity == 1

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})

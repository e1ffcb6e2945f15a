"""What can be booked: appointment types, equipment, provider availability, exceptions, location settings."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.choices import RoomKind
from clinicdesk.core.models import Department, Location, Organization

from ..choices import ExceptionKind

WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"), (6, "Sunday")]


class LocationSchedule(models.Model):
    """Scheduling settings of a location: public holidays observed and online booking."""

    location = models.OneToOneField(Location, on_delete=models.CASCADE, related_name="schedule")
    holiday_country = models.CharField(max_length=2, default="US", help_text="ISO country code for public holidays.")
    holiday_subdivision = models.CharField(max_length=10, blank=True, help_text="State or province, e.g. NY.")
    observe_holidays = models.BooleanField(default=True)
    online_booking_enabled = models.BooleanField(default=False)
    online_booking_slug = models.SlugField(max_length=60, unique=True, null=True, blank=True)
    online_requires_approval = models.BooleanField(default=False)
    online_booking_days_ahead = models.PositiveSmallIntegerField(default=60)
    slot_step_minutes = models.PositiveSmallIntegerField(default=15, help_text="Slots start on this grid.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location"]
        constraints = [models.CheckConstraint(condition=models.Q(slot_step_minutes__gte=5), name="slot_step_min_5")]

    def __str__(self) -> str:
        return f"Schedule settings · {self.location}"


class Equipment(models.Model):
    """A bookable piece of equipment at a location (ultrasound, ECG cart); `quantity` units can be in use at once."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="equipment")
    name = models.CharField(max_length=80)
    quantity = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location", "name"]
        verbose_name_plural = "equipment"
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="equipment_name_unique_per_location"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="equipment_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class AppointmentTypeQuerySet(models.QuerySet):
    def with_booking_hints(self):
        """Annotate `has_equipment` and `has_recall_rules`, so that booking a type that needs no equipment and
        books no recall (most types) skips those two queries."""
        from .front_desk import RecallRule

        through = AppointmentType.equipment.through
        return self.annotate(
            has_equipment=models.Exists(through.objects.filter(appointmenttype_id=models.OuterRef("pk"))),
            has_recall_rules=models.Exists(RecallRule.objects.filter(recall_type_id=models.OuterRef("pk"))),
        )


class AppointmentType(models.Model):
    """A kind of visit: how long it takes, what it needs, and the rules for booking it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="appointment_types")
    name = models.CharField(max_length=80)
    code = models.SlugField(max_length=30)
    duration_minutes = models.PositiveSmallIntegerField(default=15)
    color = models.CharField(max_length=7, default="#0b5cad", help_text="Calendar colour, #rrggbb.")
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    min_notice_minutes = models.PositiveIntegerField(default=0, help_text="How long before the start it may be booked.")
    max_per_day = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Per provider per day; empty for no limit.")
    new_patient_only = models.BooleanField(default=False)
    bookable_online = models.BooleanField(default=False)
    late_cancel_hours = models.PositiveSmallIntegerField(default=24, help_text="Cancelling later than this is a late cancellation.")
    capacity = models.PositiveSmallIntegerField(default=1, help_text="1, or more for group sessions.")
    room_kind = models.CharField(max_length=20, choices=RoomKind.choices, blank=True, help_text="Needs a room of this kind.")
    equipment = models.ManyToManyField(Equipment, blank=True, related_name="appointment_types")
    # Reminder plan used by communications, e.g. [{"channel": "sms", "hours_before": 24}].
    reminder_plan = models.JSONField(default=list, blank=True)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentTypeQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="appointment_type_code_unique_per_org"),
            models.CheckConstraint(condition=models.Q(duration_minutes__gte=5), name="appointment_type_min_duration"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="appointment_type_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.color and (len(self.color) != 7 or not self.color.startswith("#")):
            raise ValidationError({"color": "Use a colour like #0b5cad."})


class AvailabilityTemplate(models.Model):
    """A provider's usual week at one location, valid between two dates. Times are the location's wall-clock."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_templates")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="availability_templates")
    name = models.CharField(max_length=80, default="Usual week")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "location", "effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=models.F("effective_from")),
                name="availability_template_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} at {self.location}: {self.name}"


class AvailabilityBlock(models.Model):
    """One stretch of bookable time on a weekday; gaps between blocks are breaks."""

    template = models.ForeignKey(AvailabilityTemplate, on_delete=models.CASCADE, related_name="blocks")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    start_time = models.TimeField()
    end_time = models.TimeField()
    # Empty means any appointment type may be booked in the block.
    appointment_types = models.ManyToManyField(AppointmentType, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["template", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_time__gt=models.F("start_time")), name="availability_block_ordered"),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="availability_block_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class ScheduleException(models.Model):
    """Time off, a blocked stretch or extra hours, for one provider or (no provider) a whole location."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="schedule_exceptions"
    )
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ExceptionKind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["provider", "starts_at", "ends_at"], name="sched_exc_provider_time_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="schedule_exception_ordered"),
            models.CheckConstraint(
                condition=models.Q(provider__isnull=False) | models.Q(location__isnull=False),
                name="schedule_exception_has_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"

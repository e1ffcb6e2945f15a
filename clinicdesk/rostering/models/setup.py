"""What a roster is made of: shift types, coverage needs, contracts, availability, time off and preferences."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ..choices import RequestStatus

WEEKDAY_CHOICES = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"),
                   (6, "Sunday")]


class ShiftType(models.Model):
    """A shift of a department (Day 07:00-15:00, Night 23:00-07:00): start, length, and whether it counts as a night."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey("core.Department", on_delete=models.CASCADE, related_name="shift_types")
    code = models.SlugField(max_length=10, help_text="Shown in the roster grid (D, E, N).")
    name = models.CharField(max_length=60)
    start_time = models.TimeField()
    length_minutes = models.PositiveIntegerField(validators=[MinValueValidator(30), MaxValueValidator(24 * 60)])
    is_night = models.BooleanField(default=False, help_text="Counts towards the fair share of nights.")
    skills = models.ManyToManyField("staff.Skill", blank=True, related_name="+",
                                    help_text="Skills everyone on this shift must hold.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department", "start_time", "code"]
        constraints = [
            models.UniqueConstraint(fields=["department", "code"], name="roster_shift_type_code_unique"),
            models.CheckConstraint(condition=models.Q(length_minutes__gte=30) & models.Q(length_minutes__lte=1440),
                                   name="roster_shift_type_length_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.start_time:%H:%M}, {self.hours:g} h)"

    @property
    def start_minute(self) -> int:
        return self.start_time.hour * 60 + self.start_time.minute

    @property
    def hours(self) -> float:
        return self.length_minutes / 60

    @property
    def over_midnight(self) -> bool:
        return self.start_minute + self.length_minutes > 24 * 60

    def span_on(self, day: date) -> tuple[datetime, datetime]:
        """Naive local start and end of this shift worked on `day` (the end falls next day over midnight)."""
        start = datetime.combine(day, self.start_time)
        return start, start + timedelta(minutes=self.length_minutes)


class CoverageNeed(models.Model):
    """How many people a shift needs on a weekday or a date, optionally with a skill: a minimum and a preferred number."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey("core.Department", on_delete=models.CASCADE, related_name="coverage_needs")
    location = models.ForeignKey("core.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    shift_type = models.ForeignKey(ShiftType, on_delete=models.CASCADE, related_name="coverage_needs")
    skill = models.ForeignKey("staff.Skill", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, choices=WEEKDAY_CHOICES,
                                               help_text="Empty with no date: every day.")
    on_date = models.DateField(null=True, blank=True, help_text="A specific date; it replaces the weekday rule that day.")
    minimum = models.PositiveSmallIntegerField(default=0)
    preferred = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department", "shift_type", "skill", "weekday", "on_date", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(preferred__gte=models.F("minimum")),
                                   name="roster_coverage_preferred_not_below_minimum"),
            models.CheckConstraint(condition=models.Q(weekday__isnull=True) | models.Q(on_date__isnull=True),
                                   name="roster_coverage_weekday_or_date"),
        ]

    def __str__(self) -> str:
        return f"{self.shift_type.code} {self.skill or 'any'}: {self.minimum}-{self.preferred}"

    def clean(self) -> None:
        if self.preferred is not None and self.minimum is not None and self.preferred < self.minimum:
            raise ValidationError({"preferred": "The preferred number cannot be below the minimum."})
        if self.weekday is not None and self.on_date is not None:
            raise ValidationError({"on_date": "Give a weekday or a date, not both."})

    def applies_on(self, day: date) -> bool:
        if self.on_date is not None:
            return self.on_date == day
        return self.weekday is None or self.weekday == day.weekday()


class Contract(models.Model):
    """A person's working rules for the roster: hours, shifts per type, runs of shifts and days off, rest, weekends."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    staff = models.OneToOneField("staff.StaffMember", on_delete=models.CASCADE, related_name="roster_contract")
    min_hours_per_week = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    max_hours_per_week = models.DecimalField(max_digits=5, decimal_places=2, default=40)
    max_shifts_by_type = models.JSONField(default=dict, blank=True,
                                          help_text='Per shift code in a 4-week period, e.g. {"N": 8}; 0 = never.')
    max_consecutive_shifts = models.PositiveSmallIntegerField(null=True, blank=True, default=5)
    min_consecutive_shifts = models.PositiveSmallIntegerField(default=1)
    min_consecutive_days_off = models.PositiveSmallIntegerField(default=1)
    min_rest_hours = models.PositiveSmallIntegerField(default=11, help_text="Between the end of one shift and the next.")
    max_weekends = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Weekends worked in a 4-week period.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["staff"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_hours_per_week__gte=models.F("min_hours_per_week")),
                                   name="roster_contract_hours_order"),
            models.CheckConstraint(condition=models.Q(min_consecutive_shifts__gte=1) & models.Q(min_consecutive_days_off__gte=1),
                                   name="roster_contract_min_runs_positive"),
        ]

    def __str__(self) -> str:
        return f"Contract of {self.staff}"

    def clean(self) -> None:
        if self.min_hours_per_week is not None and self.max_hours_per_week is not None \
                and self.max_hours_per_week < self.min_hours_per_week:
            raise ValidationError({"max_hours_per_week": "The maximum hours cannot be below the minimum."})
        if not isinstance(self.max_shifts_by_type, dict) or not all(
            isinstance(v, int) and v >= 0 for v in self.max_shifts_by_type.values()
        ):
            raise ValidationError({"max_shifts_by_type": 'Give whole numbers per shift code, e.g. {"N": 8}.'})


class Unavailability(models.Model):
    """Days a person cannot work at all (a standing commitment, a course): a hard day off for the solver."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey("staff.StaffMember", on_delete=models.CASCADE, related_name="unavailability")
    start = models.DateField()
    end = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "staff"]
        constraints = [models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="roster_unavailability_dates")]

    def __str__(self) -> str:
        return f"{self.staff} unavailable {self.start} to {self.end}"


class TimeOffRequest(models.Model):
    """A request for days off; once approved the days are hard days off on every roster that covers them."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey("staff.StaffMember", on_delete=models.CASCADE, related_name="time_off_requests")
    start = models.DateField()
    end = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    decided_by = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "staff", "id"]
        indexes = [models.Index(fields=["organization", "status", "start"], name="roster_timeoff_org_status")]
        constraints = [models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="roster_timeoff_dates")]

    def __str__(self) -> str:
        return f"Time off of {self.staff} {self.start} to {self.end}"

    def clean(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise ValidationError({"end": "The last day off cannot be before the first."})
        if self.start and self.end and (self.end - self.start).days > 62:
            raise ValidationError({"end": "Ask for at most two months at a time."})

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


class ShiftPreference(models.Model):
    """A wish to work (or not) a shift on a date, with a weight the solver weighs against other wishes."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey("staff.StaffMember", on_delete=models.CASCADE, related_name="shift_preferences")
    on_date = models.DateField()
    shift_type = models.ForeignKey(ShiftType, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                   help_text="Empty: any shift that day.")
    wants = models.BooleanField(default=False, help_text="Checked: wants this shift; unchecked: would rather not work it.")
    weight = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1), MaxValueValidator(100)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["on_date", "staff", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(wants=False) | models.Q(shift_type__isnull=False),
                                   name="roster_preference_wants_a_shift"),
        ]

    def __str__(self) -> str:
        return f"{self.staff} {'wants' if self.wants else 'not'} {self.shift_type or 'any shift'} {self.on_date}"

    def clean(self) -> None:
        if self.wants and self.shift_type_id is None:
            raise ValidationError({"shift_type": "Name the shift you would like to work."})

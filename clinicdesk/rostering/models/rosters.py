"""A roster for a department over a period: its assignments, the solver's runs and progress, swap and
give-away requests, and each person's secret calendar feed."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ..choices import ChangeKind, ChangeStatus, PeriodStatus, SolveStatus
from .setup import ShiftType


class RosterPeriod(models.Model):
    """One version of a department's roster for a run of dates; published versions are frozen."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="roster_periods")
    location = models.ForeignKey("core.Location", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    start = models.DateField()
    end = models.DateField()
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=PeriodStatus.choices, default=PeriodStatus.DRAFT)
    night_weight = models.PositiveSmallIntegerField(default=10)
    weekend_weight = models.PositiveSmallIntegerField(default=10)
    holiday_weight = models.PositiveSmallIntegerField(default=10)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    snapshot = models.JSONField(default=dict, blank=True, help_text="The roster as published; never changed after.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start", "department", "-version"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="roster_period_dates"),
            models.UniqueConstraint(fields=["department", "start", "version"], name="roster_period_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}" if self.version > 1 else self.name

    def clean(self) -> None:
        if self.start and self.end:
            if self.end < self.start:
                raise ValidationError({"end": "The last day cannot be before the first."})
            if (self.end - self.start).days >= 62:
                raise ValidationError({"end": "A roster covers at most 62 days."})

    @property
    def is_published(self) -> bool:
        return self.status == PeriodStatus.PUBLISHED

    @property
    def is_editable(self) -> bool:
        return self.status == PeriodStatus.DRAFT

    @property
    def day_count(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.day_count)]


class RosterAssignment(models.Model):
    """Who works which shift on a date in a roster. A locked row stays as it is when the rest is re-solved; a locked
    row without a shift is a locked day off."""

    period = models.ForeignKey(RosterPeriod, on_delete=models.CASCADE, related_name="assignments")
    staff = models.ForeignKey("staff.StaffMember", on_delete=models.CASCADE, related_name="roster_assignments")
    day = models.DateField()
    shift_type = models.ForeignKey(ShiftType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    locked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period", "day", "staff"]
        constraints = [
            models.UniqueConstraint(fields=["period", "staff", "day"], name="roster_assignment_one_a_day"),
            models.CheckConstraint(condition=models.Q(shift_type__isnull=False) | models.Q(locked=True),
                                   name="roster_assignment_off_only_when_locked"),
        ]

    def __str__(self) -> str:
        return f"{self.staff} {self.day}: {self.shift_type.code if self.shift_type else 'off'}"


class SolveRun(models.Model):
    """One run of the solver on a roster: its time limit, how it went, the cost by rule, and the gaps when no
    roster meets the minimum cover."""

    period = models.ForeignKey(RosterPeriod, on_delete=models.CASCADE, related_name="solve_runs")
    status = models.CharField(max_length=12, choices=SolveStatus.choices, default=SolveStatus.QUEUED)
    time_limit_seconds = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(600)])
    keep_locks = models.BooleanField(default=True)
    result_status = models.CharField(max_length=12, blank=True, help_text="optimal, feasible, infeasible or unknown")
    objective = models.IntegerField(null=True, blank=True)
    bound = models.IntegerField(null=True, blank=True)
    seconds = models.FloatField(default=0)
    cost_by_rule = models.JSONField(default=dict, blank=True)
    gaps = models.JSONField(default=list, blank=True)
    messages = models.JSONField(default=list, blank=True, help_text="Why the run could not start (conflicting locks).")
    cancel_requested = models.BooleanField(default=False)
    incumbent = models.JSONField(default=list, blank=True,
                                 help_text="The best roster so far while the run works: [staff id, ISO day, shift code] rows.")
    incumbent_objective = models.IntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of a running solve.")
    started_by = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Solve {self.pk} of {self.period}: {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in (SolveStatus.QUEUED, SolveStatus.RUNNING)


class SolveProgress(models.Model):
    """One improvement found during a run: what the progress bar and the objective-over-time chart show."""

    run = models.ForeignKey(SolveRun, on_delete=models.CASCADE, related_name="progress")
    seconds = models.FloatField()
    objective = models.IntegerField()
    bound = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "seconds", "id"]

    def __str__(self) -> str:
        return f"{self.seconds:.1f} s: {self.objective}"


class ShiftChangeRequest(models.Model):
    """A give-away (a colleague takes my shift) or a swap (we trade shifts): the colleague accepts, the manager approves."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(RosterPeriod, on_delete=models.CASCADE, related_name="change_requests")
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    requester = models.ForeignKey("staff.StaffMember", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    colleague = models.ForeignKey("staff.StaffMember", on_delete=models.CASCADE, related_name="+")
    colleague_day = models.DateField(null=True, blank=True, help_text="For a swap: the colleague's shift I take.")
    status = models.CharField(max_length=12, choices=ChangeStatus.choices, default=ChangeStatus.OFFERED)
    note = models.CharField(max_length=200, blank=True)
    decided_by = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(requester=models.F("colleague")), name="roster_change_not_self"),
            models.CheckConstraint(condition=models.Q(kind=ChangeKind.GIVEAWAY) | models.Q(colleague_day__isnull=False),
                                   name="roster_change_swap_has_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.requester} on {self.day}"


def new_feed_key() -> str:
    return secrets.token_urlsafe(12)


class RosterFeed(models.Model):
    """A person's secret iCalendar address. The URL carries the key and an HMAC of it under the site's secret, so a
    copy of the database alone does not give the addresses; rotating makes a new key and revokes the old."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey("staff.StaffMember", on_delete=models.CASCADE, related_name="roster_feeds")
    key = models.CharField(max_length=24, unique=True, default=new_feed_key, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_accessed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["staff", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["staff"], condition=models.Q(revoked_at__isnull=True),
                                    name="roster_feed_one_working_per_person"),
        ]

    def __str__(self) -> str:
        return f"Roster feed of {self.staff}"

"""Objectives per department and period, their key results bound to live KPIs, and each key result's daily history."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Department, Location, Organization

from .choices import Direction, KeyResultStatus, PeriodKind

FIGURE = {"max_digits": 14, "decimal_places": 2}


class Objective(models.Model):
    """What a department means to achieve in a period; its key results say how the office will know."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="objectives")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="objectives_owned")
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    period_kind = models.CharField(max_length=10, choices=PeriodKind.choices, default=PeriodKind.QUARTER)
    start = models.DateField()
    end = models.DateField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start", "department__name", "title", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="goals_objective_period")]
        indexes = [models.Index(fields=["organization", "start", "end"], name="goals_objective_org_period")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise ValidationError({"end": "The period ends before it starts."})
        if self.department_id and self.organization_id and self.department.organization_id != self.organization_id:
            raise ValidationError({"department": "Choose a department of this practice."})
        if self.owner_id and self.organization_id and self.owner.organization_id != self.organization_id:
            raise ValidationError({"owner": "Choose a person of this practice."})


class KeyResult(models.Model):
    """One measurable result of an objective: a KPI from the registry, its baseline, a target and which side is good,
    optionally narrowed to a department, a location or a provider."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="key_results")
    kpi_code = models.CharField("KPI", max_length=40)
    target = models.DecimalField(**FIGURE)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    baseline = models.DecimalField(**FIGURE)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["objective", "position", "id"]

    def __str__(self) -> str:
        return f"{self.kpi_code} {self.get_direction_display().lower()} {self.target}"

    def clean(self) -> None:
        from .kpis import registry

        kpi = registry.get(self.kpi_code)
        if kpi is None:
            raise ValidationError({"kpi_code": "Choose a KPI from the list."})
        errors = {}
        for name in ("department", "location", "provider"):
            value_id = getattr(self, f"{name}_id")
            if value_id is None:
                continue
            if name not in kpi.scopes:
                errors[name] = f"{kpi.name} cannot be narrowed to one {name}."
            elif getattr(self, name).organization_id != self.organization_id:
                errors[name] = f"Choose a {name} of this practice."
        if self.target is not None and self.baseline is not None and self.target == self.baseline:
            errors["target"] = "The target equals the baseline: nothing to progress towards."
        if errors:
            raise ValidationError(errors)


class KeyResultSnapshot(models.Model):
    """A key result's value and status as of one day, recorded by the daily task (the history behind the chart)."""

    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="snapshots")
    taken_on = models.DateField()
    value = models.DecimalField(**FIGURE, null=True, blank=True)
    status = models.CharField(max_length=10, choices=KeyResultStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key_result", "taken_on"]
        constraints = [models.UniqueConstraint(fields=["key_result", "taken_on"], name="goals_snapshot_once_a_day")]

    def __str__(self) -> str:
        return f"{self.key_result_id} {self.taken_on}: {self.value}"

"""Staff tasks and notes between staff: the office's shared to-do list, linked to patients and visits."""

from django.conf import settings
from django.db import models

from clinicdesk.core.choices import Role
from clinicdesk.core.models import Organization

from ..choices import StaffTaskKind, StaffTaskStatus


class StaffTask(models.Model):
    """Work for a person or for everyone in a role ("call Mrs Lee about her results"), with a due date."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=StaffTaskKind.choices, default=StaffTaskKind.OTHER)
    status = models.CharField(max_length=10, choices=StaffTaskStatus.choices, default=StaffTaskStatus.OPEN)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="staff_tasks")
    assignee_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    due_on = models.DateField(null=True, blank=True)
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="staff_tasks")
    appointment = models.ForeignKey("scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A claim or other record of a later app, named until that app links it properly ("Claim 2026-00042").
    reference = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["status", "due_on", "created_at"]
        indexes = [models.Index(fields=["organization", "status", "due_on"], name="staff_task_inbox_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(assignee__isnull=False) | ~models.Q(assignee_role=""),
                                   name="staff_task_has_assignee"),
        ]

    def __str__(self) -> str:
        return self.title


class TaskNote(models.Model):
    """A note on a task from one staff member to the others."""

    task = models.ForeignKey(StaffTask, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task", "created_at"]

    def __str__(self) -> str:
        return self.text[:40]

"""Bulk messages to a filtered list of patients."""

from django.conf import settings
from django.db import models

from clinicdesk.core.models import Organization

from ..choices import CampaignStatus, MessageChannel


class Campaign(models.Model):
    """A bulk message to a filtered list of patients, sent at a throttled pace, with a report."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    template = models.ForeignKey("MessageTemplate", on_delete=models.PROTECT, related_name="campaigns")
    # The patient filter as the form saved it ({"age_min": 50, "last_visit_before": "2026-01-01", ...}).
    filters = models.JSONField(default=dict, blank=True)
    per_minute = models.PositiveIntegerField(default=60, help_text="Messages sent per minute at most.")
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    recipients = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(per_minute__gte=1), name="campaign_per_minute_positive")]

    def __str__(self) -> str:
        return self.name

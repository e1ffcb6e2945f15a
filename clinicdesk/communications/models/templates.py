"""Templates for letters, e-mails and text messages, with every saved version kept."""

from django.conf import settings
from django.db import models

from clinicdesk.core.models import AppendOnly, Organization

from ..choices import MessagePurpose, TemplateKind


class MessageTemplate(models.Model):
    """A named template ("72-hour reminder", "Work excuse"); its wording lives in numbered versions."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(max_length=60, help_text="Stable name used by reminder plans and campaigns.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=TemplateKind.choices)
    purpose = models.CharField(max_length=20, choices=MessagePurpose.choices, default=MessagePurpose.GENERAL)
    is_active = models.BooleanField(default=True)
    # The newest version; older ones stay for the messages and letters that used them.
    current = models.ForeignKey("TemplateVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="message_template_code_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class TemplateVersion(AppendOnly):
    """One saved wording of a template; never changed, so a sent message can always show what it said."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # The merge fields the wording uses, found when it was saved ("patient.first_name", ...).
    merge_fields = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="template_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"

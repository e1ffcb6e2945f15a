"""The outbox: every e-mail and text message the practice sends or receives, with its delivery history."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone

from clinicdesk.core.models import AppendOnly, Location, Organization
from clinicdesk.patients.models import new_public_id

from ..choices import InboundAction, LinkAction, MessageChannel, MessagePurpose, MessageState


class Message(models.Model):
    """One message to one address. Sent at most once: `idempotency_key` is unique, and a send is claimed
    with a lease before the provider is called, so a second worker or a retry cannot send it again."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=14, unique=True, default=new_public_id, editable=False)
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    purpose = models.CharField(max_length=20, choices=MessagePurpose.choices, default=MessagePurpose.GENERAL)
    state = models.CharField(max_length=12, choices=MessageState.choices, default=MessageState.QUEUED)
    to_address = models.CharField(max_length=254, blank=True, help_text="E-mail address or E.164 phone number.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    template_version = models.ForeignKey("TemplateVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    appointment = models.ForeignKey("scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    waitlist_offer = models.ForeignKey("scheduling.WaitlistOffer", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    recall = models.ForeignKey("scheduling.Recall", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    campaign = models.ForeignKey("Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    # Unique per message ever made: "reminder:<appointment>:<hours>", "campaign:<id>:<patient>", ...
    idempotency_key = models.CharField(max_length=120, unique=True)
    send_after = models.DateTimeField(default=timezone.now, help_text="Not before this moment (quiet hours move it).")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker that claims the message holds it until this moment; after that another may look at it.
    claimed_until = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    provider_message_id = models.CharField(max_length=80, blank=True, db_index=True)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it failed or was not sent.")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "send_after"], name="message_state_due_idx"),
            models.Index(fields=["organization", "-created_at"], name="message_org_recent_idx"),
            models.Index(fields=["patient", "-created_at"], name="message_patient_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.to_address or '(no address)'}: {self.get_state_display()}"


def attachment_path(instance: "MessageAttachment", filename: str) -> str:
    """A random name under the practice's outbox folder (never a public path); the file name is kept in the row."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"outbox/{instance.message.organization_id}/{uuid.uuid4().hex}{suffix}"


class MessageAttachment(models.Model):
    """A file an e-mail carries (a purchase order's PDF...), stored with the message when it is queued, so a
    retry or a second sending attaches the same bytes. Served only through a permission-checked view."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=120, help_text="The name the recipient sees.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_path, max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["message", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(size__gt=0), name="message_attachment_not_empty")]

    def __str__(self) -> str:
        return self.filename


class MessageEvent(AppendOnly):
    """One step in a message's life (queued, sending, sent, delivered, failed...), with the detail."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    state = models.CharField(max_length=12, choices=MessageState.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_state_display()} {self.detail}".strip()


class InboundMessage(models.Model):
    """A text message a patient sent to the practice, and what was done with it."""

    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="inbound_messages")
    in_reply_to = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    from_number = models.CharField(max_length=20)
    to_number = models.CharField(max_length=20)
    body = models.CharField(max_length=1600)
    provider = models.CharField(max_length=40, blank=True)
    provider_message_id = models.CharField(max_length=80, unique=True)
    action = models.CharField(max_length=15, choices=InboundAction.choices, blank=True)
    note = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"From {self.from_number}: {self.body[:40]}"


class ActionLink(models.Model):
    """A signed link in a message (confirm, cancel, reschedule, read a letter, unsubscribe): it expires and
    works once. Only the token's SHA-256 is stored, so the table cannot be used to forge a link."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    action = models.CharField(max_length=12, choices=LinkAction.choices)
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey("scheduling.Appointment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    letter = models.ForeignKey("Letter", null=True, blank=True, on_delete=models.CASCADE, related_name="links")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="links")
    expires_at = models.DateTimeField()
    # The appointment's start when the link was made: a link about a time that staff have since moved acts no more.
    appointment_starts_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} link"

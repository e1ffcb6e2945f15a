"""What the local SMS gateway holds: every text it took from us and every reply typed on its phone page."""

from django.db import models
from django.utils import timezone


class GatewayDirection(models.TextChoices):
    OUTBOUND = "outbound-api", "To a phone"
    INBOUND = "inbound", "From a phone"


class GatewayStatus(models.TextChoices):
    """Twilio's message status words, which the gateway reports in its answers and delivery receipts."""

    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    RECEIVED = "received", "Received"


class GatewayMessage(models.Model):
    """One text in the local gateway, identified like a provider's message (SM + 32 hex digits). An outbound
    text's idempotency key is unique: the same key always answers with the same text, never a second one."""

    sid = models.CharField(max_length=34, unique=True)
    account_sid = models.CharField(max_length=34)
    direction = models.CharField(max_length=12, choices=GatewayDirection.choices)
    to_number = models.CharField(max_length=20)
    from_number = models.CharField(max_length=20)
    body = models.TextField()
    status = models.CharField(max_length=12, choices=GatewayStatus.choices)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    status_callback = models.CharField(max_length=500, blank=True)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["to_number", "created_at"], name="gateway_to_idx"),
            models.Index(fields=["from_number", "created_at"], name="gateway_from_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sid} {self.from_number} → {self.to_number}: {self.status}"

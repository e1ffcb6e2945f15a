"""Card processor webhook events we have handled: one row per event id, so a retried or replayed event is
acknowledged without running its handlers again."""

from django.db import models
from django.utils import timezone


class CardWebhookEvent(models.Model):
    """One event the card processor posted to us and we handled (its id is unique: handled once). Holds the
    processor's ids and amounts only, never a card number; it is the processor's record, not a practice's,
    so it names no organization (the payment it is about does)."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True, help_text="The id of the object the event is about.")
    livemode = models.BooleanField(default=False)
    processor_created_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    handled = models.BooleanField(default=False, help_text="False when no handler was registered for its type.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_id", "created_at"], name="card_event_object_idx")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.event_type}"

"""Text messages patients send us: recorded once, matched to the text they answer, then acted on."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from ..choices import MessageChannel
from ..models import InboundMessage, Message
from .replies import reply_act


def inbound_record(*, from_number: str, to_number: str, body: str, provider: str,
                   provider_message_id: str) -> InboundMessage:
    """Record one inbound text (idempotent by the provider's id: a webhook retried by the provider is one reply).
    It belongs to the most recent text we sent to that number (its practice, patient and message), then
    `reply_act` decides what it means."""
    existing = InboundMessage.objects.filter(provider_message_id=provider_message_id).first()
    if existing is not None:
        return existing
    answered = (Message.objects.filter(channel=MessageChannel.SMS, to_address=from_number)
                .exclude(provider_message_id="").select_related("patient")
                .order_by(F("sent_at").desc(nulls_last=True), "-id").first())
    inbound = InboundMessage(
        from_number=from_number[:20], to_number=to_number[:20], body=body[:1600], provider=provider[:40],
        provider_message_id=provider_message_id[:80],
        organization_id=answered.organization_id if answered else None,
        patient=answered.patient if answered else None, in_reply_to=answered,
    )
    try:
        with transaction.atomic():
            inbound.save(force_insert=True)
            reply_act(inbound=inbound)
    except IntegrityError:
        # The provider retried while the first delivery of this webhook was still being handled.
        return InboundMessage.objects.get(provider_message_id=provider_message_id)
    return inbound

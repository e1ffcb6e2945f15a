"""The demo practice's outbox: a morning of reminders delivered, a few failed or bounced with the provider's
reason, some queued for tomorrow, and the local gateway's copies of the texts so its phone page has threads.

Deterministic for a seed, idempotent (every message has a fixed idempotency key; existing ones are skipped).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinicdesk.patients.models import Patient

from .channels.email import message_id_for
from .choices import MessageChannel, MessagePurpose, MessageState
from .gateway.models import GatewayDirection, GatewayMessage, GatewayStatus
from .gateway.store import new_sid
from .models import Message, MessageEvent

REMINDER = "{practice}: your visit is {day} at {time}. Reply C to confirm or call us to reschedule."
FAILURES = {
    MessageChannel.SMS: "The SMS provider refused the message (HTTP 400): 'To' number is not a valid mobile number. (error 21614)",
    MessageChannel.EMAIL: "Bounced: The email account that you tried to reach does not exist (550)",
}


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add about `patients // 25` messages (at least 12, at most 120) to the demo practice's outbox."""
    org = ctx.organization
    rng = random.Random(f"outbox:{seed}")  # noqa: S311  (demo data, not security)
    people = list(Patient.objects.filter(organization=org, merged_into__isnull=True).order_by("pk")[:400])
    if not people:
        return 0
    count = max(12, min(120, patients // 25))
    existing = set(Message.objects.filter(organization=org, idempotency_key__startswith="demo-outbox:")
                   .values_list("idempotency_key", flat=True))
    now = timezone.now()
    added = 0
    with transaction.atomic():
        for n in range(count):
            key = f"demo-outbox:{seed}:{n}"
            patient = rng.choice(people)
            channel = MessageChannel.SMS if rng.random() < 0.7 else MessageChannel.EMAIL
            roll = rng.random()
            if key in existing:
                continue
            address = patient.phone_mobile if channel == MessageChannel.SMS else patient.email
            if not address:
                continue
            created = now - timedelta(hours=rng.randint(1, 72), minutes=rng.randint(0, 59))
            state = (MessageState.QUEUED if roll < 0.15 else MessageState.FAILED if roll < 0.22
                     else MessageState.BOUNCED if roll < 0.25 and channel == MessageChannel.EMAIL else MessageState.DELIVERED)
            day = (created + timedelta(days=2)).strftime("%a %b %-d")
            message = Message.objects.create(
                organization=org, patient=patient, channel=channel, purpose=MessagePurpose.REMINDER, state=state,
                to_address=address, subject="Your visit" if channel == MessageChannel.EMAIL else "",
                body=REMINDER.format(practice=org.name, day=day, time=f"{rng.choice([8, 9, 10, 11, 14, 15])}:{rng.choice(['00', '30'])}"),
                idempotency_key=key,
                send_after=now + timedelta(hours=rng.randint(8, 20)) if state == MessageState.QUEUED else created,
                attempts=0 if state == MessageState.QUEUED else 1,
                reason=FAILURES[channel] if state in (MessageState.FAILED, MessageState.BOUNCED) else "",
            )
            Message.objects.filter(pk=message.pk).update(created_at=created)
            events = [MessageEvent(message=message, state=MessageState.QUEUED, created_at=created,
                                   detail=f"Due {message.send_after:%Y-%m-%d %H:%M} UTC")]
            if state != MessageState.QUEUED:
                sent = created + timedelta(seconds=rng.randint(2, 40))
                provider_id = new_sid() if channel == MessageChannel.SMS else message_id_for(key)
                if state == MessageState.FAILED:
                    events.append(MessageEvent(message=message, state=state, created_at=sent, detail=message.reason))
                else:
                    Message.objects.filter(pk=message.pk).update(
                        provider=settings.SMS_PROVIDER if channel == MessageChannel.SMS else "email",
                        provider_message_id=provider_id, sent_at=sent,
                        delivered_at=sent + timedelta(seconds=3) if state == MessageState.DELIVERED else None)
                    events.append(MessageEvent(message=message, state=MessageState.SENT, created_at=sent,
                                               detail=f"Taken as {provider_id}"))
                    events.append(MessageEvent(message=message, state=state, created_at=sent + timedelta(seconds=3),
                                               detail="Delivered to the phone." if state == MessageState.DELIVERED
                                               else message.reason))
                    if channel == MessageChannel.SMS:
                        GatewayMessage.objects.create(
                            sid=provider_id, account_sid=settings.SMS_ACCOUNT_SID, direction=GatewayDirection.OUTBOUND,
                            to_number=address, from_number=settings.SMS_FROM_NUMBER or "+15005550006",
                            body=message.body, status=GatewayStatus.DELIVERED, idempotency_key=key, created_at=sent)
            MessageEvent.objects.bulk_create(events)
            added += 1
    if stdout is not None:
        stdout.write(f"  outbox: {added} messages")
    return added

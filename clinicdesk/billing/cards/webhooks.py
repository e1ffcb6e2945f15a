"""The card processor's webhooks: Stripe's signature scheme and the registry of handlers per event type.

Stripe signs each event it posts with `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"
under the endpoint's webhook secret>` (several v1 entries while a secret is being rolled). We accept an event
only when one v1 matches, compared in constant time, and `t` is within SIGNATURE_TOLERANCE_SECONDS of our clock,
so a captured request cannot be replayed later. Each event id is handled once (billing.CardWebhookEvent): the
processor retries until it gets a 2xx and may send an event twice.

Payments code registers what to do per event type with `register_card_event_handler`; an event type with no
handler is acknowledged and ignored, as Stripe expects of an endpoint subscribed to more than it needs.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

SIGNATURE_TOLERANCE_SECONDS = 300

# The event types the local processor sends (Stripe sends many more; unknown ones are acknowledged and ignored).
PAYMENT_INTENT_SUCCEEDED = "payment_intent.succeeded"
PAYMENT_INTENT_PAYMENT_FAILED = "payment_intent.payment_failed"
PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED = "payment_intent.amount_capturable_updated"
PAYMENT_INTENT_CANCELED = "payment_intent.canceled"
CHARGE_REFUNDED = "charge.refunded"
PAYOUT_PAID = "payout.paid"


@dataclass(frozen=True)
class CardEvent:
    """One webhook event: its id, type, creation time (unix) and the object it is about (a dict as sent)."""

    id: str
    type: str
    created: int
    object: dict
    livemode: bool = False


CardEventHandler = Callable[[CardEvent], None]
_handlers: dict[str, list[CardEventHandler]] = {}


def register_card_event_handler(event_type: str, handler: CardEventHandler) -> None:
    """Run `handler(event)` for every event of `event_type` (once per event id, inside the transaction that
    records the event: if it raises, nothing is recorded and the processor retries). Registering the same
    handler twice has no effect; call this from an AppConfig.ready()."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def unregister_card_event_handler(event_type: str, handler: CardEventHandler) -> None:
    """Forget a handler (tests)."""
    handlers = _handlers.get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def card_event_handlers(event_type: str) -> list[CardEventHandler]:
    return list(_handlers.get(event_type, ()))


def stripe_signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of "<timestamp>.<body>" under the webhook secret (Stripe's v1 scheme)."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `body`, as the processor sends it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={stripe_signature(secret, timestamp, body)}"


def signature_valid(header: str, body: bytes, secret: str, *, now: float | None = None,
                    tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """True when `header` carries a v1 signature of `body` under `secret` made within `tolerance` seconds."""
    if not secret or not header:
        return False
    timestamp, signatures = None, []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = stripe_signature(secret, timestamp, body)
    # Every candidate is compared (no early exit), each in constant time.
    matches = [hmac.compare_digest(expected, given) for given in signatures]
    return any(matches)


def card_event_parse(payload: object) -> CardEvent:
    """A CardEvent from the posted JSON; ValueError names what is missing."""
    if not isinstance(payload, dict):
        raise ValueError("Expected a JSON object.")
    event_id, event_type = payload.get("id"), payload.get("type")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise ValueError("The event has no id.")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise ValueError("The event has no type.")
    if not isinstance(obj, dict):
        raise ValueError("The event has no data.object.")
    created = payload.get("created")
    return CardEvent(id=event_id, type=event_type, created=created if isinstance(created, int) else 0, object=obj,
                     livemode=bool(payload.get("livemode")))


def card_event_handle(*, event: CardEvent, payload: dict) -> bool:
    """Record the event and run its handlers, once per event id, in one transaction: a replay (or a copy racing
    this one) finds the id taken and runs nothing; a handler that raises rolls the record back so the
    processor's retry runs it again. Returns False for a replay."""
    from datetime import UTC, datetime

    from django.db import IntegrityError, transaction

    from ..models import CardWebhookEvent

    handlers = card_event_handlers(event.type)
    object_id = event.object.get("id")
    created_at = datetime.fromtimestamp(event.created, tz=UTC) if 0 < event.created < 2**33 else None
    with transaction.atomic():
        record = CardWebhookEvent(
            event_id=event.id, event_type=event.type, object_id=object_id[:255] if isinstance(object_id, str) else "",
            livemode=event.livemode, processor_created_at=created_at, payload=payload, handled=bool(handlers),
        )
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            return False
        for handler in handlers:
            handler(event)
    return True

"""The local gateway's own writes and reads: taking a text (once per idempotency key), replies typed on the
phone page, and the phone page's threads, limited to numbers the user's practice has texted."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User

from ..choices import MessageChannel
from ..models import Message
from . import numbers, receipts
from .models import GatewayDirection, GatewayMessage, GatewayStatus


class GatewayRefusal(Exception):
    """The gateway refuses a request the way the provider does: HTTP status, error code, message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# Lets a test that runs the gateway in its own process end the hang of the "stall" numbers early.
stall_release = threading.Event()


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


@dataclass(frozen=True)
class Accepted:
    text: GatewayMessage
    replayed: bool


def gateway_text_accept(*, account_sid: str, to: str, from_: str, body: str, status_callback: str,
                        idempotency_key: str) -> Accepted:
    """Take one outbound text. The same idempotency key answers with the text already taken, never a second one
    (the insert finds it: a text is taken with one statement, a replay costs a second one)."""
    if not numbers.E164.match(to or ""):
        raise GatewayRefusal(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not numbers.E164.match(from_ or ""):
        raise GatewayRefusal(400, 21212, f"The 'From' number {from_} is not a valid phone number.")
    if not body:
        raise GatewayRefusal(400, 21602, "Message body is required.")
    if len(body) > 1600:
        raise GatewayRefusal(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if to in numbers.PERMANENT:
        code, message = numbers.PERMANENT[to]
        raise GatewayRefusal(400, code, message)
    if numbers.is_down(to):
        raise GatewayRefusal(503, 20503, "Service temporarily unavailable.")
    text = GatewayMessage(sid=new_sid(), account_sid=account_sid, direction=GatewayDirection.OUTBOUND, to_number=to,
                          from_number=from_, body=body, status=GatewayStatus.QUEUED,
                          idempotency_key=idempotency_key or None, status_callback=status_callback)
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint, so a replayed key leaves the caller's transaction usable
                _insert(text)
        else:
            _insert(text)  # one statement, its own transaction (no BEGIN and COMMIT round trips)
    except IntegrityError:
        # The key was taken before (a retry), or a second request with it raced ours and won: its text is the one.
        existing = GatewayMessage.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        return Accepted(existing, replayed=True)
    if numbers.stalls(to):
        # Stored, and the answer (and the receipts) held back: a worker killed now has sent the text without
        # learning it, which is the case exactly-once has to survive.
        stall_release.wait(settings.SMS_GATEWAY_STALL_SECONDS)
    sid = text.sid
    transaction.on_commit(lambda: receipts.receipt_due(sid))
    return Accepted(text, replayed=False)


_COLUMNS = [f for f in GatewayMessage._meta.concrete_fields if not f.primary_key]


def _insert(text: GatewayMessage) -> None:
    """Store a new text with one plain INSERT: the gateway takes thousands a minute and a model save (signals,
    the query compiler) costs several times the CPU. The row is the one `save(force_insert=True)` would write."""
    text.updated_at = timezone.now()  # auto_now, as save() would set it
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {GatewayMessage._meta.db_table} ({', '.join(f.column for f in _COLUMNS)}) "  # noqa: S608  (our table)
            f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) RETURNING id",
            [f.get_db_prep_save(getattr(text, f.attname), connection) for f in _COLUMNS],
        )
        text.pk = cursor.fetchone()[0]
    text._state.adding = False
    text._state.db = connection.alias


def _texted_numbers(actor: User) -> list[str]:
    return list(
        Message.objects.filter(organization_id=actor.organization_id, channel=MessageChannel.SMS)
        .exclude(provider_message_id="").values_list("to_address", flat=True).distinct().order_by("to_address")
    )


def gateway_phones(*, actor: User) -> list[str]:
    """The numbers the actor's practice has texted through the gateway, for the phone page."""
    return _texted_numbers(actor)


def gateway_thread(*, actor: User, number: str) -> list[GatewayMessage]:
    """Every text to and from `number`, oldest first, if the actor's practice has texted it (else empty)."""
    sids = Message.objects.filter(organization_id=actor.organization_id, channel=MessageChannel.SMS,
                                  to_address=number).exclude(provider_message_id="").values("provider_message_id")
    outbound = GatewayMessage.objects.filter(direction=GatewayDirection.OUTBOUND, sid__in=sids)
    if not outbound.exists():
        return []
    audit_event(action="sms_gateway.viewed", actor=actor, organization_id=actor.organization_id,
                summary=f"Local SMS gateway thread of {number}")
    inbound = GatewayMessage.objects.filter(direction=GatewayDirection.INBOUND, from_number=number)
    return sorted([*outbound, *inbound], key=lambda t: (t.created_at, t.pk))


def gateway_reply(*, actor: User, number: str, body: str) -> GatewayMessage:
    """A patient's reply typed on the phone page: stored, then posted signed to our inbound webhook."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Type the reply."})
    if len(body) > 1600:
        raise ValidationError({"body": "A text message holds at most 1600 characters."})
    last = (Message.objects.filter(organization_id=actor.organization_id, channel=MessageChannel.SMS, to_address=number)
            .exclude(provider_message_id="").order_by(F("sent_at").desc(nulls_last=True), "-id").first())
    if last is None:
        raise ValidationError({"number": f"Your practice has not texted {number} through the local gateway."})
    ours = GatewayMessage.objects.filter(sid=last.provider_message_id).values_list("from_number", flat=True).first()
    with transaction.atomic():
        text = GatewayMessage.objects.create(
            sid=new_sid(), account_sid=settings.SMS_ACCOUNT_SID, direction=GatewayDirection.INBOUND,
            to_number=ours or settings.SMS_FROM_NUMBER, from_number=number, body=body, status=GatewayStatus.RECEIVED,
        )
        audit_event(action="sms_gateway.reply_typed", actor=actor, organization_id=actor.organization_id,
                    summary=f"Reply from {number} typed on the local SMS gateway")
        sid = text.sid
        transaction.on_commit(lambda: receipts.dispatch(lambda: receipts.inbound_deliver(sid)))
    return text

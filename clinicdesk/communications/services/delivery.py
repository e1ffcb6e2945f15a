"""Sending what the outbox holds, exactly once, and recording what the providers report back.

A send goes in three steps. (1) Claim: one conditional UPDATE moves the message from queued (and due) to
sending, counts the attempt and sets a lease; a second worker's UPDATE then matches nothing. (2) Send: the
channel is called outside any transaction, with the message's idempotency key. (3) Record: sent with the
provider's id, back to queued with a back-off for a temporary failure, failed with the provider's reason
for a permanent one. A worker that dies between (1) and (3) leaves the message sending; once its lease has
run out the periodic sweep hands it to another worker, which sends with the same key, so the provider (the
local gateway honours the key) answers with the text it already took instead of sending a second one.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditOutcome

from ..channels import PermanentFailure, ProviderReceipt, TemporaryFailure
from ..channels.email import PROVIDER_NAME as EMAIL_PROVIDER
from ..channels.email import email_send
from ..channels.sms import sms_provider
from ..choices import MessageChannel, MessageState
from ..models import Message, MessageEvent
from .attachments import attachments_of
from .outbox import message_queue, opted_out_pairs, send_batches, send_batches_on_commit, suppression_reason_known

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Minutes to wait after the 1st, 2nd, ... failed attempt.
BACKOFF_MINUTES = (1, 2, 4, 8, 16, 32)
# How far along a message is; a report never moves a message back (a late "sent" after "delivered").
_RANK = {MessageState.QUEUED: 0, MessageState.SENDING: 0, MessageState.SENT: 1, MessageState.DELIVERED: 2,
         MessageState.FAILED: 2, MessageState.BOUNCED: 2}
# The provider's status words that mean something to us (queued, accepted, sending... do not).
SMS_STATUS = {"sent": MessageState.SENT, "delivered": MessageState.DELIVERED,
              "undelivered": MessageState.FAILED, "failed": MessageState.FAILED}


def backoff(attempt: int) -> timedelta:
    """The wait before trying again after failed attempt number `attempt` (1-based)."""
    return timedelta(minutes=BACKOFF_MINUTES[min(attempt, len(BACKOFF_MINUTES)) - 1])


def sms_status_callback_url(message: Message, *, webhook: str | None = None) -> str:
    """Where the provider posts this text's delivery receipts; names the message, so a receipt that arrives
    before the worker has recorded the provider's id still finds it. `webhook` is the receipt webhook's
    address (`sms_status_webhook_url`) when a batch has looked it up once already."""
    return f"{webhook or sms_status_webhook_url()}?m={message.public_id}"


def sms_status_webhook_url() -> str:
    """The absolute address of the SMS receipt webhook (without the message's name)."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('communications_public:sms_status')}"


def _due() -> Q:
    now = timezone.now()
    return Q(state=MessageState.QUEUED, send_after__lte=now) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def _lease_expired() -> Q:
    return Q(state=MessageState.SENDING, claimed_until__lt=timezone.now())


def _claim_many(message_ids: list[int]) -> list[int]:
    """Claim those of `message_ids` that are due (or whose worker's lease ran out) in one conditional UPDATE:
    sending, one more attempt, leased. Of two workers claiming the same message, one gets it."""
    ids = sorted(set(message_ids))
    if not ids:
        return []
    now = timezone.now()
    lease_end = now + timedelta(seconds=settings.MESSAGE_SEND_LEASE_SECONDS)
    if connection.vendor == "postgresql":
        # A row a concurrent claimer updated is checked again after its commit: no longer due, so not ours.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {Message._meta.db_table} SET state = %s, attempts = attempts + 1, claimed_until = %s,
                    updated_at = %s
                    WHERE id = ANY(%s) AND ((state = %s AND send_after <= %s
                                             AND (next_attempt_at IS NULL OR next_attempt_at <= %s))
                                            OR (state = %s AND claimed_until < %s))
                    RETURNING id""",  # noqa: S608  (the table name is ours; every value is a parameter)
                [MessageState.SENDING, lease_end, now, ids, MessageState.QUEUED, now, now, MessageState.SENDING, now],
            )
            return sorted(row[0] for row in cursor.fetchall())
    # SQLite: the write transaction is IMMEDIATE, so no other writer runs between the read and the update.
    with transaction.atomic():
        claimed = list(Message.objects.filter(_due() | _lease_expired(), pk__in=ids).values_list("pk", flat=True))
        Message.objects.filter(pk__in=claimed).update(
            state=MessageState.SENDING, attempts=F("attempts") + 1, claimed_until=lease_end, updated_at=now)
    return sorted(claimed)


def message_deliver(*, message_id: int) -> str:
    """Send one message if it is due and nobody else holds it; returns what happened (sent, retry, failed,
    suppressed, skipped). Not atomic on purpose: the provider is called between two short transactions."""
    return messages_deliver(message_ids=[message_id])[message_id]


def messages_deliver(*, message_ids: list[int]) -> dict[int, str]:
    """Send a batch: claim those that are due in one statement, check consent for all in one query, send them
    a few at a time over the process's pooled connections, and record the sent ones with one write per table.
    Returns what happened to each id (sent, retry, failed, suppressed, skipped; released when the lease ran
    out before its turn came, so it goes back to the queue untried)."""
    outcomes = dict.fromkeys(message_ids, "skipped")
    claimed = _claim_many(message_ids)
    if not claimed:
        return outcomes
    lease_end = time.monotonic() + settings.MESSAGE_SEND_LEASE_SECONDS
    messages = list(Message.objects.select_related("patient").prefetch_related("attachments")
                    .filter(pk__in=claimed).order_by("pk"))
    opted_out = opted_out_pairs(m.patient_id for m in messages)
    to_send = []
    for message in messages:
        if message.attempts > MAX_ATTEMPTS:
            # Claimed again and again without an outcome: workers die on this message. Stop and tell a person.
            outcomes[message.pk] = _finish(message, MessageState.FAILED,
                                           f"Gave up after {MAX_ATTEMPTS} attempts without an answer.")
            continue
        # Consent or the address may have changed since the message was queued.
        reason = suppression_reason_known(
            patient=message.patient, channel=message.channel, to_address=message.to_address, body=message.body,
            opted_out=(message.patient_id, message.channel) in opted_out)
        if reason:
            outcomes[message.pk] = _finish(message, MessageState.SUPPRESSED, reason)
        else:
            to_send.append(message)
    results = _send_all(to_send, lease_end, webhook=sms_status_webhook_url())
    receipts = [(message, result) for message, result in results if isinstance(result, ProviderReceipt)]
    _record_sent(receipts)
    outcomes.update((message.pk, "sent") for message, _ in receipts)
    released, unexpected = [], None
    for message, result in results:
        if isinstance(result, TemporaryFailure):
            outcomes[message.pk] = _retry_later(message, result.reason)
        elif isinstance(result, PermanentFailure):
            outcomes[message.pk] = _finish(message, MessageState.FAILED, result.reason)
        elif result is None:
            released.append(message.pk)
            outcomes[message.pk] = "released"
        elif isinstance(result, Exception):
            unexpected = unexpected or result
    _release(released)
    if unexpected is not None:
        # What was sent is recorded; the message that hit the error stays claimed until its lease runs out.
        raise unexpected
    return outcomes


_pool: list[ThreadPoolExecutor] = []
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    with _pool_lock:
        if not _pool:
            # Threads that live as long as the worker: each keeps its own pooled connection to the provider.
            _pool.append(ThreadPoolExecutor(max_workers=settings.MESSAGE_SEND_CONCURRENCY,
                                            thread_name_prefix="message-send"))
        return _pool[0]


def _send_all(messages: list[Message], lease_end: float, *, webhook: str) -> list[tuple[Message, object]]:
    """Each message with its receipt, its failure, another exception, or None when its lease had run out
    before its turn (another worker may hold it by now, so it is not sent)."""

    def send_one(message: Message) -> object:
        if time.monotonic() >= lease_end:
            return None
        try:
            return _send(message, webhook=webhook)
        except Exception as exc:  # noqa: BLE001  (reported per message; the batch records the others first)
            return exc

    if settings.MESSAGE_SEND_CONCURRENCY > 1 and len(messages) > 1:
        return list(zip(messages, _executor().map(send_one, messages), strict=True))
    return [(message, send_one(message)) for message in messages]


def _release(message_ids: list[int]) -> None:
    """Back to the queue untried (the attempt not counted), handed out again at once."""
    if not message_ids:
        return
    with transaction.atomic():
        Message.objects.filter(pk__in=message_ids, state=MessageState.SENDING).update(
            state=MessageState.QUEUED, attempts=F("attempts") - 1, claimed_until=None, updated_at=timezone.now())
        send_batches_on_commit(message_ids)


def _send(message: Message, *, webhook: str | None = None) -> ProviderReceipt:
    if message.channel == MessageChannel.SMS:
        return sms_provider().send(to=message.to_address, from_=settings.SMS_FROM_NUMBER, body=message.body,
                                   idempotency_key=message.idempotency_key,
                                   status_callback=sms_status_callback_url(message, webhook=webhook))
    try:
        attachments = attachments_of(message)
    except FileNotFoundError:
        raise PermanentFailure("An attachment of the message is missing from storage.") from None
    return email_send(to=message.to_address, subject=message.subject, body=message.body, html_body=message.html_body,
                      idempotency_key=message.idempotency_key, attachments=attachments)


def _provider_name(message: Message) -> str:
    return settings.SMS_PROVIDER if message.channel == MessageChannel.SMS else EMAIL_PROVIDER


@transaction.atomic
def _record_sent(receipts: list[tuple[Message, ProviderReceipt]]) -> None:
    """Record the sent messages: provider id and sent time (one statement), their events and audit rows (one
    insert each). sent_at is written once: of two workers that sent with one key (a lease ran out), one
    records it. A delivery receipt may have moved a message on already; then its state stays."""
    if not receipts:
        return
    now = timezone.now()
    recorded = _mark_sent(receipts, now)
    done = [(m, r) for m, r in receipts if m.pk in recorded]
    MessageEvent.objects.bulk_create([
        MessageEvent(message=m, state=MessageState.SENT, created_at=now,
                     detail=f"Taken by {_provider_name(m)} as {r.provider_message_id}"[:300]) for m, r in done
    ])
    groups: dict[tuple[str, int], list[Message]] = {}
    for message, _ in done:
        summary = f"{message.get_purpose_display()} by {message.get_channel_display().lower()}"
        groups.setdefault((summary, message.organization_id), []).append(message)
    for (summary, organization_id), targets in groups.items():
        audit_events(targets=targets, action="message.sent", actor=None, organization_id=organization_id,
                     summary=summary)


def _mark_sent(receipts: list[tuple[Message, ProviderReceipt]], now) -> set[int]:
    sent_state = Case(When(state=MessageState.SENDING, then=Value(MessageState.SENT)), default=F("state"))
    if connection.vendor != "postgresql":
        recorded = set()
        for message, receipt in receipts:
            if Message.objects.filter(pk=message.pk, sent_at__isnull=True).update(
                state=sent_state, provider=_provider_name(message), provider_message_id=receipt.provider_message_id,
                sent_at=now, claimed_until=None, next_attempt_at=None, reason="", updated_at=now,
            ):
                recorded.add(message.pk)
        return recorded
    rows = ", ".join(["(%s::bigint, %s::text, %s::text)"] * len(receipts))
    params = [value for message, receipt in receipts
              for value in (message.pk, _provider_name(message), receipt.provider_message_id)]
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} AS m SET
                    state = CASE WHEN m.state = %s THEN %s ELSE m.state END, provider = v.provider,
                    provider_message_id = v.sid, sent_at = %s, claimed_until = NULL, next_attempt_at = NULL,
                    reason = '', updated_at = %s
                FROM (VALUES {rows}) AS v(id, provider, sid)
                WHERE m.id = v.id AND m.sent_at IS NULL
                RETURNING m.id""",  # noqa: S608  (the table name is ours; every value is a parameter)
            [MessageState.SENDING, MessageState.SENT, now, now, *params],
        )
        return {row[0] for row in cursor.fetchall()}


@transaction.atomic
def _finish(message: Message, state: str, reason: str) -> str:
    done = Message.objects.filter(pk=message.pk, state=MessageState.SENDING).update(
        state=state, reason=reason[:300], claimed_until=None, next_attempt_at=None, updated_at=timezone.now())
    if done:
        MessageEvent.objects.create(message=message, state=state, detail=reason[:300])
        audit_event(action=f"message.{state}", actor=None, target=message, patient=message.patient,
                    organization_id=message.organization_id, outcome=AuditOutcome.FAILED if state == MessageState.FAILED else AuditOutcome.SUCCESS,
                    summary=f"{message.get_purpose_display()}: {reason}")
    return str(state)


def _retry_later(message: Message, reason: str) -> str:
    if message.attempts >= MAX_ATTEMPTS:
        return _finish(message, MessageState.FAILED, f"{reason} Gave up after {message.attempts} attempts.")
    next_at = timezone.now() + backoff(message.attempts)
    with transaction.atomic():
        moved = Message.objects.filter(pk=message.pk, state=MessageState.SENDING).update(
            state=MessageState.QUEUED, reason=reason[:300], next_attempt_at=next_at, claimed_until=None,
            updated_at=timezone.now())
        if moved:
            MessageEvent.objects.create(
                message=message, state=MessageState.QUEUED,
                detail=f"Attempt {message.attempts} failed: {reason}"[:260] + f" Next try {next_at:%H:%M} UTC.")
            message_id = message.pk
            transaction.on_commit(lambda: _enqueue(message_id, run_after=next_at))
    return "retry"


def _enqueue(message_id: int, *, run_after=None) -> None:
    from ..tasks import message_send

    if run_after is None:
        message_send.enqueue(message_id=message_id)
    elif message_send.get_backend().supports_defer:
        message_send.using(run_after=run_after).enqueue(message_id=message_id)
    # A backend that cannot wait (the immediate one in development) leaves the retry to the periodic sweep.


def outbox_dispatch_due(*, limit: int = 2000) -> int:
    """Hand due messages to the workers: queued ones whose time has come, and sending ones whose worker's lease
    ran out (it died mid-send). Safe to run anywhere and concurrently: a message handed out twice is claimed
    once. Returns how many were handed out."""
    now = timezone.now()
    lease_end = now + timedelta(seconds=settings.MESSAGE_SEND_LEASE_SECONDS)
    due_ids = list(
        Message.objects.filter(_due()).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("send_after", "id").values_list("id", flat=True)[:limit]
    )
    # A queued message's lease here means "handed to the queue": the next sweep does not hand it out again.
    Message.objects.filter(pk__in=due_ids, state=MessageState.QUEUED).update(claimed_until=lease_end)
    stuck_ids = list(Message.objects.filter(_lease_expired()).order_by("claimed_until", "id")
                     .values_list("id", flat=True)[:limit])
    send_batches([*due_ids, *stuck_ids])
    if stuck_ids:
        logger.warning("Outbox: %d message(s) whose worker stopped mid-send handed out again", len(stuck_ids))
    return len(due_ids) + len(stuck_ids)


def message_status_record(*, provider_message_id: str, status: str, public_id: str = "", error_code: str = "",
                          error_message: str = "") -> Message | None:
    """A text's delivery receipt: sent, delivered, undelivered or failed. Idempotent, never moves a message back;
    an unknown message is ignored (None)."""
    target = SMS_STATUS.get(status)
    messages = Message.objects.filter(channel=MessageChannel.SMS)
    message = messages.filter(public_id=public_id).first() if public_id else None
    if message is None and provider_message_id:
        message = messages.filter(provider_message_id=provider_message_id).first()
    if message is None:
        logger.info("SMS receipt for unknown message %s (%s) ignored", provider_message_id, status)
        return None
    if message.provider_message_id and provider_message_id and message.provider_message_id != provider_message_id:
        logger.warning("SMS receipt for %s names %s, not %s: ignored", message.public_id, provider_message_id,
                       message.provider_message_id)
        return None
    if target is None:
        return message
    detail = {MessageState.SENT: "The carrier took the text.", MessageState.DELIVERED: "Delivered to the phone."}.get(
        target, f"Not delivered: {error_message or 'carrier error'}" + (f" (error {error_code})" if error_code else ""))
    return _advance(message, target, detail, provider_message_id=provider_message_id)


def message_receipt_record(*, provider_message_id: str, status: str, public_id: str = "", error_code: str = "",
                           error_message: str = "") -> None:
    """The SMS receipt webhook's service: `message_status_record`, with the usual case (sent or delivered, for
    a message the receipt names by its public id, not already past it) in one statement on PostgreSQL: the
    state moved and its event written together. Everything else (unknown or mismatched message, a failure
    with its audit row, a receipt that changes nothing, SQLite) takes `message_status_record`."""
    target = SMS_STATUS.get(status)
    if (connection.vendor == "postgresql" and public_id and provider_message_id
            and target in (MessageState.SENT, MessageState.DELIVERED) and _advance_by_receipt(
                public_id=public_id, provider_message_id=provider_message_id, target=target)):
        return
    message_status_record(provider_message_id=provider_message_id, status=status, public_id=public_id,
                          error_code=error_code, error_message=error_message)


_RECEIPT_DETAIL = {MessageState.SENT: "The carrier took the text.", MessageState.DELIVERED: "Delivered to the phone."}


def _advance_by_receipt(*, public_id: str, provider_message_id: str, target: str) -> bool:
    """Move the text named by `public_id` to `target` (only forward, only when it is this provider id's text or
    has no provider id yet) and write its event, in one statement; False when no row moved."""
    now = timezone.now()
    earlier = [state for state, rank in _RANK.items() if rank < _RANK[target]]
    table, events = Message._meta.db_table, MessageEvent._meta.db_table
    delivered_at = ", delivered_at = %(now)s" if target == MessageState.DELIVERED else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH moved AS (
                    UPDATE {table} SET state = %(target)s, updated_at = %(now)s{delivered_at},
                        provider = CASE WHEN provider_message_id = '' THEN %(provider)s ELSE provider END,
                        provider_message_id = %(sid)s
                    WHERE public_id = %(public_id)s AND channel = %(sms)s AND state = ANY(%(earlier)s)
                      AND (provider_message_id = '' OR provider_message_id = %(sid)s)
                    RETURNING id)
                INSERT INTO {events} (message_id, state, detail, created_at)
                SELECT id, %(target)s, %(detail)s, %(now)s FROM moved RETURNING id""",  # noqa: S608  (our tables)
            {"target": target, "now": now, "provider": settings.SMS_PROVIDER, "sid": provider_message_id,
             "public_id": public_id, "sms": MessageChannel.SMS, "earlier": earlier,
             "detail": _RECEIPT_DETAIL[target]},
        )
        return cursor.fetchone() is not None


@transaction.atomic
def _advance(message: Message, target: str, detail: str, *, provider_message_id: str = "",
             also_from: tuple[str, ...] = ()) -> Message:
    now = timezone.now()
    earlier = [state for state, rank in _RANK.items() if rank < _RANK[target]] + list(also_from)
    fields = {"state": target, "updated_at": now}
    if target == MessageState.DELIVERED:
        fields["delivered_at"] = now
    if target in (MessageState.FAILED, MessageState.BOUNCED):
        fields["reason"] = detail[:300]
    if provider_message_id and not message.provider_message_id:
        fields.update(provider_message_id=provider_message_id, provider=_provider_name(message))
    moved = Message.objects.filter(pk=message.pk, state__in=earlier).update(**fields)
    if moved:
        MessageEvent.objects.create(message=message, state=target, detail=detail[:300], created_at=now)
        if target in (MessageState.FAILED, MessageState.BOUNCED):
            audit_event(action=f"message.{target}", actor=None, target=message, patient=message.patient,
                        organization_id=message.organization_id, outcome=AuditOutcome.FAILED, summary=detail)
        # What the UPDATE wrote, without reading the row again (a receipt is one of thousands a minute).
        for name, value in fields.items():
            setattr(message, name, value)
    return message


def message_bounced(*, provider_message_id: str, reason: str) -> Message | None:
    """An e-mail the receiving server gave back for good: bounced, with its reason (even after "delivered",
    which for e-mail only means a server took it). Unknown messages are ignored (None)."""
    message = Message.objects.filter(channel=MessageChannel.EMAIL, provider_message_id=provider_message_id).first()
    if message is None:
        logger.info("Bounce for unknown e-mail %s ignored", provider_message_id)
        return None
    return _advance(message, MessageState.BOUNCED, f"Bounced: {reason}", also_from=(MessageState.DELIVERED,))


def message_email_delivered(*, provider_message_id: str) -> Message | None:
    """The receiving mail server took the e-mail."""
    message = Message.objects.filter(channel=MessageChannel.EMAIL, provider_message_id=provider_message_id).first()
    if message is None:
        return None
    return _advance(message, MessageState.DELIVERED, "The recipient's mail server took it.")


@transaction.atomic
def message_cancel(*, message: Message, actor) -> Message:
    """Keep a queued message from going; it stays in the outbox as not sent, with who cancelled it."""
    reason = f"Cancelled by {actor.get_full_name() or actor.get_username()}."
    done = Message.objects.filter(pk=message.pk, state=MessageState.QUEUED).update(
        state=MessageState.SUPPRESSED, reason=reason, claimed_until=None, updated_at=timezone.now())
    if not done:
        raise ValidationError({"state": "Only a queued message can be cancelled; this one is already "
                                        f"{Message.objects.get(pk=message.pk).get_state_display().lower()}."})
    MessageEvent.objects.create(message=message, state=MessageState.SUPPRESSED, detail=reason)
    audit_event(action="message.cancelled", actor=actor, target=message, patient=message.patient,
                organization_id=message.organization_id, summary=message.get_purpose_display())
    message.refresh_from_db()
    return message


@transaction.atomic
def message_send_again(*, message: Message, actor) -> Message:
    """Queue a failed or bounced message again as a new message (a new idempotency key, so the provider sends
    it); the patient's current address is used, so a corrected number or e-mail takes effect."""
    if message.state not in (MessageState.FAILED, MessageState.BOUNCED):
        raise ValidationError({"state": f"Only a failed or bounced message can be sent again; this one is "
                                        f"{message.get_state_display().lower()}."})
    tries = Message.objects.filter(idempotency_key__startswith=f"again:{message.public_id}:").count()
    try:
        attachments = attachments_of(message)
    except FileNotFoundError:
        raise ValidationError({"attachments": "An attachment of this message is missing from storage, so it "
                                              "cannot be sent again."}) from None
    again = message_queue(
        organization=message.organization, channel=message.channel, body=message.body,
        idempotency_key=f"again:{message.public_id}:{tries + 1}", purpose=message.purpose, patient=message.patient,
        to_address=None if message.patient_id else message.to_address, subject=message.subject,
        html_body=message.html_body, location=message.location, appointment=message.appointment,
        waitlist_offer=message.waitlist_offer, recall=message.recall, template_version=message.template_version,
        campaign=message.campaign, actor=actor, attachments=attachments,
    )
    note = f"Sent again as {again.public_id}."
    Message.objects.filter(pk=message.pk).update(reason=f"{message.reason} {note}".strip()[:300],
                                                 updated_at=timezone.now())
    MessageEvent.objects.create(message=message, state=message.state, detail=note)
    message.refresh_from_db()
    return again

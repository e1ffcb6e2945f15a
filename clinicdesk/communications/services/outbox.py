"""Putting messages in the outbox. Every message to a patient is queued here, so consent, the address for
the channel, quiet hours and the no-sensitive-detail rule for text messages hold for every sender."""

from __future__ import annotations

import re
import threading
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_events
from clinicdesk.core.models import Location, Organization
from clinicdesk.patients.choices import ConsentStatus, PatientStatus
from clinicdesk.patients.models import CommunicationConsent, Patient

from ..choices import MessageChannel, MessagePurpose, MessageState
from ..models import Message, MessageEvent
from .attachments import AttachmentFile, attachments_check, attachments_store

# Words that must never travel in a text message: a lock screen shows it to anyone nearby.
_SENSITIVE_WORDS = (
    "diagnos", "hiv", "aids", "cancer", "tumor", "tumour", "pregnan", "abortion", "std", "sti", "herpes",
    "chlamydia", "gonorrh", "syphilis", "hepatitis", "depress", "psychiatr", "bipolar", "schizo", "suicid",
    "overdose", "opioid", "methadone", "substance", "alcohol", "rehab", "biopsy", "positive", "malignan",
    "chemo", "dementia", "icd-10", "icd10",
)
_SENSITIVE_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in _SENSITIVE_WORDS) + r")", re.IGNORECASE)
# An ICD-10-CM code such as E11.9 or F32.A (a letter, two characters, optionally a dot and up to four more).
_ICD10_RE = re.compile(r"\b[A-TV-Z][0-9][0-9AB]\.[0-9A-TV-Z]{1,4}\b")


def sms_sensitive_problem(text: str) -> str | None:
    """Why `text` must not go by SMS (a diagnosis word or code), or None when it may."""
    if match := _ICD10_RE.search(text):
        return f"A text message may not carry a diagnosis code ('{match.group(0)}')."
    if match := _SENSITIVE_RE.search(text):
        return f"A text message may not carry sensitive health detail ('{match.group(0)}')."
    return None


def quiet_hours() -> tuple[time, time]:
    """(start, end) of the hours no message is sent, in the location's time zone; settings.COMMUNICATIONS_QUIET_HOURS."""
    start, end = settings.COMMUNICATIONS_QUIET_HOURS
    return time.fromisoformat(start), time.fromisoformat(end)


def outside_quiet_hours(moment: datetime, tz_name: str) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (in `tz_name`'s local time), in UTC."""
    tz = zoneinfo.ZoneInfo(tz_name)
    local = moment.astimezone(tz)
    start, end = quiet_hours()
    t = local.time()
    if start > end:  # overnight, e.g. 21:00 to 08:00
        if not (t >= start or t < end):
            return moment
        day = local.date() if t < end else local.date() + timedelta(days=1)
    else:
        if not (start <= t < end):
            return moment
        day = local.date()
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


def _time_zone_of(organization: Organization, location: Location | None) -> str:
    if location is not None:
        return location.time_zone
    first = Location.objects.filter(organization=organization, is_active=True).order_by("pk").values_list("time_zone", flat=True).first()
    return first or settings.TIME_ZONE


def address_for(patient: Patient, channel: str) -> str:
    """The patient's address for a channel: e-mail, or the mobile number for text messages."""
    return patient.email if channel == MessageChannel.EMAIL else patient.phone_mobile


def suppression_reason(*, patient: Patient | None, channel: str, to_address: str, body: str) -> str:
    """Why a message may not be sent, or "" when it may. Checked when queued and again just before sending."""
    opted_out = patient is not None and CommunicationConsent.objects.filter(
        patient=patient, channel=channel, status=ConsentStatus.OPTED_OUT
    ).exists()
    return suppression_reason_known(patient=patient, channel=channel, to_address=to_address, body=body,
                                    opted_out=opted_out)


def suppression_reason_known(*, patient: Patient | None, channel: str, to_address: str, body: str,
                             opted_out: bool) -> str:
    """`suppression_reason` with the patient's opt-out for the channel already looked up (batches look it up
    for many patients in one query with `opted_out_pairs`)."""
    if patient is not None:
        if patient.status == PatientStatus.DECEASED:
            return "The patient is deceased."
        if patient.merged_into_id:
            return "The patient's record was merged into another."
        if opted_out:
            return f"The patient opted out of {MessageChannel(channel).label.lower()}s."
    if not to_address:
        what = "e-mail address" if channel == MessageChannel.EMAIL else "mobile number"
        return f"No {what} on file."
    if channel == MessageChannel.SMS:
        return sms_sensitive_problem(body) or ""
    return ""


def opted_out_pairs(patient_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(patient id, channel) for each channel each of these patients opted out of: one query for a batch."""
    ids = {pk for pk in patient_ids if pk is not None}
    if not ids:
        return set()
    return set(CommunicationConsent.objects.filter(patient_id__in=ids, status=ConsentStatus.OPTED_OUT)
               .values_list("patient_id", "channel"))


@dataclass
class OutgoingMessage:
    """One message for `message_queue_many`: the arguments `message_queue` takes for a single message."""

    channel: str
    body: str
    idempotency_key: str
    purpose: str = MessagePurpose.GENERAL
    patient: Patient | None = None
    to_address: str | None = None
    subject: str = ""
    html_body: str = ""
    location: Location | None = None
    appointment: object = None
    waitlist_offer: object = None
    recall: object = None
    template_version: object = None
    campaign: object = None
    send_after: datetime | None = None
    mind_quiet_hours: bool = True
    # (filename, content type, bytes) for each file an e-mail carries.
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


def message_queue(
    *,
    organization: Organization,
    channel: str,
    body: str,
    idempotency_key: str,
    purpose: str = MessagePurpose.GENERAL,
    patient: Patient | None = None,
    to_address: str | None = None,
    subject: str = "",
    html_body: str = "",
    location: Location | None = None,
    appointment=None,
    waitlist_offer=None,
    recall=None,
    template_version=None,
    campaign=None,
    actor=None,
    send_after: datetime | None = None,
    mind_quiet_hours: bool = True,
    attachments: Iterable[tuple[str, str, bytes]] = (),
) -> Message:
    """Put one message in the outbox and have it sent after commit.

    The same `idempotency_key` always gives back the same message, so a caller that runs twice (a retried
    task, a double click) never makes a second one. A message that may not go (opted out, no address,
    sensitive detail in a text) is kept with state "not sent" and the reason, for the record.
    An e-mail may carry `attachments`, stored with it in the same transaction (see services.attachments).
    """
    item = OutgoingMessage(
        channel=channel, body=body, idempotency_key=idempotency_key, purpose=purpose, patient=patient,
        to_address=to_address, subject=subject, html_body=html_body, location=location, appointment=appointment,
        waitlist_offer=waitlist_offer, recall=recall, template_version=template_version, campaign=campaign,
        send_after=send_after, mind_quiet_hours=mind_quiet_hours, attachments=list(attachments),
    )
    files = _check(organization, item)
    existing = Message.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    opted_out = patient is not None and (patient.pk, channel) in opted_out_pairs([patient.pk])
    message = _build(organization, item, actor=actor, opted_out=opted_out, time_zone=_TimeZones(organization))
    try:
        with transaction.atomic():
            message.save()
            attachments_store(message=message, files=files)
    except IntegrityError:
        # Another caller queued the same key between our read and our insert: theirs is the message.
        return Message.objects.get(idempotency_key=idempotency_key)
    _record_queued([message], actor=actor)
    return message


def message_queue_many(*, organization: Organization, messages: list[OutgoingMessage], actor=None) -> list[Message]:
    """Put many messages of one practice in the outbox at once, under the same rules as `message_queue`.

    Returns the messages in the order given; a key already in the outbox (or given twice) gives back that
    message. A few queries for the whole batch: the known keys, the opt-outs, one insert each for the
    messages, their events and their audit rows, and after commit one send task per batch of due messages.
    """
    files = {id(item): _check(organization, item) for item in messages}
    keys = [item.idempotency_key for item in messages]
    found = {m.idempotency_key: m for m in Message.objects.filter(idempotency_key__in=keys)}
    new_items: dict[str, OutgoingMessage] = {}
    for item in messages:
        if item.idempotency_key not in found:
            new_items.setdefault(item.idempotency_key, item)
    if new_items:
        opted_out = opted_out_pairs(item.patient.pk for item in new_items.values() if item.patient is not None)
        zones = _TimeZones(organization)
        built = [
            _build(organization, item, actor=actor, time_zone=zones,
                   opted_out=item.patient is not None and (item.patient.pk, item.channel) in opted_out)
            for item in new_items.values()
        ]
        try:
            with transaction.atomic():
                Message.objects.bulk_create(built)
                for item, message in zip(new_items.values(), built, strict=True):
                    attachments_store(message=message, files=files[id(item)])
        except IntegrityError:
            # Another caller queued some of these keys meanwhile: one at a time, each finds theirs.
            for item in new_items.values():
                found[item.idempotency_key] = message_queue(organization=organization, actor=actor,
                                                            **_arguments(item))
        else:
            _record_queued(built, actor=actor)
            found.update((m.idempotency_key, m) for m in built)
    return [found[key] for key in keys]


def _arguments(item: OutgoingMessage) -> dict:
    return dict(item.__dict__)


def _check(organization: Organization, item: OutgoingMessage) -> list[AttachmentFile]:
    """The message's checked attachments; a ValidationError naming the field for anything the outbox refuses."""
    if item.channel not in MessageChannel.values:
        raise ValidationError({"channel": f"Unknown channel '{item.channel}'."})
    if not item.body.strip():
        raise ValidationError({"body": "The message is empty."})
    if item.patient is not None and item.patient.organization_id != organization.pk:
        raise ValidationError({"patient": "The patient belongs to another practice."})
    return attachments_check(channel=item.channel, attachments=item.attachments)


class _TimeZones:
    """The time zone quiet hours are read in, per location (or the practice's first location), looked up once."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self._default: str | None = None

    def __call__(self, location: Location | None) -> str:
        if location is not None:
            return location.time_zone
        if self._default is None:
            self._default = _time_zone_of(self.organization, None)
        return self._default


def _build(organization: Organization, item: OutgoingMessage, *, actor, opted_out: bool, time_zone: _TimeZones) -> Message:
    """The unsaved message, with every rule applied: the address, why it may not go, quiet hours."""
    patient = item.patient
    address = item.to_address if item.to_address is not None else (address_for(patient, item.channel) if patient else "")
    reason = suppression_reason_known(patient=patient, channel=item.channel, to_address=address, body=item.body,
                                      opted_out=opted_out)
    due = item.send_after or timezone.now()
    if item.mind_quiet_hours and not reason:
        due = outside_quiet_hours(due, time_zone(item.location))
    return Message(
        organization=organization, patient=patient, location=item.location, channel=item.channel,
        purpose=item.purpose, to_address=address, subject=item.subject[:200], body=item.body,
        html_body=item.html_body, appointment=item.appointment, waitlist_offer=item.waitlist_offer,
        recall=item.recall, template_version=item.template_version, campaign=item.campaign,
        idempotency_key=item.idempotency_key, send_after=due,
        state=MessageState.SUPPRESSED if reason else MessageState.QUEUED, reason=reason, created_by=actor,
    )


def _record_queued(messages: list[Message], *, actor) -> None:
    """The queued (or not sent) event and audit row of each new message, and its send task after commit."""
    MessageEvent.objects.bulk_create([
        MessageEvent(message=m, state=m.state, detail=m.reason or f"Due {m.send_after:%Y-%m-%d %H:%M} UTC")
        for m in messages
    ])
    groups: dict[tuple[str, str], list[Message]] = {}
    for m in messages:
        summary = f"{m.get_purpose_display()} by {m.get_channel_display().lower()}" + (f": {m.reason}" if m.reason else "")
        groups.setdefault(("message.suppressed" if m.reason else "message.queued", summary), []).append(m)
    for (action, summary), targets in groups.items():
        audit_events(targets=targets, action=action, actor=actor, organization_id=targets[0].organization_id,
                     summary=summary)
    now = timezone.now()
    # Due later (quiet hours, a reminder days ahead): the periodic outbox sweep sends it when due.
    send_batches_on_commit([m.pk for m in messages if not m.reason and m.send_after <= now])


# Due message ids of this thread's transaction, handed to the workers in batches once it commits.
_pending = threading.local()


def send_batches_on_commit(message_ids: list[int]) -> None:
    """After the current transaction commits, enqueue send tasks for these messages, `MESSAGE_SEND_BATCH` per
    task. Every message queued in one transaction joins the same batches, however many calls queued them."""
    if not message_ids:
        return
    if not connection.in_atomic_block:
        send_batches(message_ids)
        return
    hooks = connection.run_on_commit
    if getattr(_pending, "hooks", None) is not hooks:
        # A new transaction (or a savepoint rolled back): the ids held are kept only while their flush still waits.
        if not any(func is _flush_pending for _, func, _ in hooks):
            _pending.ids = []
            transaction.on_commit(_flush_pending)
        _pending.hooks = connection.run_on_commit
    _pending.ids.extend(message_ids)


def _flush_pending() -> None:
    ids, _pending.ids = getattr(_pending, "ids", None) or [], []
    send_batches(ids)


def send_batches(message_ids: list[int]) -> None:
    """Enqueue one send task per `MESSAGE_SEND_BATCH` messages."""
    from ..tasks import message_send_batch

    size = settings.MESSAGE_SEND_BATCH
    unique = list(dict.fromkeys(message_ids))
    for start in range(0, len(unique), size):
        message_send_batch.enqueue(message_ids=unique[start:start + size])

"""Putting messages in the outbox. Every message to a patient is queued here, so consent, the address for
the channel, quiet hours and the no-sensitive-detail rule for text messages hold for every sender."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Location, Organization
from clinicdesk.patients.choices import ConsentStatus, PatientStatus
from clinicdesk.patients.models import CommunicationConsent, Patient

from ..choices import MessageChannel, MessagePurpose, MessageState
from ..models import Message, MessageEvent

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
    if patient is not None:
        if patient.status == PatientStatus.DECEASED:
            return "The patient is deceased."
        if patient.merged_into_id:
            return "The patient's record was merged into another."
        opted_out = CommunicationConsent.objects.filter(
            patient=patient, channel=channel, status=ConsentStatus.OPTED_OUT
        ).exists()
        if opted_out:
            return f"The patient opted out of {MessageChannel(channel).label.lower()}s."
    if not to_address:
        what = "e-mail address" if channel == MessageChannel.EMAIL else "mobile number"
        return f"No {what} on file."
    if channel == MessageChannel.SMS:
        return sms_sensitive_problem(body) or ""
    return ""


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
) -> Message:
    """Put one message in the outbox and have it sent after commit.

    The same `idempotency_key` always gives back the same message, so a caller that runs twice (a retried
    task, a double click) never makes a second one. A message that may not go (opted out, no address,
    sensitive detail in a text) is kept with state "not sent" and the reason, for the record.
    """
    if channel not in MessageChannel.values:
        raise ValidationError({"channel": f"Unknown channel '{channel}'."})
    if not body.strip():
        raise ValidationError({"body": "The message is empty."})
    if patient is not None and patient.organization_id != organization.pk:
        raise ValidationError({"patient": "The patient belongs to another practice."})
    existing = Message.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    address = to_address if to_address is not None else (address_for(patient, channel) if patient else "")
    reason = suppression_reason(patient=patient, channel=channel, to_address=address, body=body)
    due = send_after or timezone.now()
    if mind_quiet_hours and not reason:
        due = outside_quiet_hours(due, _time_zone_of(organization, location))
    message = Message(
        organization=organization, patient=patient, location=location, channel=channel, purpose=purpose,
        to_address=address, subject=subject[:200], body=body, html_body=html_body, appointment=appointment,
        waitlist_offer=waitlist_offer, recall=recall,
        template_version=template_version, campaign=campaign, idempotency_key=idempotency_key, send_after=due,
        state=MessageState.SUPPRESSED if reason else MessageState.QUEUED, reason=reason, created_by=actor,
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # Another caller queued the same key between our read and our insert: theirs is the message.
        return Message.objects.get(idempotency_key=idempotency_key)
    MessageEvent.objects.create(message=message, state=message.state, detail=reason or f"Due {due:%Y-%m-%d %H:%M} UTC")
    audit_event(
        action="message.suppressed" if reason else "message.queued", actor=actor, target=message, patient=patient,
        organization_id=organization.pk,
        summary=f"{message.get_purpose_display()} by {message.get_channel_display().lower()}" + (f": {reason}" if reason else ""),
    )
    if not reason and due <= timezone.now():
        # Due later (quiet hours, a reminder days ahead): the periodic outbox sweep sends it when due.
        transaction.on_commit(lambda: _enqueue_send(message.pk))
    return message


def _enqueue_send(message_id: int) -> None:
    from ..tasks import message_send

    message_send.enqueue(message_id=message_id)

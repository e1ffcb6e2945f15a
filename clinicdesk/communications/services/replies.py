"""What a patient's text message reply means, and acting on it.

Carrier rules come first: the standard opt-out words (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT)
withdraw consent to text messages and START / UNSTOP restore it, whatever the message was about.

Then the text we sent that the patient answered (`in_reply_to`) gives the words their meaning: to a
reminder, C / Y / YES / CONFIRM / OK confirm the appointment, N / NO / X cancel it and R / RESCHEDULE ask
the front desk to call; to a waitlist offer, Y / YES take the time and N / NO decline it. Anything else,
or an act the schedule refuses, waits for a person: a follow-up task for the front desk.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import Role
from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.services.appointments import appointment_cancel, appointment_set_status
from clinicdesk.scheduling.services.waitlist import waitlist_offer_accept, waitlist_offer_decline

from ..choices import InboundAction, MessagePurpose, StaffTaskKind
from ..models import ActionLink, InboundMessage, Message
from .tasks import call_task_create, staff_task_create

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES START", "OPTIN"})
# Answers to a reminder ("CANCEL" alone is a carrier opt-out word above, and stays that).
CONFIRM_WORDS = frozenset({"C", "Y", "YES", "CONFIRM", "OK"})
CANCEL_WORDS = frozenset({"N", "NO", "X"})
RESCHEDULE_WORDS = frozenset({"R", "RESCHEDULE"})
# Answers to a waitlist offer.
OFFER_YES_WORDS = frozenset({"Y", "YES"})
OFFER_NO_WORDS = frozenset({"N", "NO"})
TEXT_CANCEL_REASON = "Cancelled by the patient by text reply"
RESCHEDULE_TASK_TITLE = "Patient asked to reschedule by text"


def normalized(body: str) -> str:
    """The reply as a keyword: trimmed, upper case, inner spaces collapsed, trailing punctuation dropped."""
    return " ".join(body.strip().upper().split()).rstrip(".!")


def _set_sms_consent(inbound: InboundMessage, status: str) -> None:
    now = timezone.now()
    consent, _ = CommunicationConsent.objects.get_or_create(
        patient=inbound.patient, channel=Channel.SMS, defaults={"status": status}
    )
    consent.status = status
    consent.source = "SMS reply"
    if status == ConsentStatus.OPTED_OUT:
        consent.opted_out_at = now
    else:
        consent.opted_in_at = now
    consent.save(update_fields=["status", "source", "opted_in_at", "opted_out_at", "updated_at"])


class _NeedsStaff(Exception):
    """The reply meant something but the act was refused: a person takes it from here, with this note."""


def _reminder_is_stale(message: Message, appointment) -> bool:
    """True when staff moved the appointment after the reminder went out (its links remember the time)."""
    sent_for = (
        ActionLink.objects.filter(message=message, appointment=appointment, appointment_starts_at__isnull=False)
        .values_list("appointment_starts_at", flat=True).first()
    )
    return sent_for is not None and sent_for != appointment.starts_at


def _act_on_reminder(message: Message, word: str) -> tuple[str, str] | None:
    """(action, note) for an answer to a reminder, or None when the word means nothing here."""
    if word not in CONFIRM_WORDS | CANCEL_WORDS | RESCHEDULE_WORDS:
        return None
    # As it is now, not as it was when the reminder was loaded: staff may have changed it since.
    appointment = Appointment.objects.select_related("patient", "location").get(pk=message.appointment_id)
    if word in RESCHEDULE_WORDS:
        call_task_create(patient=appointment.patient, reason=RESCHEDULE_TASK_TITLE, appointment=appointment)
        return InboundAction.NEEDS_STAFF, "Asked to reschedule; a call task is with the front desk."
    if _reminder_is_stale(message, appointment):
        raise _NeedsStaff(f"'{word}' answers a reminder for a time the appointment has since been moved from.")
    try:
        with transaction.atomic():
            if word in CONFIRM_WORDS:
                if appointment.status == AppointmentStatus.CONFIRMED:
                    return InboundAction.CONFIRMED, "The appointment was already confirmed."
                appointment_set_status(actor=None, appointment=appointment, status=AppointmentStatus.CONFIRMED)
                return InboundAction.CONFIRMED, ""
            appointment_cancel(actor=None, appointment=appointment, reason=TEXT_CANCEL_REASON)
            return InboundAction.CANCELLED, ""
    except ValidationError as exc:
        raise _NeedsStaff(f"Could not act on '{word}': {' '.join(exc.messages)}") from exc


def _act_on_offer(message: Message, word: str) -> tuple[str, str] | None:
    if word in OFFER_YES_WORDS:
        reply = waitlist_offer_accept(token=message.waitlist_offer.token)
        return InboundAction.WAITLIST_YES, reply.label
    if word in OFFER_NO_WORDS:
        reply = waitlist_offer_decline(token=message.waitlist_offer.token)
        return InboundAction.WAITLIST_NO, reply.label
    return None


def _answer(inbound: InboundMessage, word: str) -> tuple[str, str] | None:
    message = inbound.in_reply_to
    if message is None or (inbound.organization_id and message.organization_id != inbound.organization_id):
        return None
    if inbound.patient_id and message.patient_id and message.patient_id != inbound.patient_id:
        return None
    if message.purpose == MessagePurpose.REMINDER and message.appointment_id:
        return _act_on_reminder(message, word)
    if message.purpose == MessagePurpose.WAITLIST_OFFER and message.waitlist_offer_id:
        return _act_on_offer(message, word)
    return None


def _follow_up(inbound: InboundMessage, note: str) -> str:
    """A follow-up task for the front desk to read the text; returns the note for the inbound message."""
    message = inbound.in_reply_to
    patient = inbound.patient or (message.patient if message is not None else None)
    organization_id = inbound.organization_id or (message.organization_id if message is not None else None)
    if organization_id is None:
        return note or "No practice is known for this number."
    appointment = message.appointment if message is not None and message.purpose == MessagePurpose.REMINDER else None
    if appointment is not None and patient is not None and appointment.patient_id != patient.pk:
        appointment = None
    staff_task_create(
        actor=None, title=f"Read the text from {patient.display_name if patient else inbound.from_number}",
        kind=StaffTaskKind.FOLLOW_UP, assignee_role=Role.FRONT_DESK, due_on=timezone.localdate(), patient=patient,
        appointment=appointment, details=f"{inbound.body}\n\n{note}".strip(), organization_id=organization_id,
    )
    return note or "Waiting for the front desk to read it."


@transaction.atomic
def reply_act(*, inbound: InboundMessage) -> str:
    """Act on one inbound reply and record the action on it; returns the InboundAction.

    A reply already acted on is left as it was, so a retried webhook or task does nothing twice."""
    if inbound.action:
        return inbound.action
    word = normalized(inbound.body)
    action, note = InboundAction.NEEDS_STAFF, ""
    if inbound.patient_id and word in OPT_OUT_WORDS:
        _set_sms_consent(inbound, ConsentStatus.OPTED_OUT)
        action = InboundAction.OPTED_OUT
    elif inbound.patient_id and word in OPT_IN_WORDS:
        _set_sms_consent(inbound, ConsentStatus.OPTED_IN)
        action = InboundAction.OPTED_IN
    else:
        try:
            answered = _answer(inbound, word)
        except _NeedsStaff as exc:
            answered, note = None, str(exc)
        if answered is not None:
            action, note = answered
        else:
            note = _follow_up(inbound, note)
    inbound.action = action
    inbound.note = note[:300]
    inbound.save(update_fields=["action", "note", "updated_at"])
    audit_event(action=f"sms_reply.{action}", actor=None, target=inbound, patient=inbound.patient,
                organization_id=inbound.organization_id, summary=f"Reply '{inbound.body[:40]}'")
    return action

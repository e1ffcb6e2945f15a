"""What a patient's text message reply means, and acting on it.

Carrier rules come first: the standard opt-out words (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT)
withdraw consent to text messages and START / UNSTOP restore it, whatever the message was about.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent

from ..choices import InboundAction
from ..models import InboundMessage

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES START", "OPTIN"})


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


@transaction.atomic
def reply_act(*, inbound: InboundMessage) -> str:
    """Act on one inbound reply and record the action on it; returns the InboundAction."""
    word = normalized(inbound.body)
    action = InboundAction.NEEDS_STAFF
    if inbound.patient_id and word in OPT_OUT_WORDS:
        _set_sms_consent(inbound, ConsentStatus.OPTED_OUT)
        action = InboundAction.OPTED_OUT
    elif inbound.patient_id and word in OPT_IN_WORDS:
        _set_sms_consent(inbound, ConsentStatus.OPTED_IN)
        action = InboundAction.OPTED_IN
    inbound.action = action
    inbound.save(update_fields=["action", "updated_at"])
    audit_event(action=f"sms_reply.{action}", actor=None, target=inbound, patient=inbound.patient,
                organization_id=inbound.organization_id, summary=f"Reply '{inbound.body[:40]}'")
    return action

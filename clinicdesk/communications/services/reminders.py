"""Appointment reminders from each appointment type's reminder plan, waitlist offers and recall messages.

A sweep runs every few minutes. For each live appointment it sends the plan's step whose moment has
passed most recently (a visit booked 10 hours ahead gets its 24-hour text at once and never a stale
72-hour e-mail). The idempotency key names the appointment, the step and the start time, so a step is
sent once however often the sweep runs, and a moved visit is reminded again for its new time.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinicdesk.patients.choices import Channel
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment, AppointmentType, LocationSchedule, Recall, WaitlistOffer

from ..choices import MessageChannel, MessagePurpose
from ..links import link_attach, public_url, unsubscribe_link_issue
from ..merge import format_date, format_time, merge_context
from ..models import Message
from ..rendering import render
from .links import appointment_links_many
from .outbox import OutgoingMessage, address_for, message_queue, message_queue_many
from .tasks import call_task_create
from .templates import template_current

REMINDED_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


@dataclass(frozen=True)
class ReminderStep:
    channel: str  # "sms", "email" or "voice" (a call task for the front desk)
    hours_before: int
    template: str

    @classmethod
    def from_plan(cls, step: dict) -> ReminderStep:
        channel = step["channel"]
        return cls(channel=channel, hours_before=step["hours_before"], template=step.get("template") or f"reminder-{channel}")


def reminder_steps(kind: AppointmentType) -> list[ReminderStep]:
    """The type's plan, furthest ahead first."""
    return sorted((ReminderStep.from_plan(s) for s in kind.reminder_plan or []), key=lambda s: -s.hours_before)


def step_due(appointment: Appointment, steps: list[ReminderStep], now: datetime) -> ReminderStep | None:
    """The step to send now: the one whose moment passed most recently, while the visit is still ahead."""
    if appointment.starts_at <= now:
        return None
    passed = [s for s in steps if appointment.starts_at - timedelta(hours=s.hours_before) <= now]
    return passed[-1] if passed else None


def reminder_key(appointment: Appointment, step: ReminderStep) -> str:
    return f"reminder:{appointment.pk}:{step.channel}:{step.hours_before}:{int(appointment.starts_at.timestamp())}"


def appointment_remind(*, appointment: Appointment, step: ReminderStep, now: datetime | None = None,
                       versions: dict | None = None) -> Message | None:
    """Queue one reminder (or, for the voice channel, a call task); None when already done or no longer due.
    `versions` lets a caller look each practice's wording up once instead of once per visit."""
    key = reminder_key(appointment, step)
    if step.channel == Channel.VOICE:
        return _call_reminder(appointment, step, key)
    existing = Message.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    [item] = _reminder_messages([(key, appointment, step)], now, {} if versions is None else versions)
    return message_queue(organization=appointment.organization, **item.__dict__)


def _reminder_messages(due: list[tuple[str, Appointment, ReminderStep]], now: datetime | None,
                       versions: dict) -> list[OutgoingMessage]:
    """The written reminders for these visits: the practice's current wording (looked up once per practice and
    step template), rendered with the visit and its confirm, cancel and reschedule links (issued in one insert)."""
    links = appointment_links_many(appointments=[appointment for _, appointment, _ in due])
    items = []
    for (key, appointment, step), urls in zip(due, links, strict=True):
        wording = (appointment.organization_id, step.template)
        if wording not in versions:
            versions[wording] = template_current(organization=appointment.organization, code=step.template)
        version = versions[wording]
        context = merge_context(organization=appointment.organization, patient=appointment.patient,
                                appointment=appointment, location=appointment.location, provider=appointment.provider,
                                links=urls)
        rendered = render(version, context, kind=version.template.kind)
        items.append(OutgoingMessage(
            patient=appointment.patient, location=appointment.location, channel=step.channel,
            purpose=MessagePurpose.REMINDER, subject=rendered.subject, body=rendered.text, html_body=rendered.html,
            appointment=appointment, template_version=version, idempotency_key=key, send_after=now,
        ))
    return items


def _call_reminder(appointment: Appointment, step: ReminderStep, key: str) -> None:
    # A call task is idempotent by its reference: the same key never makes a second task.
    call_task_create(patient=appointment.patient, appointment=appointment,
                     reason=f"Reminder call ({step.hours_before} h before the visit)", reference=key)
    return None


def reminders_send_due(*, now: datetime | None = None, chunk: int = 500) -> int:
    """The sweep: queue every reminder that is due now across all practices; returns how many were queued.
    Each chunk of visits is queued in one transaction with `message_queue_many` (the same rules as one
    `message_queue` per visit), so its send tasks go out in batches when it commits."""
    now = now or timezone.now()
    horizon = _longest_plan_hours()
    if not horizon:
        return 0
    upcoming = (
        Appointment.objects.filter(status__in=REMINDED_STATUSES, starts_at__gt=now,
                                   starts_at__lte=now + timedelta(hours=horizon))
        .exclude(appointment_type__reminder_plan=[])
        # Everything the wording reads, in the same query (the guarantor and the letter signature too).
        .select_related("appointment_type", "patient__guarantor__guarantor_patient", "location",
                        "provider__letter_signature", "organization")
        .order_by("starts_at", "pk")
    )
    steps_by_type: dict[int, list[ReminderStep]] = {}
    due: list[tuple[Appointment, ReminderStep]] = []
    versions: dict = {}
    queued = 0
    for appointment in upcoming.iterator(chunk_size=chunk):
        steps = steps_by_type.setdefault(appointment.appointment_type_id, reminder_steps(appointment.appointment_type))
        step = step_due(appointment, steps, now)
        if step is not None:
            due.append((appointment, step))
        if len(due) >= chunk:
            queued += _remind_all(due, now, versions)
            due = []
    return queued + _remind_all(due, now, versions)


def _remind_all(due: list[tuple[Appointment, ReminderStep]], now: datetime, versions: dict) -> int:
    # One query tells which of these were sent on an earlier sweep; only the rest are rendered.
    keys = {reminder_key(a, s): (a, s) for a, s in due}
    done = set(Message.objects.filter(idempotency_key__in=list(keys)).values_list("idempotency_key", flat=True))
    todo = [(key, appointment, step) for key, (appointment, step) in keys.items() if key not in done]
    written = [entry for entry in todo if entry[2].channel != Channel.VOICE]
    for key, appointment, step in todo:
        if step.channel == Channel.VOICE:
            _call_reminder(appointment, step, key)
    with transaction.atomic():
        by_practice: dict[int, list[OutgoingMessage]] = {}
        organizations = {}
        for item, (_, appointment, _) in zip(_reminder_messages(written, now, versions), written, strict=True):
            by_practice.setdefault(appointment.organization_id, []).append(item)
            organizations[appointment.organization_id] = appointment.organization
        for organization_id, items in by_practice.items():
            message_queue_many(organization=organizations[organization_id], messages=items)
    return len(todo)


def _longest_plan_hours() -> int:
    longest = 0
    for plan in AppointmentType.objects.exclude(reminder_plan=[]).values_list("reminder_plan", flat=True):
        longest = max([longest, *(step.get("hours_before", 0) for step in plan if isinstance(step, dict))])
    return longest


# --- waitlist offers -------------------------------------------------------------------------------------


def written_channel_for(patient) -> str | None:
    """The patient's preferred written channel when they have its address, else the other one, else None."""
    preferred = patient.preferred_channel if patient.preferred_channel in MessageChannel.values else MessageChannel.SMS
    other = MessageChannel.EMAIL if preferred == MessageChannel.SMS else MessageChannel.SMS
    for channel in (preferred, other):
        if address_for(patient, channel):
            return channel
    return None


def waitlist_offer_tell(*, offer: WaitlistOffer) -> Message | None:
    """Tell a waitlisted patient about an offered time by text or e-mail, with the reply link (a text
    reply of Y or N works too); a patient with neither gets a call task for the front desk."""
    entry = offer.entry
    patient = entry.patient
    channel = written_channel_for(patient)
    if channel is None:
        call_task_create(patient=patient, reason="Offer an earlier appointment from the waitlist",
                         reference=f"waitlist-offer:{offer.pk}")
        return None
    version = template_current(organization=entry.organization, code=f"waitlist-offer-{channel}")
    offer_url = public_url(reverse("scheduling_public:waitlist_offer_reply", args=[offer.token]))
    context = merge_context(organization=entry.organization, patient=patient, location=offer.location,
                            provider=offer.provider, links={"offer_url": offer_url},
                            extra={"appointment": _offer_fields(offer)})
    rendered = render(version, context, kind=version.template.kind)
    return message_queue(
        organization=entry.organization, patient=patient, location=offer.location, channel=channel,
        purpose=MessagePurpose.WAITLIST_OFFER, subject=rendered.subject, body=rendered.text, html_body=rendered.html,
        waitlist_offer=offer, template_version=version, idempotency_key=f"waitlist-offer:{offer.pk}",
        mind_quiet_hours=False,  # an offer expires within hours; the patient chose to be told at once
    )


def _offer_fields(offer: WaitlistOffer) -> dict:
    """The offered time in the appointment fields, so offer wording reads like a reminder's."""
    local = offer.starts_at.astimezone(zoneinfo.ZoneInfo(offer.location.time_zone))
    minutes = int((offer.ends_at - offer.starts_at).total_seconds() // 60)
    return {"date": format_date(local.date()), "time": format_time(local), "weekday": f"{local:%A}",
            "duration": f"{minutes} minutes", "location": offer.location.name,
            "provider": str(offer.provider.get_full_name() or offer.provider)}


# --- recalls ---------------------------------------------------------------------------------------------


def recall_remind(*, actor, recall: Recall, attempt: int = 1) -> Message | None:
    """Ask a patient due for a recall to book, by their preferred written channel, with the booking link."""
    patient = recall.patient
    channel = written_channel_for(patient)
    if channel is None:
        call_task_create(patient=patient, reason=f"Recall: {recall.rule} due {recall.due_date:%b %d}", actor=actor,
                         reference=f"recall:{recall.pk}:{attempt}")
        return None
    version = template_current(organization=recall.organization, code=f"recall-{channel}")
    online = (
        LocationSchedule.objects.filter(location__organization_id=recall.organization_id, online_booking_enabled=True)
        .exclude(online_booking_slug=None).select_related("location").order_by("location_id").first()
    )
    location = online.location if online else None
    link, unsubscribe_url = unsubscribe_link_issue(organization=recall.organization, patient=patient)
    links = {"unsubscribe_url": unsubscribe_url}
    if online is not None:
        path = reverse("scheduling_public:booking_page", args=[online.online_booking_slug])
        links["booking_url"] = public_url(f"{path}?type={recall.rule.recall_type.code}")
    context = merge_context(organization=recall.organization, patient=patient, location=location, links=links)
    rendered = render(version, context, kind=version.template.kind)
    message = message_queue(
        organization=recall.organization, patient=patient, location=location, channel=channel,
        purpose=MessagePurpose.RECALL, subject=rendered.subject, body=rendered.text, html_body=rendered.html,
        recall=recall, template_version=version, idempotency_key=f"recall:{recall.pk}:{attempt}", actor=actor,
    )
    link_attach(link, message)
    return message


def recalls_due_for_messages(*, actor, today=None):
    """Recalls of the actor's practice that are due (or due within 30 days) and nobody has contacted yet."""
    from clinicdesk.scheduling.choices import RecallStatus

    today = today or timezone.localdate()
    return (
        Recall.objects.filter(organization_id=actor.organization_id, status=RecallStatus.DUE, contacted_at__isnull=True,
                              due_date__lte=today + timedelta(days=30))
        .select_related("patient", "rule__recall_type", "organization")
        .order_by("due_date", "pk")
    )


def recalls_remind(*, actor, recalls) -> tuple[int, int]:
    """Send each recall its message (or a call task when the patient has no written channel) and mark it
    contacted on the recalls list; returns (messages, call tasks)."""
    from clinicdesk.scheduling.services.recalls import recall_mark_contacted

    sent = calls = 0
    for recall in list(recalls):
        message = recall_remind(actor=actor, recall=recall)
        if message is None:
            calls += 1
            note = "Call task made: no e-mail or mobile number"
        elif message.state == "suppressed":
            note = f"Recall message not sent: {message.reason}"
        else:
            sent += 1
            note = f"Recall {message.get_channel_display().lower()} queued"
        recall_mark_contacted(actor=actor, recall=recall, notes=note)
    return sent, calls

"""The confirm, cancel and reschedule links in an appointment reminder, and what they do.

Each link is an ActionLink (see ..links): signed by a random token, expiring at the appointment's start,
working once. The acts go through scheduling's own services, so every rule of the schedule holds (a late
cancellation is flagged by appointment_cancel itself). No staff member acts: the services get no actor,
the practice is the appointment's, and our own audit row names the patient acting through the link.

A link about a time that has since changed (staff moved or cancelled the visit, or another link did) acts
no more: the patient is told what became of the appointment and nothing changes.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.selectors.slots import Slot, find_slots
from clinicdesk.scheduling.services.appointments import (
    CANCELLABLE,
    MOVABLE,
    BookingConflict,
    appointment_cancel,
    appointment_move,
    appointment_set_status,
)

from ..choices import LinkAction
from ..links import LinkRequest, link_paths, link_use, links_issue_many
from ..models import ActionLink, StaffTask
from .tasks import call_task_create

DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
CANCEL_REASON = "Cancelled by the patient from a reminder link"
CALL_ME_REASON = "Patient asked to reschedule from the reminder link; call to find a time"
PATIENT_LABEL = "Patient, by a reminder link"
RESCHEDULE_SEARCH_DAYS = 45
RESCHEDULE_CHOICES = 8
APPOINTMENT_ACTIONS = (LinkAction.CONFIRM, LinkAction.CANCEL, LinkAction.RESCHEDULE)


def public_base_url() -> str:
    """Where patients reach the practice's public pages (settings.PUBLIC_BASE_URL), without a trailing slash."""
    return getattr(settings, "PUBLIC_BASE_URL", DEFAULT_PUBLIC_BASE_URL).rstrip("/")


def appointment_links(*, appointment: Appointment, message=None, valid_until: datetime | None = None) -> dict[str, str]:
    """Absolute confirm, cancel and reschedule URLs for a reminder about `appointment`.

    Each expires at the appointment's start (or `valid_until` when earlier) and works once.
    """
    return appointment_links_many(appointments=[appointment], message=message, valid_until=valid_until)[0]


def appointment_links_many(*, appointments: list[Appointment], message=None,
                           valid_until: datetime | None = None) -> list[dict[str, str]]:
    """`appointment_links` for many appointments with one insert (a reminders sweep's chunk); the URLs of each
    appointment, in the order given."""
    base = public_base_url()
    requests = [
        LinkRequest(organization=appointment.organization, action=action, patient=appointment.patient,
                    appointment=appointment, message=message,
                    expires_at=appointment.starts_at if valid_until is None else min(valid_until, appointment.starts_at))
        for appointment in appointments for action in APPOINTMENT_ACTIONS
    ]
    paths = iter(link_paths([token for _, token in links_issue_many(links=requests)]))
    return [{f"{action}_url": base + next(paths) for action in APPOINTMENT_ACTIONS} for _ in appointments]


# --- what a patient is told ----------------------------------------------------------------------------------


class LinkRefused(ValidationError):
    """The link cannot act on the appointment any more (cancelled, moved, already confirmed...)."""


def _local(at: datetime, appointment: Appointment) -> datetime:
    return at.astimezone(zoneinfo.ZoneInfo(appointment.location.time_zone))


def when_text(appointment: Appointment, at: datetime | None = None) -> str:
    local = _local(at or appointment.starts_at, appointment)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"


def appointment_state_problem(link: ActionLink) -> str | None:
    """Why the link's appointment can no longer be acted on from this link, in the patient's words, or None."""
    appointment = link.appointment
    if appointment is None:
        return "This appointment is no longer on our schedule. Please call the office."
    if appointment.status == AppointmentStatus.CANCELLED:
        return "This appointment was cancelled. Please call the office if you would like a new time."
    if link.appointment_starts_at is not None and appointment.starts_at != link.appointment_starts_at:
        return (f"This appointment has been moved to {when_text(appointment)}. The link in the earlier message "
                "no longer works; please use the latest message or call the office.")
    if appointment.starts_at <= timezone.now():
        return "This appointment has already started or passed. Please call the office."
    if link.action == LinkAction.CONFIRM and appointment.status == AppointmentStatus.CONFIRMED:
        return f"Your appointment on {when_text(appointment)} is already confirmed. Thank you."
    allowed = {LinkAction.CONFIRM: {AppointmentStatus.SCHEDULED}, LinkAction.CANCEL: CANCELLABLE,
               LinkAction.RESCHEDULE: MOVABLE}.get(link.action, set())
    if appointment.status not in allowed:
        return "This appointment can no longer be changed from this link. Please call the office."
    return None


# --- the acts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkOutcome:
    """What a link did, for the page that tells the patient."""

    appointment: Appointment
    message: str
    task: StaffTask | None = None


def _claim(token: str, action: str) -> tuple[ActionLink, Appointment]:
    """Use the link (once) and lock its appointment; refuse, changing nothing, when the appointment changed."""
    link = link_use(token, action=action)
    problem = appointment_state_problem(link)
    if problem:
        raise LinkRefused({"appointment": problem})
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location", "provider", "appointment_type", "patient")
        .get(pk=link.appointment_id)
    )
    link.appointment = appointment
    problem = appointment_state_problem(link)
    if problem:
        raise LinkRefused({"appointment": problem})
    return link, appointment


def _audit(link: ActionLink, appointment: Appointment, action: str, summary: str) -> None:
    audit_event(action=action, target=appointment, patient=appointment.patient, actor_label=PATIENT_LABEL,
                organization_id=appointment.organization_id, summary=summary[:300],
                changes={"link": link.pk, "message": link.message_id})


@transaction.atomic
def appointment_link_confirm(*, token: str) -> LinkOutcome:
    """The patient confirms from the link: the appointment becomes confirmed."""
    link, appointment = _claim(token, LinkAction.CONFIRM)
    appointment = appointment_set_status(actor=None, appointment=appointment, status=AppointmentStatus.CONFIRMED)
    _audit(link, appointment, "appointment_link.confirmed", f"Confirmed by the patient for {when_text(appointment)}")
    return LinkOutcome(appointment, f"Thank you. Your appointment on {when_text(appointment)} is confirmed.")


@transaction.atomic
def appointment_link_cancel(*, token: str) -> LinkOutcome:
    """The patient cancels from the link; scheduling decides whether it is a late cancellation."""
    link, appointment = _claim(token, LinkAction.CANCEL)
    appointment = appointment_cancel(actor=None, appointment=appointment, reason=CANCEL_REASON)
    _audit(link, appointment, "appointment_link.cancelled",
           f"Cancelled by the patient{' (late)' if appointment.late_cancel else ''}: {when_text(appointment)}")
    return LinkOutcome(appointment, f"Your appointment on {when_text(appointment)} is cancelled. "
                                    "Please call the office when you would like a new time.")


def reschedule_times(*, link: ActionLink, limit: int = RESCHEDULE_CHOICES, now: datetime | None = None) -> list[Slot]:
    """The next free times for the same type with the same provider at the same place (not the current one)."""
    appointment = link.appointment
    now = now or timezone.now()
    slots = find_slots(
        organization=appointment.organization_id, appointment_type=appointment.appointment_type, start=now,
        end=now + timedelta(days=RESCHEDULE_SEARCH_DAYS), provider_ids=[appointment.provider_id],
        location=appointment.location, limit=limit + 1, now=now,
    )
    return [s for s in slots if s.starts_at != appointment.starts_at][:limit]


def _offered(appointment: Appointment, starts_at: datetime, now: datetime) -> bool:
    """True when `starts_at` is one of the free times the reschedule page could have offered."""
    if starts_at <= now:
        return False
    slots = find_slots(
        organization=appointment.organization_id, appointment_type=appointment.appointment_type, start=starts_at,
        end=starts_at + timedelta(minutes=1), provider_ids=[appointment.provider_id], location=appointment.location,
        limit=1, now=now,
    )
    return bool(slots) and slots[0].starts_at == starts_at


@transaction.atomic
def appointment_link_reschedule(*, token: str, starts_at: datetime) -> LinkOutcome:
    """Move the appointment to a free time the patient picked from the offered ones."""
    now = timezone.now()
    if not isinstance(starts_at, datetime) or timezone.is_naive(starts_at):
        raise ValidationError({"starts_at": "Choose one of the times offered."})
    link, appointment = _claim(token, LinkAction.RESCHEDULE)
    previous = appointment.starts_at
    if not _offered(appointment, starts_at, now):
        raise BookingConflict({"starts_at": "That time is no longer free. Please choose another."})
    appointment = appointment_move(actor=None, appointment=appointment, starts_at=starts_at)
    _audit(link, appointment, "appointment_link.rescheduled",
           f"Moved by the patient from {when_text(appointment, previous)} to {when_text(appointment)}")
    return LinkOutcome(appointment, f"Your appointment is now on {when_text(appointment)}.")


@transaction.atomic
def appointment_link_call_me(*, token: str) -> LinkOutcome:
    """None of the offered times suits: the front desk gets a call task, the appointment stays as it is."""
    link, appointment = _claim(token, LinkAction.RESCHEDULE)
    task = call_task_create(patient=appointment.patient, reason=CALL_ME_REASON, appointment=appointment)
    _audit(link, appointment, "appointment_link.call_requested", "The patient asked the office to call to reschedule")
    return LinkOutcome(appointment, "Thank you. The office will call you to find a new time. "
                                    f"Until then your appointment stays on {when_text(appointment)}.", task=task)


__all__ = [
    "CANCEL_REASON",
    "LinkOutcome",
    "LinkRefused",
    "appointment_link_call_me",
    "appointment_link_cancel",
    "appointment_link_confirm",
    "appointment_link_reschedule",
    "appointment_links",
    "appointment_links_many",
    "appointment_state_problem",
    "public_base_url",
    "reschedule_times",
]

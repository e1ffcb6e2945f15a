"""The front desk's queues listen to the schedule: freed time goes to the waitlist, a booked visit of a
recall type books the patient's recall. The signals arrive after the appointment change committed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.dispatch import receiver

from .models import Appointment
from .services.recalls import recalls_mark_booked
from .signals import appointment_booked, appointment_cancelled, appointment_moved
from .tasks import waitlist_offer_freed_time


def _queue_freed_time(*, appointment: Appointment, provider_id: int, starts_at: datetime, ends_at: datetime) -> None:
    """Queue the waitlist offer for the time the appointment held (its buffers included)."""
    kind = appointment.appointment_type
    kwargs = {
        "provider_id": provider_id,
        "location_id": appointment.location_id,
        "starts_at": (starts_at - timedelta(minutes=kind.buffer_before_minutes)).isoformat(),
        "ends_at": (ends_at + timedelta(minutes=kind.buffer_after_minutes)).isoformat(),
    }
    transaction.on_commit(lambda: waitlist_offer_freed_time.enqueue(**kwargs))


@receiver(appointment_cancelled, dispatch_uid="scheduling_waitlist_on_cancel")
def offer_cancelled_time(sender, appointment: Appointment, **kwargs) -> None:
    _queue_freed_time(appointment=appointment, provider_id=appointment.provider_id,
                      starts_at=appointment.starts_at, ends_at=appointment.ends_at)


@receiver(appointment_moved, dispatch_uid="scheduling_waitlist_on_move")
def offer_moved_from_time(sender, appointment: Appointment, previous_starts_at: datetime, previous_ends_at: datetime,
                          previous_provider_id: int | None = None, **kwargs) -> None:
    _queue_freed_time(appointment=appointment, provider_id=previous_provider_id or appointment.provider_id,
                      starts_at=previous_starts_at, ends_at=previous_ends_at)


@receiver(appointment_booked, dispatch_uid="scheduling_recall_on_book")
def book_recalls(sender, appointment: Appointment, **kwargs) -> None:
    recalls_mark_booked(appointment=appointment)

"""The flow board: today's patients at a location by where they are in their visit, with waiting times."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from clinicdesk.core.models import Location, User

from ..choices import AppointmentStatus
from ..models import Appointment
from .calendar import appointment_scope, local_day_bounds, location_time_zone

# The board's columns, left to right: (key, heading, statuses shown in it). Cancelled visits are not shown.
FLOW_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("expected", "Expected", (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)),
    ("arrived", "Arrived", (AppointmentStatus.ARRIVED,)),
    ("roomed", "Roomed", (AppointmentStatus.ROOMED,)),
    ("with_provider", "With provider", (AppointmentStatus.WITH_PROVIDER,)),
    ("completed", "Completed", (AppointmentStatus.COMPLETED,)),
    ("no_show", "No-show", (AppointmentStatus.NO_SHOW,)),
)
# A patient still waiting this long is highlighted.
LONG_WAIT_MINUTES = 20
# The next step the board offers for each status: (status to set, button label).
NEXT_STEPS: dict[str, list[tuple[str, str]]] = {
    AppointmentStatus.SCHEDULED: [(AppointmentStatus.ARRIVED, "Check in"), (AppointmentStatus.NO_SHOW, "No-show")],
    AppointmentStatus.CONFIRMED: [(AppointmentStatus.ARRIVED, "Check in"), (AppointmentStatus.NO_SHOW, "No-show")],
    AppointmentStatus.ARRIVED: [(AppointmentStatus.ROOMED, "Roomed")],
    AppointmentStatus.ROOMED: [(AppointmentStatus.WITH_PROVIDER, "With provider")],
    AppointmentStatus.WITH_PROVIDER: [(AppointmentStatus.COMPLETED, "Completed")],
}


def _minutes(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds() // 60))


@dataclass
class FlowCard:
    """One patient on the board. `waiting_minutes` counts from arrival: to now while they wait (arrived,
    roomed), to when the provider came in once seen. `late_minutes` is how late an expected patient is."""

    appointment: Appointment
    waiting_minutes: int | None = None
    still_waiting: bool = False
    late_minutes: int | None = None
    next_steps: list[tuple[str, str]] = field(default_factory=list)

    @property
    def long_wait(self) -> bool:
        return self.still_waiting and (self.waiting_minutes or 0) >= LONG_WAIT_MINUTES

    @property
    def waiting_label(self) -> str:
        return duration_label(self.waiting_minutes)

    @property
    def late_label(self) -> str:
        return duration_label(self.late_minutes)


def duration_label(minutes: int | None) -> str:
    """'25 min', '1 h 05 min'."""
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


@dataclass
class FlowColumn:
    key: str
    label: str
    cards: list[FlowCard]


@dataclass
class FlowBoard:
    day: date
    location: Location
    now: datetime
    columns: list[FlowColumn]

    @property
    def total(self) -> int:
        return sum(len(c.cards) for c in self.columns)


def _card(appointment: Appointment, now: datetime) -> FlowCard:
    status = appointment.status
    card = FlowCard(appointment=appointment, next_steps=list(NEXT_STEPS.get(status, [])))
    if status in (AppointmentStatus.ARRIVED, AppointmentStatus.ROOMED):
        card.waiting_minutes = _minutes(appointment.arrived_at, now)
        card.still_waiting = True
    elif status in (AppointmentStatus.WITH_PROVIDER, AppointmentStatus.COMPLETED):
        card.waiting_minutes = _minutes(appointment.arrived_at, appointment.seen_at)
    elif status in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED) and appointment.starts_at < now:
        card.late_minutes = _minutes(appointment.starts_at, now)
    return card


def flow_board(
    *, actor: User, location: Location, day: date | None = None, provider_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> FlowBoard:
    """Today's (or `day`'s) appointments at a location in board columns, in start order; one query."""
    now = now or timezone.now()
    tz = location_time_zone(location)
    day = day or now.astimezone(tz).date()
    start, end = local_day_bounds(day, tz)
    qs = appointment_scope(actor=actor).filter(location=location, starts_at__gte=start, starts_at__lt=end)
    if provider_ids is not None:
        qs = qs.filter(provider_id__in=list(provider_ids))
    by_status: dict[str, list[FlowCard]] = {}
    for appointment in qs.exclude(status=AppointmentStatus.CANCELLED).order_by("starts_at", "id"):
        by_status.setdefault(appointment.status, []).append(_card(appointment, now))
    columns = [
        FlowColumn(key=key, label=label, cards=[card for status in statuses for card in by_status.get(status, [])])
        for key, label, statuses in FLOW_COLUMNS
    ]
    for column in columns:
        column.cards.sort(key=lambda c: (c.appointment.starts_at, c.appointment.pk))
    return FlowBoard(day=day, location=location, now=now, columns=columns)

"""Reads behind the calendar: the locations and providers a user may look at, the appointments of a range,
the multi-provider day (also the printed day sheet) and a patient's own appointments.

Every read is scoped to the actor's organization and to the locations the actor works at, and costs a
fixed number of queries whatever the number of appointments.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import Location, Room, User
from clinicdesk.core.permissions import Perm

from ..choices import LIVE_STATUSES, AppointmentStatus, ExceptionKind
from ..models import Appointment, AppointmentType, ScheduleException
from .availability import OpenWindow, provider_availability

# A calendar page never asks for more than a six-week month grid; anything longer is refused.
MAX_RANGE = timedelta(days=62)
# Who can be booked: the roles the booking service accepts as a provider.
PROVIDER_ROLES = (Role.CLINICIAN, Role.NURSE)
# Exceptions that take a provider away (extra hours add time and are shown through the open windows).
AWAY_KINDS = (ExceptionKind.VACATION, ExceptionKind.BLOCKED, ExceptionKind.SICK)


def _may_view(actor: User | None) -> bool:
    return actor is not None and actor.is_authenticated and actor.has_perm_code(Perm.SCHEDULE_VIEW)


def location_time_zone(location: Location) -> zoneinfo.ZoneInfo:
    """The zone a location's times are shown in (the site's zone if the stored name is unknown)."""
    try:
        return zoneinfo.ZoneInfo(location.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(timezone.get_default_timezone_name())


def calendar_locations(*, actor: User) -> list[Location]:
    """The active locations of the actor's practice that the actor works at, by name."""
    if not _may_view(actor):
        return []
    locations = Location.objects.filter(organization_id=actor.organization_id, is_active=True).order_by("name")
    allowed = actor.allowed_location_ids()
    if allowed is not None:
        locations = locations.filter(id__in=allowed)
    return list(locations)


def calendar_location(*, actor: User, location_id: int | str | None = None) -> Location:
    """The location a calendar page shows: the one asked for, else the actor's first. A location the actor
    may not use is refused like an unknown one, naming the field."""
    locations = calendar_locations(actor=actor)
    if not locations:
        raise ValidationError({"location": "There is no location to show; ask an administrator to add one."})
    if location_id in (None, ""):
        return locations[0]
    for location in locations:
        if str(location.pk) == str(location_id).strip():
            return location
    raise ValidationError({"location": "Unknown location; choose one from the list."})


def calendar_providers(*, actor: User, location: Location | None = None, provider_ids: Iterable[int] | None = None) -> list[User]:
    """The providers shown as calendar columns: active clinicians who work at the location, and any provider
    (clinician or nurse) with an availability template there, by name."""
    if not _may_view(actor):
        return []
    users = User.objects.filter(organization_id=actor.organization_id, is_active=True)
    if location is not None:
        works_there = Q(role=Role.CLINICIAN) & (Q(locations__isnull=True) | Q(locations=location))
        users = users.filter(works_there | Q(role__in=PROVIDER_ROLES, availability_templates__location=location))
    else:
        users = users.filter(Q(role=Role.CLINICIAN) | Q(role__in=PROVIDER_ROLES, availability_templates__isnull=False))
    if provider_ids is not None:
        users = users.filter(id__in=list(provider_ids))
    return list(users.distinct().order_by("last_name", "first_name", "id"))


def calendar_appointment_types(*, actor: User) -> QuerySet[AppointmentType]:
    """The active appointment types of the actor's practice, for the booking dialog and its colour key."""
    if not _may_view(actor):
        return AppointmentType.objects.none()
    return AppointmentType.objects.filter(organization_id=actor.organization_id, is_active=True).order_by("name")


def _visible(*, actor: User) -> QuerySet[Appointment]:
    if not _may_view(actor):
        return Appointment.objects.none()
    qs = Appointment.objects.filter(organization_id=actor.organization_id)
    allowed = actor.allowed_location_ids()
    if allowed is not None:
        qs = qs.filter(location_id__in=allowed)
    return qs


def appointment_scope(*, actor: User) -> QuerySet[Appointment]:
    """The appointments the actor may see: their practice's, at the locations they work at, with the rows a
    calendar shows (patient, provider, type, room, location) joined in."""
    return _visible(actor=actor).select_related("patient", "provider", "appointment_type", "room", "location")


def _check_range(start: datetime, end: datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError({"start": "Give the range as aware datetimes."})
    if end <= start:
        raise ValidationError({"end": "The end of the range must be after its start."})
    if end - start > MAX_RANGE:
        raise ValidationError({"end": f"Ask for at most {MAX_RANGE.days} days at a time."})


def calendar_events(
    *,
    actor: User,
    start: datetime,
    end: datetime,
    provider_ids: Iterable[int] | None = None,
    location: Location | None = None,
    include_cancelled: bool = True,
) -> list[Appointment]:
    """The appointments that overlap [start, end), with patient, provider, type, room and location loaded in
    one query. Cancelled and no-show visits are included (the calendar greys them) unless asked otherwise."""
    _check_range(start, end)
    qs = appointment_scope(actor=actor).filter(starts_at__lt=end, ends_at__gt=start)
    if location is not None:
        qs = qs.filter(location=location)
    if provider_ids is not None:
        qs = qs.filter(provider_id__in=list(provider_ids))
    if not include_cancelled:
        qs = qs.exclude(status=AppointmentStatus.CANCELLED)
    return list(qs.order_by("starts_at", "provider_id", "id"))


def calendar_appointment(*, actor: User, public_id: str) -> Appointment:
    """One appointment of the actor's practice (and locations) by its public id; anything else is not found."""
    appointment = appointment_scope(actor=actor).filter(public_id=str(public_id)[:14]).first()
    if appointment is None:
        raise Http404("No such appointment.")
    return appointment


# --- the multi-provider day ------------------------------------------------------------------------------


@dataclass(slots=True)
class DayPatient:
    """The patient of a day-view line: what a schedule shows of them, no more."""

    id: int
    public_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    mrn: str


@dataclass(slots=True)
class DayAppointment:
    """One appointment of the day view, read as plain values: a day of 30 providers is hundreds of lines, and
    full model instances cost several times the query. Reads like an Appointment for what the calendar's JSON
    and the day sheet use; it is not saved (writes go through the booking services with the model)."""

    id: int
    public_id: str
    provider_id: int
    room_id: int | None
    appointment_type_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    notes: str
    arrived_at: datetime | None
    seen_at: datetime | None
    patient: DayPatient
    provider: User
    location: Location
    appointment_type: AppointmentType
    room: Room | None

    @property
    def patient_id(self) -> int:
        return self.patient.id

    def get_status_display(self) -> str:
        return AppointmentStatus(self.status).label


@dataclass
class ProviderDay:
    """One provider's column of the day: when they can be booked, when they are away, and their visits."""

    provider: User
    open_windows: list[OpenWindow] = field(default_factory=list)
    away: list[ScheduleException] = field(default_factory=list)
    appointments: list[DayAppointment] = field(default_factory=list)

    @property
    def live_appointments(self) -> list[DayAppointment]:
        return [a for a in self.appointments if a.status in LIVE_STATUSES]

    @property
    def booked_minutes(self) -> int:
        return sum(int((a.ends_at - a.starts_at).total_seconds() // 60) for a in self.live_appointments)

    @property
    def open_minutes(self) -> int:
        return sum(int((w.ends_at - w.starts_at).total_seconds() // 60) for w in self.open_windows)


@dataclass
class DayView:
    """A location's day, one column per provider, in the location's time zone."""

    day: date
    location: Location
    time_zone: zoneinfo.ZoneInfo
    starts_at: datetime
    ends_at: datetime
    columns: list[ProviderDay]

    @property
    def appointment_count(self) -> int:
        return sum(len(c.appointments) for c in self.columns)


# The values a day-view line is read from (DayAppointment's own fields, then its patient's).
_DAY_VALUES = (
    "id", "public_id", "provider_id", "room_id", "appointment_type_id", "starts_at", "ends_at", "status", "notes",
    "arrived_at", "seen_at",
    "patient_id", "patient__public_id", "patient__first_name", "patient__last_name", "patient__date_of_birth",
    "patient__mrn",
)


def local_day_bounds(day: date, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """Midnight to midnight of `day` in `tz` (23 or 25 hours on the days the clocks change)."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def day_view(*, actor: User, day: date, location: Location | None = None, provider_ids: Iterable[int] | None = None) -> DayView:
    """Every provider's day at a location: open windows, time away and appointments (cancelled included,
    for the calendar to grey). Used by the multi-provider day view and the printed day sheet.

    Queries: the location's providers, their availability (a fixed few, see provider_availability), the
    exceptions, the appointments with their patients, and the types and rooms they use: the count does not
    grow with the number of appointments. Appointments come as DayAppointment lines.
    """
    location = location or calendar_location(actor=actor)
    tz = location_time_zone(location)
    start, end = local_day_bounds(day, tz)
    providers = calendar_providers(actor=actor, location=location, provider_ids=provider_ids)
    columns = {p.pk: ProviderDay(provider=p) for p in providers}
    if not columns:
        return DayView(day=day, location=location, time_zone=tz, starts_at=start, ends_at=end, columns=[])
    ids = list(columns)
    for window in provider_availability(actor=actor, start=start, end=end, provider_ids=ids, location=location):
        if window.provider_id in columns and window.location_id == location.pk:
            columns[window.provider_id].open_windows.append(window)
    away = ScheduleException.objects.filter(
        organization_id=actor.organization_id, kind__in=AWAY_KINDS, starts_at__lt=end, ends_at__gt=start
    ).filter(Q(provider_id__in=ids) | Q(provider__isnull=True)).filter(Q(location__isnull=True) | Q(location=location))
    for exception in away.order_by("starts_at"):
        targets = [columns[exception.provider_id]] if exception.provider_id else list(columns.values())
        for column in targets:
            column.away.append(exception)
    rows = list(
        _visible(actor=actor)
        .filter(location=location, provider_id__in=ids, starts_at__lt=end, ends_at__gt=start)
        .order_by("starts_at", "id")
        .values_list(*_DAY_VALUES)
    )
    # Provider and location are at hand, types and rooms are few: looked up once rather than joined to every line.
    kinds = AppointmentType.objects.in_bulk({row[4] for row in rows})
    rooms = Room.objects.in_bulk({row[3] for row in rows if row[3]})
    for (pk, public_id, provider_id, room_id, type_id, starts_at, ends_at, status, notes, arrived_at, seen_at,
         patient_id, patient_public_id, first_name, last_name, date_of_birth, mrn) in rows:
        column = columns[provider_id]
        column.appointments.append(DayAppointment(
            id=pk, public_id=public_id, provider_id=provider_id, room_id=room_id, appointment_type_id=type_id,
            starts_at=starts_at, ends_at=ends_at, status=status, notes=notes, arrived_at=arrived_at, seen_at=seen_at,
            patient=DayPatient(patient_id, patient_public_id, first_name, last_name, date_of_birth, mrn),
            provider=column.provider, location=location, appointment_type=kinds[type_id],
            room=rooms.get(room_id) if room_id else None,
        ))
    for column in columns.values():
        column.open_windows.sort(key=lambda w: w.starts_at)
    return DayView(day=day, location=location, time_zone=tz, starts_at=start, ends_at=end, columns=list(columns.values()))


# --- a patient's appointments (the patient page's tab and header) ------------------------------------------


@dataclass
class PatientAppointments:
    upcoming: list[Appointment]
    past: list[Appointment]


def patient_appointments(*, actor: User, patient, past_limit: int = 50, now: datetime | None = None) -> PatientAppointments:
    """The patient's upcoming appointments (soonest first), and the history: past and cancelled ones, latest
    first. Two queries."""
    now = now or timezone.now()
    qs = appointment_scope(actor=actor).filter(patient=patient)
    cancelled = Q(status=AppointmentStatus.CANCELLED)
    upcoming = list(qs.filter(ends_at__gt=now).exclude(cancelled).order_by("starts_at", "id"))
    past = list(qs.filter(Q(ends_at__lte=now) | cancelled).order_by("-starts_at", "-id")[:past_limit])
    return PatientAppointments(upcoming=upcoming, past=past)


def patient_next_appointment(*, actor: User, patient, now: datetime | None = None) -> Appointment | None:
    """The patient's next live appointment that has not started yet, or None."""
    now = now or timezone.now()
    return (
        appointment_scope(actor=actor)
        .filter(patient=patient, starts_at__gte=now, status__in=LIVE_STATUSES)
        .order_by("starts_at", "id")
        .first()
    )


def appointment_export(*, actor: User, location: Location, first_day: date, days: int,
                       provider_ids: Iterable[int] | None = None) -> QuerySet[Appointment]:
    """A location's appointments starting on `days` days from `first_day` (its wall clock), cancelled ones too,
    that the actor may see; in time order, for the download."""
    tz = location_time_zone(location)
    start, _ = local_day_bounds(first_day, tz)
    _, end = local_day_bounds(first_day + timedelta(days=days - 1), tz)
    rows = appointment_scope(actor=actor).filter(location=location, starts_at__gte=start, starts_at__lt=end)
    if provider_ids:
        rows = rows.filter(provider_id__in=list(provider_ids))
    return rows.order_by("starts_at", "pk")

"""Booking, moving, cancelling and the status lifecycle of appointments: every write to the schedule.

The rules, in the order they are checked (each refusal is a ValidationError naming the field, and
nothing is saved):

- patient, provider, location, type and room belong to the practice ("patient", "provider", ...);
- the visit ends after it starts, lasts at most 12 hours, and is not in the past ("ends_at", "starts_at");
- with `enforce_availability` (the default): at least the type's minimum notice ahead, inside the
  provider's availability at that location (templates as local wall-clock time, minus exceptions and
  public holidays, plus extra hours) and under the type's maximum per provider per day;
- a new-patient-only type needs a patient without an earlier live or completed visit;
- no overlap (BookingConflict, answered 409): a provider, a room and a patient are never in two
  overlapping live appointments. The provider's and room's held time includes the type's buffers;
  a group type (capacity > 1) shares its time with the same type starting at the same time, up to
  capacity, and never with anything else; equipment in use never exceeds its quantity.

Concurrency: on PostgreSQL the service takes transaction-scoped advisory locks (provider, then rooms
and equipment in id order, then patient) before checking, so two bookings of one provider run one
after the other; the exclusion constraints of migration 0002 are the last line, and their
IntegrityError is turned into BookingConflict. On SQLite every transaction is IMMEDIATE, which
serializes writers the same way.

`enforce_availability=False` is the front desk's squeeze-in: it skips templates, exceptions,
holidays, minimum notice and maximum per day, never the overlap, equipment or patient rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_recorded_as
from clinicdesk.core.choices import Role
from clinicdesk.core.models import Room
from clinicdesk.core.prepared import PreparedQuery, run_together
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.services.records import acting_as

from .. import signals
from ..choices import LIVE_STATUSES, AppointmentStatus, BookingChannel
from ..models import Appointment, AppointmentType, Equipment
from ..selectors.availability import availability_index, known_clock, location_tz, wall_clock

logger = logging.getLogger(__name__)

PROVIDER_ROLES = (Role.CLINICIAN, Role.NURSE)
MAX_VISIT = timedelta(hours=12)
# A walk-in is booked as it happens; its start may be a little behind the clock.
WALK_IN_GRACE = timedelta(minutes=30)

# Advisory lock classes (pg_advisory_xact_lock(class, id)); 7_312_004 is the audit chain's.
_LOCK_PROVIDER, _LOCK_ROOM, _LOCK_EQUIPMENT, _LOCK_PATIENT = 7_312_101, 7_312_102, 7_312_103, 7_312_104

# Which status may follow which. Cancelling has its own service (it needs a reason).
TRANSITIONS: dict[str, frozenset[str]] = {
    AppointmentStatus.SCHEDULED: frozenset({AppointmentStatus.CONFIRMED, AppointmentStatus.ARRIVED, AppointmentStatus.NO_SHOW}),
    AppointmentStatus.CONFIRMED: frozenset({AppointmentStatus.ARRIVED, AppointmentStatus.NO_SHOW}),
    AppointmentStatus.ARRIVED: frozenset({AppointmentStatus.ROOMED, AppointmentStatus.WITH_PROVIDER}),
    AppointmentStatus.ROOMED: frozenset({AppointmentStatus.WITH_PROVIDER, AppointmentStatus.COMPLETED}),
    AppointmentStatus.WITH_PROVIDER: frozenset({AppointmentStatus.COMPLETED}),
}
_STATUS_STAMP = {
    AppointmentStatus.CONFIRMED: "confirmed_at",
    AppointmentStatus.ARRIVED: "arrived_at",
    AppointmentStatus.ROOMED: "roomed_at",
    AppointmentStatus.WITH_PROVIDER: "seen_at",
    AppointmentStatus.COMPLETED: "completed_at",
}
CANCELLABLE = frozenset({AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.ARRIVED})
MOVABLE = frozenset({AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.ARRIVED, AppointmentStatus.ROOMED})
# Foreign keys the service has already checked itself; full_clean need not look them up again.
_CHECKED_FKS = ["organization", "patient", "provider", "location", "room", "appointment_type", "series", "booked_by", "cancelled_by"]
_CONSTRAINT_FIELDS = {
    "appointment_provider_no_overlap": "starts_at",
    "appointment_room_no_overlap": "room",
    "appointment_patient_no_overlap": "patient",
}


class BookingConflict(ValidationError):
    """The time is taken (overlap, capacity, equipment): the API answers 409, pages show it on the field."""


# Reads that every booking and move makes, prepared once (see core/prepared.py).
_TYPE_EQUIPMENT = PreparedQuery(
    lambda appointment_type_id: Equipment.objects.filter(appointment_types=appointment_type_id).order_by("id")
)
_PROVIDER_OR_PATIENT_OVERLAPS = PreparedQuery(
    lambda provider_id, patient_id, busy_from, busy_until, starts_at, ends_at, exclude_id: Appointment.objects.filter(
        Q(provider_id=provider_id, busy_from__lt=busy_until, busy_until__gt=busy_from)
        | Q(patient_id=patient_id, starts_at__lt=ends_at, ends_at__gt=starts_at),
        status__in=LIVE_STATUSES,
    )
    .exclude(pk=exclude_id)
    .order_by()
    .values_list("provider_id", "patient_id", "exclusive", "appointment_type_id", "starts_at", "ends_at", "busy_from", "busy_until")
)


# --- small pieces ------------------------------------------------------------------------------------------


def _lock_statement(lock_class: int, pk: int, *more: tuple[int, int]) -> tuple[str, list]:
    """Transaction-scoped PostgreSQL advisory locks, taken in the order given (one statement for several)."""
    keys = [(lock_class, pk), *more]
    return (
        "SELECT " + ", ".join(["pg_advisory_xact_lock(%s, %s)"] * len(keys)),
        [n for lock, key in keys for n in (lock, key % 2_147_483_647)],
    )


def _advisory_lock(lock_class: int, pk: int, *more: tuple[int, int]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(*_lock_statement(lock_class, pk, *more))


def _local(at: datetime, location) -> datetime:
    return at.astimezone(location_tz(location.time_zone))


def _hm(at: datetime, location) -> str:
    return f"{_local(at, location):%H:%M}"


def _when(at: datetime, location) -> str:
    return f"{_local(at, location):%a %b %-d %H:%M}"


def notify_after_commit(signal, **kwargs) -> None:
    """Send an upward notification once the transaction commits; a failing receiver never undoes the booking."""

    def deliver() -> None:
        for receiver, result in signal.send_robust(sender=Appointment, **kwargs):
            if isinstance(result, Exception):
                logger.error("Receiver %r of %s failed", receiver, signal, exc_info=result)

    transaction.on_commit(deliver)


def _organization_id(actor, location) -> int:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.organization_id
    return location.organization_id


def _check_parties(*, organization_id: int, patient, provider, location, appointment_type) -> None:
    errors: dict[str, str] = {}
    if patient is None or patient.organization_id != organization_id or patient.merged_into_id:
        errors["patient"] = "No such patient."
    elif patient.status == PatientStatus.DECEASED:
        errors["patient"] = f"{patient} is recorded as deceased."
    if provider is None or provider.organization_id != organization_id or not provider.is_active:
        errors["provider"] = "No such provider."
    elif provider.role not in PROVIDER_ROLES:
        errors["provider"] = f"{provider} does not see patients (choose a clinician or a nurse)."
    if location is None or location.organization_id != organization_id or not location.is_active:
        errors["location"] = "No such location."
    if appointment_type is None or appointment_type.organization_id != organization_id:
        errors["appointment_type"] = "No such appointment type."
    elif not appointment_type.is_active:
        errors["appointment_type"] = f"{appointment_type} is no longer booked."
    if errors:
        raise ValidationError(errors)


def _check_room(room, *, location, appointment_type) -> None:
    if room is None:
        return
    if room.location_id != location.pk or not room.is_active:
        raise ValidationError({"room": "No such room at this location."})
    if appointment_type.room_kind and room.kind != appointment_type.room_kind:
        raise ValidationError({"room": f"{appointment_type} needs a {appointment_type.get_room_kind_display().lower()}."})


def _check_times(*, starts_at, ends_at, now: datetime, grace: timedelta = timedelta(0)) -> None:
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime):
            raise ValidationError({name: "Give a date and time."})
        if timezone.is_naive(value):
            raise ValidationError({name: "Give the time with its UTC offset (for example 2027-03-15T09:00:00-04:00)."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."})
    if ends_at - starts_at > MAX_VISIT:
        raise ValidationError({"ends_at": "An appointment lasts at most 12 hours."})
    if starts_at < now - grace:
        raise ValidationError({"starts_at": "That time is in the past."})


def _check_rules(appointment: Appointment, *, provider, location, kind: AppointmentType, now: datetime, enforce_availability: bool) -> None:
    """Minimum notice, availability and maximum per day (the rules a squeeze-in may skip)."""
    if not enforce_availability:
        return
    if kind.min_notice_minutes and appointment.starts_at < now + timedelta(minutes=kind.min_notice_minutes):
        hours, minutes = divmod(kind.min_notice_minutes, 60)
        notice = f"{hours} hour{'s' if hours != 1 else ''}" if not minutes else f"{kind.min_notice_minutes} minutes"
        raise ValidationError({"starts_at": f"{kind} must be booked at least {notice} ahead."})
    pad = timedelta(days=1)
    index = availability_index(
        organization_id=location.organization_id, start=appointment.starts_at - pad, end=appointment.ends_at + pad,
        provider_ids=[provider.pk], location_ids=[location.pk], clocks=known_clock(location),
    )
    refusal = index.refusal(
        provider=provider, location=location, appointment_type=kind, starts_at=appointment.starts_at, ends_at=appointment.ends_at
    )
    if refusal is not None:
        raise ValidationError({refusal[0]: refusal[1]})


def _check_max_per_day(appointment: Appointment, *, provider, location, kind: AppointmentType) -> None:
    if not kind.max_per_day:
        return
    tz = location_tz(location.time_zone)
    day = appointment.starts_at.astimezone(tz).date()
    taken = (
        Appointment.objects.filter(
            provider=provider, appointment_type=kind, status__in=LIVE_STATUSES,
            starts_at__gte=wall_clock(day, time(0), tz), starts_at__lt=wall_clock(day + timedelta(days=1), time(0), tz),
        )
        .exclude(pk=appointment.pk)
        .count()
    )
    if taken >= kind.max_per_day:
        raise ValidationError({"appointment_type": f"{provider} already has {taken} {kind} on {day:%a %b %-d}, the most per day."})


def _check_new_patient(appointment: Appointment, *, patient, kind: AppointmentType) -> None:
    if not kind.new_patient_only:
        return
    seen = (
        Appointment.objects.filter(patient=patient, status__in=LIVE_STATUSES, starts_at__lt=appointment.starts_at)
        .exclude(pk=appointment.pk)
        .exists()
    )
    if seen:
        raise ValidationError({"patient": f"{kind} is for new patients; {patient} has been seen or booked here before."})


def _overlaps(queryset, *, appointment: Appointment):
    return list(
        queryset.filter(status__in=LIVE_STATUSES, busy_from__lt=appointment.busy_until, busy_until__gt=appointment.busy_from)
        .exclude(pk=appointment.pk)
        .values_list("exclusive", "appointment_type_id", "starts_at", "ends_at")
    )


def _shares(rows, appointment: Appointment, kind: AppointmentType) -> bool:
    """True when every overlapping visit is the same group session and there is room in it."""
    if not rows:
        return True
    same_session = all(
        not exclusive and type_id == kind.pk and starts_at == appointment.starts_at for exclusive, type_id, starts_at, _e in rows
    )
    return kind.capacity > 1 and same_session and len(rows) < kind.capacity


def _check_provider_free(appointment: Appointment, *, provider, location, kind: AppointmentType, rows=None) -> None:
    if rows is None:
        rows = _overlaps(Appointment.objects.filter(provider=provider), appointment=appointment)
    if _shares(rows, appointment, kind):
        return
    if kind.capacity > 1 and rows and all(t == kind.pk and s == appointment.starts_at and not x for x, t, s, _e in rows):
        raise BookingConflict({"starts_at": f"This {kind} session is full ({len(rows)} of {kind.capacity})."})
    _exclusive, _type, first_start, first_end = min(rows, key=lambda r: r[2])
    raise BookingConflict(
        {"starts_at": f"{provider} already has an appointment {_hm(first_start, location)}–{_hm(first_end, location)} then."}
    )


def _room_is_free(room_id: int, appointment: Appointment, kind: AppointmentType) -> bool:
    return _shares(_overlaps(Appointment.objects.filter(room_id=room_id), appointment=appointment), appointment, kind)


def _place_room(appointment: Appointment, *, location, kind: AppointmentType, requested_room) -> None:
    """Check the chosen room, or pick the first free room of the kind the type needs."""
    if requested_room is not None:
        _advisory_lock(_LOCK_ROOM, requested_room.pk)
        if not _room_is_free(requested_room.pk, appointment, kind):
            raise BookingConflict({"room": f"{requested_room.name} is in use then."})
        appointment.room = requested_room
        return
    if not kind.room_kind:
        return
    candidates = list(Room.objects.filter(location=location, kind=kind.room_kind, is_active=True).order_by("id"))
    if not candidates:
        raise ValidationError({"room": f"{location} has no {kind.get_room_kind_display().lower()}, which {kind} needs."})
    for room in candidates:
        # Ascending id order: two bookings locking rooms one by one can never wait on each other in a circle.
        _advisory_lock(_LOCK_ROOM, room.pk)
        if _room_is_free(room.pk, appointment, kind):
            appointment.room = room
            return
    raise BookingConflict({"room": f"No {kind.get_room_kind_display().lower()} is free at {location} then."})


def _needed_equipment(*, location, kind: AppointmentType, extra: Iterable) -> list[Equipment]:
    chosen: dict[int, Equipment] = {}
    for item in extra:
        if item is None or item.location_id != location.pk or not item.is_active:
            raise ValidationError({"equipment": "No such equipment at this location."})
        chosen[item.pk] = item
    # A type loaded with_booking_hints() says whether it needs any; otherwise ask.
    required = _TYPE_EQUIPMENT(appointment_type_id=kind.pk) if getattr(kind, "has_equipment", True) else []
    if required:
        here = [e for e in required if e.location_id == location.pk and e.is_active]
        if not here:
            names = ", ".join(sorted({e.name for e in required}))
            raise ValidationError({"appointment_type": f"{kind} needs {names}, which {location} does not have."})
        for item in here:
            chosen[item.pk] = item
    return [chosen[pk] for pk in sorted(chosen)]


def _check_equipment(appointment: Appointment, *, items: list[Equipment], kind: AppointmentType) -> None:
    for item in items:
        _advisory_lock(_LOCK_EQUIPMENT, item.pk)
        rows = list(
            Appointment.objects.filter(
                equipment=item, status__in=LIVE_STATUSES,
                busy_from__lt=appointment.busy_until, busy_until__gt=appointment.busy_from,
            )
            .exclude(pk=appointment.pk)
            .values_list("exclusive", "appointment_type_id", "starts_at")
        )
        joins_session = kind.capacity > 1 and any(
            not x and t == kind.pk and s == appointment.starts_at for x, t, s in rows
        )
        sessions = {(t, s) for x, t, s in rows if not x}
        in_use = sum(1 for x, _t, _s in rows if x) + len(sessions)
        if not joins_session and in_use >= item.quantity:
            raise BookingConflict({"equipment": f"Every {item.name} ({item.quantity}) is in use then."})


def _check_patient_free(appointment: Appointment, *, patient, location, clashes=None) -> None:
    if clashes is None:
        _advisory_lock(_LOCK_PATIENT, patient.pk)
        clashes = list(
            Appointment.objects.filter(
                patient=patient, status__in=LIVE_STATUSES, starts_at__lt=appointment.ends_at, ends_at__gt=appointment.starts_at
            )
            .exclude(pk=appointment.pk)
            .values_list("starts_at", flat=True)
        )
    clash = min(clashes, default=None)
    if clash is not None:
        raise BookingConflict({"patient": f"{patient} already has an appointment at {_when(clash, location)}."})


def _save(appointment: Appointment, *, update_fields: list[str] | None = None) -> None:
    """Write the row; the exclusion constraints answer a race the locks did not see as a BookingConflict.

    No savepoint of its own: the services are atomic, so the conflict leaves through their rollback.
    """
    try:
        appointment.save(update_fields=update_fields)
    except IntegrityError as exc:
        text = str(exc)
        for constraint, field in _CONSTRAINT_FIELDS.items():
            if constraint in text:
                raise BookingConflict({field: "That time was just taken; choose another."}) from exc
        raise


def _lock_and_read_overlaps(appointment: Appointment, *, provider, patient) -> tuple[list, list]:
    """Lock the provider and the patient, then read the provider's visits overlapping the held time and the
    patient's overlapping the visit: one round trip. The read is a statement of its own after the locks, so
    (read committed) it sees every booking committed by whoever held them before."""
    overlaps = (_PROVIDER_OR_PATIENT_OVERLAPS, {
        "provider_id": provider.pk, "patient_id": patient.pk, "busy_from": appointment.busy_from,
        "busy_until": appointment.busy_until, "starts_at": appointment.starts_at, "ends_at": appointment.ends_at,
        "exclude_id": appointment.pk or 0,
    })
    if connection.vendor == "postgresql":
        _locked, rows = run_together(_lock_statement(_LOCK_PROVIDER, provider.pk, (_LOCK_PATIENT, patient.pk)), overlaps)
    else:
        (rows,) = run_together(overlaps)
    provider_rows, patient_clashes = [], []
    for provider_id, patient_id, exclusive, type_id, starts_at, ends_at, busy_from, busy_until in rows:
        if provider_id == provider.pk and busy_from < appointment.busy_until and busy_until > appointment.busy_from:
            provider_rows.append((exclusive, type_id, starts_at, ends_at))
        if patient_id == patient.pk and starts_at < appointment.ends_at and ends_at > appointment.starts_at:
            patient_clashes.append(starts_at)
    return provider_rows, patient_clashes


def _place(appointment: Appointment, *, patient, provider, location, kind: AppointmentType, requested_room,
           equipment: list[Equipment]) -> None:
    """Lock, then check every overlap rule, in a fixed lock order (provider, rooms, equipment, patient)."""
    # Without rooms or equipment the provider and patient locks go in one statement (still in that order).
    # and the provider's and the patient's overlapping visits come back from one query.
    simple = requested_room is None and not kind.room_kind and not equipment
    try:
        if simple:
            provider_rows, patient_clashes = _lock_and_read_overlaps(appointment, provider=provider, patient=patient)
            _check_provider_free(appointment, provider=provider, location=location, kind=kind, rows=provider_rows)
            _check_patient_free(appointment, patient=patient, location=location, clashes=patient_clashes)
            return
        _advisory_lock(_LOCK_PROVIDER, provider.pk)
        _check_provider_free(appointment, provider=provider, location=location, kind=kind)
        _place_room(appointment, location=location, kind=kind, requested_room=requested_room)
        _check_equipment(appointment, items=equipment, kind=kind)
        _check_patient_free(appointment, patient=patient, location=location)
    except OperationalError as exc:
        # A deadlock with a caller's own locks (PostgreSQL picks one side to fail): report it as a race.
        if "deadlock" in str(exc).lower():
            raise BookingConflict({"starts_at": "Someone booked at the same moment; try again."}) from exc
        raise


def _full_clean(appointment: Appointment) -> None:
    # The public id is random (14 of 31 characters) and unique in the database; no need to ask first.
    appointment.full_clean(exclude=_CHECKED_FKS, validate_unique=False, validate_constraints=False)


def _describe(appointment: Appointment) -> str:
    location = appointment.location
    return f"{appointment.appointment_type} with {appointment.provider} on {_when(appointment.starts_at, location)} at {location}"


# --- services ---------------------------------------------------------------------------------------------


@transaction.atomic
def appointment_book(
    *,
    actor,
    patient,
    provider,
    location,
    appointment_type,
    starts_at: datetime,
    ends_at: datetime | None = None,
    room=None,
    equipment: Iterable = (),
    notes: str = "",
    channel: str = BookingChannel.PHONE,
    enforce_availability: bool = True,
) -> Appointment:
    """Book a visit after checking every rule of the schedule (see the module docstring).

    `actor` may be None for bookings the system makes for a patient (online booking); the practice is
    then the location's. `ends_at` defaults to the type's duration; a room is picked when the type needs
    one and none is given; the type's equipment at the location is reserved with any extra given.
    """
    now = timezone.now()
    organization_id = _organization_id(actor, location)
    _check_parties(organization_id=organization_id, patient=patient, provider=provider, location=location, appointment_type=appointment_type)
    kind: AppointmentType = appointment_type
    if channel not in BookingChannel.values:
        raise ValidationError({"channel": f"Choose one of: {', '.join(BookingChannel.values)}."})
    if isinstance(starts_at, datetime) and ends_at is None:
        ends_at = starts_at + timedelta(minutes=kind.duration_minutes)
    grace = WALK_IN_GRACE if channel == BookingChannel.WALK_IN else timedelta(0)
    _check_times(starts_at=starts_at, ends_at=ends_at, now=now, grace=grace)
    _check_room(room, location=location, appointment_type=kind)
    items = _needed_equipment(location=location, kind=kind, extra=equipment)
    appointment = Appointment(
        organization_id=organization_id, patient=patient, provider=provider, location=location, appointment_type=kind,
        starts_at=starts_at, ends_at=ends_at, notes=(notes or "").strip(), channel=channel,
        booked_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    appointment.set_busy_window()
    _full_clean(appointment)
    _check_rules(appointment, provider=provider, location=location, kind=kind, now=now, enforce_availability=enforce_availability)
    _check_new_patient(appointment, patient=patient, kind=kind)
    _place(appointment, patient=patient, provider=provider, location=location, kind=kind, requested_room=room, equipment=items)
    if enforce_availability:
        _check_max_per_day(appointment, provider=provider, location=location, kind=kind)
    # One chain row for the booking: the act, its summary and the fields django-auditlog saw.
    booked = audit_recorded_as(appointment, action="appointment.booked", actor=actor, summary=f"Booked {_describe(appointment)}"[:300])
    with acting_as(actor), booked:
        _save(appointment)
        if items:
            appointment.equipment.set(items)
    notify_after_commit(signals.appointment_booked, appointment=appointment)
    return appointment


@transaction.atomic
def appointment_move(
    *,
    actor,
    appointment: Appointment,
    starts_at: datetime,
    ends_at: datetime | None = None,
    provider=None,
    room=None,
    enforce_availability: bool = True,
) -> Appointment:
    """Move a visit to another time (and optionally provider or room), under the same rules as booking.

    `ends_at` defaults to the visit's current length; `provider` and `room` default to the current ones
    (a type that needs a room gets another free room when its own is taken at the new time).
    """
    now = timezone.now()
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related(
        "patient", "provider", "location", "appointment_type", "room"
    ).get(pk=appointment.pk)
    organization_id = _organization_id(actor, appointment.location)
    if appointment.organization_id != organization_id:
        raise ValidationError({"appointment": "No such appointment."})
    if appointment.status not in MOVABLE:
        raise ValidationError({"status": f"A {appointment.get_status_display().lower()} appointment cannot be moved."})
    kind = appointment.appointment_type
    location = appointment.location
    new_provider = provider or appointment.provider
    if provider is not None:
        _check_parties(
            organization_id=organization_id, patient=appointment.patient, provider=new_provider, location=location,
            appointment_type=kind,
        )
    if isinstance(starts_at, datetime) and ends_at is None:
        ends_at = starts_at + (appointment.ends_at - appointment.starts_at)
    _check_times(starts_at=starts_at, ends_at=ends_at, now=now)
    _check_room(room, location=location, appointment_type=kind)
    previous = {"starts_at": appointment.starts_at, "ends_at": appointment.ends_at, "provider_id": appointment.provider_id,
                "room_id": appointment.room_id}
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.provider = new_provider
    appointment.set_busy_window()
    _full_clean(appointment)
    _check_rules(appointment, provider=new_provider, location=location, kind=kind, now=now, enforce_availability=enforce_availability)
    _check_new_patient(appointment, patient=appointment.patient, kind=kind)
    keep_room = room or appointment.room
    items = list(appointment.equipment.all())
    try:
        _place(appointment, patient=appointment.patient, provider=new_provider, location=location, kind=kind,
               requested_room=keep_room, equipment=items)
    except BookingConflict as exc:
        # The visit's own room is taken at the new time: any other free room of the right kind will do.
        if room is not None or keep_room is None or not kind.room_kind or "room" not in exc.message_dict:
            raise
        _place(appointment, patient=appointment.patient, provider=new_provider, location=location, kind=kind,
               requested_room=None, equipment=items)
    if enforce_availability:
        _check_max_per_day(appointment, provider=new_provider, location=location, kind=kind)
    with acting_as(actor):
        _save(appointment, update_fields=["starts_at", "ends_at", "busy_from", "busy_until", "provider", "room", "updated_at"])
    changes = {
        "starts_at": [previous["starts_at"].isoformat(), appointment.starts_at.isoformat()],
        "ends_at": [previous["ends_at"].isoformat(), appointment.ends_at.isoformat()],
    }
    if previous["provider_id"] != appointment.provider_id:
        changes["provider"] = [previous["provider_id"], appointment.provider_id]
    audit_event(
        action="appointment.moved", actor=actor, target=appointment, changes=changes,
        summary=f"Moved from {_when(previous['starts_at'], location)} to {_describe(appointment)}"[:300],
    )
    notify_after_commit(
        signals.appointment_moved, appointment=appointment, previous_starts_at=previous["starts_at"],
        previous_ends_at=previous["ends_at"], previous_provider_id=previous["provider_id"],
    )
    return appointment


@transaction.atomic
def appointment_cancel(*, actor, appointment: Appointment, reason: str) -> Appointment:
    """Cancel a visit and free its time; later than the type's late-cancel window is flagged as late."""
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related("appointment_type", "location", "patient", "provider").get(
        pk=appointment.pk
    )
    if appointment.organization_id != _organization_id(actor, appointment.location):
        raise ValidationError({"appointment": "No such appointment."})
    if appointment.status not in CANCELLABLE:
        raise ValidationError({"status": f"A {appointment.get_status_display().lower()} appointment cannot be cancelled."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the appointment is cancelled."})
    if len(reason) > 200:
        raise ValidationError({"reason": "Keep the reason under 200 characters."})
    now = timezone.now()
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancel_reason = reason
    appointment.cancelled_at = now
    appointment.cancelled_by = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    appointment.late_cancel = now < appointment.starts_at and appointment.starts_at - now < timedelta(
        hours=appointment.appointment_type.late_cancel_hours
    )
    with acting_as(actor):
        appointment.save(update_fields=["status", "cancel_reason", "cancelled_at", "cancelled_by", "late_cancel", "updated_at"])
    audit_event(
        action="appointment.cancelled", actor=actor, target=appointment,
        summary=f"Cancelled{' (late)' if appointment.late_cancel else ''}: {_describe(appointment)}. Reason: {reason}"[:300],
    )
    notify_after_commit(signals.appointment_cancelled, appointment=appointment)
    return appointment


@transaction.atomic
def appointment_set_status(*, actor, appointment: Appointment, status: str) -> Appointment:
    """Move a visit along scheduled → confirmed → arrived → roomed → with provider → completed, or mark a no-show."""
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related("appointment_type", "location", "patient", "provider").get(
        pk=appointment.pk
    )
    if appointment.organization_id != _organization_id(actor, appointment.location):
        raise ValidationError({"appointment": "No such appointment."})
    if status not in AppointmentStatus.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(AppointmentStatus.values)}."})
    if status == AppointmentStatus.CANCELLED:
        raise ValidationError({"status": "Cancel the appointment with a reason instead."})
    current = appointment.status
    if status not in TRANSITIONS.get(current, frozenset()):
        raise ValidationError(
            {"status": f"A {AppointmentStatus(current).label.lower()} appointment cannot become {AppointmentStatus(status).label.lower()}."}
        )
    now = timezone.now()
    if status == AppointmentStatus.NO_SHOW and now < appointment.starts_at:
        raise ValidationError({"status": "A patient can be marked as a no-show only after the appointment's start."})
    if status == AppointmentStatus.ARRIVED and appointment.starts_at - now > timedelta(hours=24):
        raise ValidationError({"status": "A patient can be checked in only on the day of the appointment."})
    appointment.status = status
    fields = ["status", "updated_at"]
    stamp = _STATUS_STAMP.get(status)
    if stamp:
        setattr(appointment, stamp, now)
        fields.append(stamp)
    with acting_as(actor):
        appointment.save(update_fields=fields)
    audit_event(
        action=f"appointment.{status}", actor=actor, target=appointment, changes={"status": [current, status]},
        summary=f"{AppointmentStatus(status).label}: {_describe(appointment)}"[:300],
    )
    notify_after_commit(signals.appointment_status_changed, appointment=appointment, previous_status=current)
    return appointment


@transaction.atomic
def appointment_move_to_first_free(*, actor, appointment: Appointment, any_provider: bool = True, days: int = 60) -> Appointment:
    """Move a visit to the earliest free time of its type at its location, with any provider (or its own).

    For the day a provider is out: the desk moves each affected patient with one click and then tells them.
    """
    from ..selectors.slots import find_slots

    appointment = Appointment.objects.select_related("appointment_type", "location").get(pk=appointment.pk)
    now = timezone.now()
    slots = find_slots(
        organization=appointment.organization_id, appointment_type=appointment.appointment_type, start=now,
        end=now + timedelta(days=days), provider_ids=None if any_provider else [appointment.provider_id],
        location=appointment.location, limit=10, now=now,
    )
    provider_by_id = {}
    if slots:
        from clinicdesk.core.models import User

        provider_by_id = User.objects.in_bulk({s.provider_id for s in slots})
    for slot in slots:
        try:
            with transaction.atomic():
                return appointment_move(
                    actor=actor, appointment=appointment, starts_at=slot.starts_at,
                    ends_at=slot.starts_at + (appointment.ends_at - appointment.starts_at),
                    provider=provider_by_id[slot.provider_id],
                )
        except BookingConflict:
            continue  # e.g. the patient has another visit then: try the next time
    raise ValidationError({"starts_at": f"No free time for {appointment.appointment_type} in the next {days} days."})


__all__ = [
    "TRANSITIONS",
    "BookingConflict",
    "appointment_book",
    "appointment_cancel",
    "appointment_move",
    "appointment_move_to_first_free",
    "appointment_set_status",
]

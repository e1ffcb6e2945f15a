"""API routes of the schedule (/api/v1/schedule): a provider's day, slot search, and appointments (list,
book, read, move, cancel, status). The routes parse and shape; the services and selectors decide, with
the same rules as the pages. A taken time is 409 with the field named; any other refusal is 400.
Identifiers are strings; datetimes are ISO 8601 with the location's UTC offset."""

import datetime as dt
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import AwareDatetime

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import Location, Room, User
from clinicdesk.core.permissions import Perm
from clinicdesk.core.prepared import PreparedQuery, run_together
from clinicdesk.patients.models import Patient

from .choices import AppointmentStatus, BookingChannel, SeriesEditScope, TimeOfDay
from .models import Appointment, AppointmentType
from .selectors.availability import location_tz, provider_day_schedule
from .selectors.slots import MAX_LIMIT as SLOT_MAX_LIMIT
from .selectors.slots import slot_search
from .services import series as series_services
from .services.appointments import appointment_book, appointment_set_status

router = Router(tags=["schedule"])

LIST_MAX = 200
LIST_PARAMS = ("start", "end", "provider", "patient", "location", "status", "limit", "offset")
SLOT_PARAMS = ("type", "provider", "location", "start", "end", "time_of_day", "limit")


class AppointmentOut(Schema):
    id: str
    patient_id: str
    patient_name: str
    provider_id: str
    provider_name: str
    location_id: str
    room_id: str | None
    appointment_type_id: str
    appointment_type: str
    starts_at: str
    ends_at: str
    status: str
    channel: str
    notes: str
    series_id: str | None
    late_cancel: bool
    cancel_reason: str
    created_at: str


class AppointmentListOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[AppointmentOut]


class SlotOut(Schema):
    provider_id: str
    location_id: str
    starts_at: str
    ends_at: str


class SlotListOut(Schema):
    count: int
    items: list[SlotOut]


class WindowOut(Schema):
    location_id: str
    starts_at: str
    ends_at: str
    appointment_type_ids: list[str] | None


class ProviderDayOut(Schema):
    provider_id: str
    provider_name: str
    date: str
    windows: list[WindowOut]
    appointments: list[AppointmentOut]


class AppointmentIn(Strict):
    patient: str
    provider: str
    location: str
    appointment_type: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    room: str | None = None
    notes: str = ""
    rrule: str | None = None


class SeriesOut(Schema):
    series_id: str
    rrule: str
    items: list[AppointmentOut]


class MoveIn(Strict):
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    provider: str | None = None
    room: str | None = None
    scope: str = SeriesEditScope.THIS


class CancelIn(Strict):
    reason: str
    scope: str = SeriesEditScope.THIS


class StatusIn(Strict):
    status: str


# --- shaping -----------------------------------------------------------------------------------------------


def _iso(at: datetime, location: Location) -> str:
    return at.astimezone(location_tz(location.time_zone)).isoformat()


def _appointment(a: Appointment) -> dict:
    loc = a.location
    return {
        "id": a.public_id, "patient_id": a.patient.public_id, "patient_name": a.patient.display_name
        if hasattr(a.patient, "display_name") else str(a.patient),
        "provider_id": str(a.provider_id), "provider_name": str(a.provider), "location_id": str(a.location_id),
        "room_id": str(a.room_id) if a.room_id else None, "appointment_type_id": str(a.appointment_type_id),
        "appointment_type": a.appointment_type.name, "starts_at": _iso(a.starts_at, loc), "ends_at": _iso(a.ends_at, loc),
        "status": a.status, "channel": a.channel, "notes": a.notes, "series_id": str(a.series_id) if a.series_id else None,
        "late_cancel": a.late_cancel, "cancel_reason": a.cancel_reason, "created_at": a.created_at.isoformat(),
    }  # fmt: skip


_RELATED = ("patient", "provider", "location", "appointment_type")

# The lookups every booking makes, prepared once (see core/prepared.py).
_PROVIDER = PreparedQuery(lambda pk, organization_id: User.objects.filter(pk=pk, organization_id=organization_id).order_by()[:1])
_LOCATION = PreparedQuery(
    lambda pk, organization_id: Location.objects.filter(pk=pk, organization_id=organization_id)
    .select_related("schedule").order_by()[:1]
)
# The booking hints spare the booking service its equipment and recall queries for most types.
_TYPE_BY_ID = PreparedQuery(
    lambda pk, organization_id: AppointmentType.objects.with_booking_hints()
    .filter(pk=pk, organization_id=organization_id).order_by()[:1]
)
_TYPE_BY_CODE = PreparedQuery(
    lambda code, organization_id: AppointmentType.objects.with_booking_hints()
    .filter(code=code, organization_id=organization_id).order_by()[:1]
)
_PATIENT = PreparedQuery(
    lambda public_id, organization_id: Patient.objects.filter(
        public_id=public_id, organization_id=organization_id, merged_into__isnull=True
    ).order_by()[:1]
)


# --- lookups within the caller's practice ---------------------------------------------------------------------


def _pk(value: str | None, field: str) -> int | None:
    if value in (None, ""):
        return None
    if not str(value).isdigit():
        raise ValidationError({field: f"'{value}' is not an identifier."})
    return int(value)


def _provider(actor: User, value: str | None, field: str = "provider") -> User | None:
    pk = _pk(value, field)
    if pk is None:
        return None
    found = _PROVIDER.first(pk=pk, organization_id=actor.organization_id)
    if found is None:
        raise ValidationError({field: f"No provider {value} in this practice."})
    return found


def _location(actor: User, value: str | None, field: str = "location") -> Location | None:
    pk = _pk(value, field)
    if pk is None:
        return None
    found = _LOCATION.first(pk=pk, organization_id=actor.organization_id)
    if found is None:
        raise ValidationError({field: f"No location {value} in this practice."})
    return found


def _type(actor: User, value: str | None, field: str) -> AppointmentType:
    if not value:
        raise ValidationError({field: "Choose an appointment type (its id or code)."})
    if str(value).isdigit():
        found = _TYPE_BY_ID.first(pk=int(value), organization_id=actor.organization_id)
    else:
        found = _TYPE_BY_CODE.first(code=str(value), organization_id=actor.organization_id)
    if found is None:
        raise ValidationError({field: f"No appointment type '{value}' in this practice."})
    return found


def _booking_parties(actor: User, payload) -> dict:
    """The location, patient, provider and type of a booking, read in one round trip; every unknown one is named."""
    org = actor.organization_id
    location_pk, provider_pk = _pk(payload.location, "location"), _pk(payload.provider, "provider")
    kind = payload.appointment_type
    if not kind:
        raise ValidationError({"appointment_type": "Choose an appointment type (its id or code)."})
    calls = {
        "patient": (_PATIENT, {"public_id": str(payload.patient), "organization_id": org}),
        "appointment_type": (_TYPE_BY_ID, {"pk": int(kind), "organization_id": org}) if str(kind).isdigit()
        else (_TYPE_BY_CODE, {"code": str(kind), "organization_id": org}),
    }
    if location_pk is not None:
        calls["location"] = (_LOCATION, {"pk": location_pk, "organization_id": org})
    if provider_pk is not None:
        calls["provider"] = (_PROVIDER, {"pk": provider_pk, "organization_id": org})
    found = {name: rows[0] if rows else None for name, rows in zip(calls, run_together(*calls.values()), strict=True)}
    missing = {
        "location": f"No location {payload.location} in this practice.",
        "patient": "No such patient.",
        "provider": f"No provider {payload.provider} in this practice.",
        "appointment_type": f"No appointment type '{kind}' in this practice.",
    }
    errors = {name: message for name, message in missing.items() if name in calls and found[name] is None}
    if errors:
        raise ValidationError(errors)
    return {"location": found.get("location"), "patient": found["patient"], "provider": found.get("provider"),
            "appointment_type": found["appointment_type"]}


def _patient(actor: User, value: str) -> Patient:
    found = _PATIENT.first(public_id=str(value), organization_id=actor.organization_id)
    if found is None:
        raise ValidationError({"patient": "No such patient."})
    return found


def _room(location: Location | None, value: str | None) -> Room | None:
    pk = _pk(value, "room")
    if pk is None:
        return None
    found = Room.objects.filter(pk=pk, location__organization_id=location.organization_id if location else -1).first()
    if found is None:
        raise ValidationError({"room": f"No room {value} here."})
    return found


def _get(actor: User, public_id: str) -> Appointment:
    found = (
        Appointment.objects.filter(public_id=public_id, organization_id=actor.organization_id)
        .select_related(*_RELATED, "room")
        .first()
    )
    if found is None:
        raise Http404("No such appointment.")
    return found


def _only(request: HttpRequest, allowed: tuple[str, ...]) -> None:
    unknown = [key for key in request.GET if key not in allowed]
    if unknown:
        raise ValidationError({key: f"Unknown parameter '{key}'; use one of: {', '.join(allowed)}." for key in unknown})


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationError({field: "Give the time with its UTC offset (for example 2027-03-15T09:00:00-04:00)."})
    return value


# --- routes ------------------------------------------------------------------------------------------------


@router.get("/providers/{provider_id}/schedule", response={200: ProviderDayOut, 400: ErrorsOut, 404: DetailOut},
            summary="A provider's day: open hours and appointments")
@api_requires(Perm.SCHEDULE_VIEW)
def provider_schedule(request: HttpRequest, provider_id: str, date: str = ""):  # noqa: A002  (the query is ?date=)
    """`?date=YYYY-MM-DD` (default today). Open windows per location and the live appointments of the day."""
    if not provider_id.isdigit():
        raise Http404("No such provider.")
    try:
        day = dt.date.fromisoformat(date) if date else timezone.localdate()
    except ValueError:
        raise ValidationError({"date": "Give the day as YYYY-MM-DD."}) from None
    schedule = provider_day_schedule(actor=request.user, provider_id=int(provider_id), day=day)
    provider = schedule["provider"]
    appointments = schedule["appointments"]
    audit_events(action="appointment.listed", actor=request.user, targets=appointments, channel=AuditChannel.API,
                 summary=f"Day schedule of {provider} on {day}")
    locations = {a.location_id: a.location for a in appointments}
    locations.update({loc.pk: loc for loc in Location.objects.filter(pk__in={w.location_id for w in schedule["windows"]})})
    return {
        "provider_id": str(provider.pk), "provider_name": str(provider), "date": day.isoformat(),
        "windows": [
            {"location_id": str(w.location_id), "starts_at": _iso(w.starts_at, locations[w.location_id]),
             "ends_at": _iso(w.ends_at, locations[w.location_id]),
             "appointment_type_ids": sorted(str(t) for t in w.appointment_type_ids) if w.appointment_type_ids is not None else None}
            for w in schedule["windows"]
        ],
        "appointments": [_appointment(a) for a in appointments],
    }  # fmt: skip


@router.get("/slots", response={200: SlotListOut, 400: ErrorsOut}, summary="Search free slots")
@api_requires(Perm.SCHEDULE_VIEW)
def slots(
    request: HttpRequest,
    type: str = "",  # noqa: A002  (the query parameter is ?type=)
    provider: Query[list[str] | None] = None,
    location: str = "",
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    time_of_day: str = TimeOfDay.ANY,
    limit: int = 20,
):
    """The next free slots for `type` (id or code), earliest first: `provider` (repeat or comma-separate for
    several; default every provider), `location`, `start`/`end` (default now to 60 days on), `time_of_day`
    (any, morning, afternoon, evening), `limit` (1–200)."""
    _only(request, SLOT_PARAMS)
    actor = request.user
    kind = _type(actor, type, "type")
    provider_ids = None
    if provider:
        provider_ids = [_provider(actor, p.strip(), "provider").pk for value in provider for p in value.split(",") if p.strip()]
    where = _location(actor, location or None)
    start = _aware(start, "start") or timezone.now()
    end = _aware(end, "end") or start + timedelta(days=60)
    if not 1 <= limit <= SLOT_MAX_LIMIT:
        raise ValidationError({"limit": f"Use a limit between 1 and {SLOT_MAX_LIMIT}."})
    found = slot_search(actor=actor, appointment_type=kind, start=start, end=end, provider_ids=provider_ids, location=where,
                        time_of_day=time_of_day, limit=limit)
    locations = {loc.pk: loc for loc in Location.objects.filter(pk__in={s.location_id for s in found})}
    return {"count": len(found), "items": [
        {"provider_id": str(s.provider_id), "location_id": str(s.location_id),
         "starts_at": _iso(s.starts_at, locations[s.location_id]), "ends_at": _iso(s.ends_at, locations[s.location_id])}
        for s in found
    ]}  # fmt: skip


@router.get("/appointments", response={200: AppointmentListOut, 400: ErrorsOut}, summary="List appointments")
@api_requires(Perm.SCHEDULE_VIEW)
def list_appointments(
    request: HttpRequest, start: AwareDatetime | None = None, end: AwareDatetime | None = None, provider: str = "", patient: str = "",
    location: str = "", status: str = "", limit: int = 50, offset: int = 0,
):
    """Appointments starting in [`start`, `end`) (default: the next 7 days), by start time; filter by `provider`,
    `patient` (its id), `location` and `status`. Every appointment returned is recorded as read."""
    _only(request, LIST_PARAMS)
    actor = request.user
    start = _aware(start, "start") or timezone.now()
    end = _aware(end, "end") or start + timedelta(days=7)
    errors = {}
    if end <= start:
        errors["end"] = ["The end must be after the start."]
    if not 1 <= limit <= LIST_MAX:
        errors["limit"] = [f"Use a limit between 1 and {LIST_MAX}."]
    if offset < 0:
        errors["offset"] = ["The offset cannot be negative."]
    if status and status not in AppointmentStatus.values:
        errors["status"] = [f"Choose one of: {', '.join(AppointmentStatus.values)}."]
    if errors:
        raise ValidationError(errors)
    rows = Appointment.objects.filter(organization_id=actor.organization_id, starts_at__gte=start, starts_at__lt=end)
    if provider:
        rows = rows.filter(provider=_provider(actor, provider))
    if location:
        rows = rows.filter(location=_location(actor, location))
    if patient:
        rows = rows.filter(patient=_patient(actor, patient))
    if status:
        rows = rows.filter(status=status)
    count = rows.count()
    page = list(rows.select_related(*_RELATED).order_by("starts_at", "provider_id", "id")[offset : offset + limit])
    audit_events(action="appointment.listed", actor=actor, targets=page, channel=AuditChannel.API,
                 summary="Returned by the appointment list API")
    return {"count": count, "limit": limit, "offset": offset, "items": [_appointment(a) for a in page]}


@router.post("/appointments", response={201: AppointmentOut | SeriesOut, 400: ErrorsOut, 409: ErrorsOut},
             summary="Book an appointment (or a recurring series with rrule)")
@api_requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def book(request: HttpRequest, payload: AppointmentIn):
    """Book within the provider's hours with every rule of the front desk. With `rrule` (RFC 5545, e.g.
    FREQ=WEEKLY;BYDAY=TU;COUNT=8) every occurrence is booked, or none (409/400 listing refused dates)."""
    actor = request.user
    parties = _booking_parties(actor, payload)
    args = {
        "actor": actor, **parties,
        "starts_at": _aware(payload.starts_at, "starts_at"), "ends_at": _aware(payload.ends_at, "ends_at"),
        "room": _room(parties["location"], payload.room), "notes": payload.notes, "channel": BookingChannel.API,
    }
    if payload.rrule is not None:
        series = series_services.series_create(rrule=payload.rrule, **args)
        items = list(series.appointments.select_related(*_RELATED).order_by("starts_at"))
        return Status(201, {"series_id": str(series.pk), "rrule": series.rrule, "items": [_appointment(a) for a in items]})
    appointment = appointment_book(**args)
    return Status(201, _appointment(appointment))


@router.get("/appointments/{appointment_id}", response={200: AppointmentOut, 404: DetailOut}, summary="One appointment")
@api_requires(Perm.SCHEDULE_VIEW)
def get_appointment(request: HttpRequest, appointment_id: str):
    appointment = _get(request.user, appointment_id)
    audit_event(action="appointment.viewed", actor=request.user, target=appointment, channel=AuditChannel.API,
                summary="Appointment read through the API")
    return _appointment(appointment)


@router.patch("/appointments/{appointment_id}", response={200: AppointmentOut, 400: ErrorsOut, 404: DetailOut, 409: ErrorsOut},
              summary="Move an appointment")
@api_requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def move(request: HttpRequest, appointment_id: str, payload: MoveIn):
    """New `starts_at` (and optionally `ends_at`, `provider`, `room`). For a recurring appointment `scope` is
    this, following or all; the answer is this appointment as moved."""
    actor = request.user
    appointment = _get(actor, appointment_id)
    moved = series_services.series_move(
        actor=actor, appointment=appointment, scope=payload.scope, starts_at=_aware(payload.starts_at, "starts_at"),
        ends_at=_aware(payload.ends_at, "ends_at"), provider=_provider(actor, payload.provider),
        room=_room(appointment.location, payload.room),
    )
    return _appointment(next((a for a in moved if a.pk == appointment.pk), moved[0]))


@router.post("/appointments/{appointment_id}/cancel", response={200: AppointmentOut, 400: ErrorsOut, 404: DetailOut},
             summary="Cancel an appointment")
@api_requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def cancel(request: HttpRequest, appointment_id: str, payload: CancelIn):
    """`reason` is required; `scope` (this, following, all) for a recurring appointment."""
    appointment = _get(request.user, appointment_id)
    series_services.series_cancel(actor=request.user, appointment=appointment, scope=payload.scope, reason=payload.reason)
    return _appointment(_get(request.user, appointment_id))


@router.post("/appointments/{appointment_id}/status", response={200: AppointmentOut, 400: ErrorsOut, 404: DetailOut},
             summary="Change an appointment's status")
@api_requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def set_status(request: HttpRequest, appointment_id: str, payload: StatusIn):
    """scheduled → confirmed → arrived → roomed → with_provider → completed, or no_show; other steps are refused."""
    appointment = appointment_set_status(actor=request.user, appointment=_get(request.user, appointment_id), status=payload.status)
    return _appointment(appointment)

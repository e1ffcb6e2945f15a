"""Setting up what can be booked: appointment types, availability templates and their blocks, schedule
exceptions (vacation, blocked time, sick days, extra hours) and each location's scheduling settings.

Changing availability never touches booked appointments: blocking a day returns the live appointments
inside it so the desk can call those patients (move or cancel each one with the appointment services).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Department, Location, User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.services.records import acting_as

from ..choices import ExceptionKind
from ..models import (
    Appointment,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityTemplate,
    Equipment,
    LocationSchedule,
    ScheduleException,
)
from ..selectors.availability import location_tz, wall_clock
from .appointments import PROVIDER_ROLES

TYPE_FIELDS = (
    "name", "code", "duration_minutes", "color", "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
    "max_per_day", "new_patient_only", "bookable_online", "late_cancel_hours", "capacity", "room_kind", "reminder_plan",
    "department", "is_active",
)  # fmt: skip
SCHEDULE_FIELDS = (
    "holiday_country", "holiday_subdivision", "observe_holidays", "online_booking_enabled", "online_booking_slug",
    "online_requires_approval", "online_booking_days_ahead", "slot_step_minutes",
)  # fmt: skip
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LIVE_TO_CALL = ("scheduled", "confirmed")


REMINDER_CHANNELS = ("sms", "email", "voice")


def reminder_plan_problem(plan) -> str:
    """What is wrong with a reminder plan (communications sends it), or "" when it is a list like
    [{"channel": "email", "hours_before": 72}, {"channel": "sms", "hours_before": 24, "template": "reminder-sms"}]."""
    shape = 'A list like [{"channel": "sms", "hours_before": 24}].'
    if not isinstance(plan, list):
        return shape
    for n, step in enumerate(plan, start=1):
        if not isinstance(step, dict) or not isinstance(step.get("hours_before"), int) or isinstance(step.get("hours_before"), bool):
            return f"Step {n}: {shape}"
        if step.get("channel") not in REMINDER_CHANNELS:
            return f"Step {n}: channel must be one of {', '.join(REMINDER_CHANNELS)}."
        if not 1 <= step["hours_before"] <= 24 * 30:
            return f"Step {n}: hours_before must be between 1 and 720."
        if set(step) - {"channel", "hours_before", "template"}:
            return f"Step {n}: unknown key {sorted(set(step) - {'channel', 'hours_before', 'template'})[0]!r}."
    return ""


def _require(actor, code: str) -> None:
    if actor is None or not actor.has_perm_code(code):
        raise PermissionDenied(f"Needs {code}")


def _unknown(values: dict[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValidationError({name: f"'{name}' is not a field that can be set here." for name in unknown})


def _same_org(actor, *, provider=None, location=None) -> None:
    errors = {}
    if provider is not None and (provider.organization_id != actor.organization_id or provider.role not in PROVIDER_ROLES):
        errors["provider"] = "Choose a clinician or nurse of this practice."
    if location is not None and location.organization_id != actor.organization_id:
        errors["location"] = "No such location."
    if errors:
        raise ValidationError(errors)


# --- appointment types ---------------------------------------------------------------------------------------


def _apply_type(kind: AppointmentType, values: dict[str, Any], *, actor, equipment) -> list[Equipment] | None:
    _unknown(values, TYPE_FIELDS)
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        if name == "max_per_day" and value in ("", 0):
            value = None
        setattr(kind, name, value)
    errors: dict[str, str] = {}
    if not isinstance(kind.duration_minutes, int) or kind.duration_minutes < 5:
        errors["duration_minutes"] = "A visit lasts at least 5 minutes."
    if not isinstance(kind.capacity, int) or kind.capacity < 1:
        errors["capacity"] = "Capacity is 1, or more for group sessions."
    if kind.color and not _COLOR.match(kind.color):
        errors["color"] = "Use a colour like #0b5cad."
    department = values.get("department")
    if isinstance(department, Department) and department.organization_id != actor.organization_id:
        errors["department"] = "No such department."
    if problem := reminder_plan_problem(kind.reminder_plan):
        errors["reminder_plan"] = problem
    chosen = None
    if equipment is not None:
        chosen = list(equipment)
        if any(e.location.organization_id != actor.organization_id for e in chosen):
            errors["equipment"] = "No such equipment."
    if errors:
        raise ValidationError(errors)
    return chosen


def _save_type(kind: AppointmentType, **kwargs) -> None:
    try:
        with transaction.atomic():
            kind.save(**kwargs)
    except IntegrityError as exc:
        if "code" in str(exc).lower():
            raise ValidationError({"code": f"The code '{kind.code}' is already used by another type."}) from exc
        raise


@transaction.atomic
def appointment_type_create(*, actor, equipment: Iterable[Equipment] | None = None, **fields: Any) -> AppointmentType:
    """Add a kind of visit to the practice's list."""
    _require(actor, Perm.SCHEDULE_MANAGE)
    kind = AppointmentType(organization_id=actor.organization_id)
    chosen = _apply_type(kind, fields, actor=actor, equipment=equipment)
    kind.full_clean(exclude=["organization", "department"])
    if AppointmentType.objects.filter(organization_id=actor.organization_id, code=kind.code).exists():
        raise ValidationError({"code": f"The code '{kind.code}' is already used by another type."})
    with acting_as(actor):
        _save_type(kind)
        if chosen is not None:
            kind.equipment.set(chosen)
    return kind


@transaction.atomic
def appointment_type_update(*, actor, appointment_type: AppointmentType, equipment: Iterable[Equipment] | None = None,
                            **fields: Any) -> AppointmentType:
    """Change a type; booked appointments keep the time they hold (new durations apply to new bookings)."""
    _require(actor, Perm.SCHEDULE_MANAGE)
    kind = AppointmentType.objects.select_for_update().get(pk=appointment_type.pk, organization_id=actor.organization_id)
    chosen = _apply_type(kind, fields, actor=actor, equipment=equipment)
    kind.full_clean(exclude=["organization", "department"])
    if AppointmentType.objects.filter(organization_id=actor.organization_id, code=kind.code).exclude(pk=kind.pk).exists():
        raise ValidationError({"code": f"The code '{kind.code}' is already used by another type."})
    with acting_as(actor):
        _save_type(kind, update_fields=[*fields, "updated_at"] if fields else ["updated_at"])
        if chosen is not None:
            kind.equipment.set(chosen)
    return kind


# --- availability templates ----------------------------------------------------------------------------------


def _parse_time(value, *, field: str) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError({field: f"'{value}' is not a time like 08:30."}) from exc


def _clean_blocks(blocks: Iterable[dict], *, organization_id: int) -> list[dict]:
    cleaned = []
    for n, block in enumerate(blocks, start=1):
        try:
            weekday = int(block.get("weekday"))
        except (TypeError, ValueError):
            weekday = -1
        if not 0 <= weekday <= 6:
            raise ValidationError({"blocks": f"Block {n}: the weekday is 0 (Monday) to 6 (Sunday)."})
        start = _parse_time(block.get("start_time"), field="blocks")
        end = _parse_time(block.get("end_time"), field="blocks")
        if end <= start:
            raise ValidationError({"blocks": f"Block {n}: the end must be after the start."})
        types = list(block.get("appointment_types") or ())
        if any(t.organization_id != organization_id for t in types):
            raise ValidationError({"blocks": f"Block {n}: no such appointment type."})
        cleaned.append({"weekday": weekday, "start_time": start, "end_time": end, "appointment_types": types})
    cleaned.sort(key=lambda b: (b["weekday"], b["start_time"]))
    for a, b in zip(cleaned, cleaned[1:], strict=False):
        if a["weekday"] == b["weekday"] and b["start_time"] < a["end_time"]:
            raise ValidationError({"blocks": f"Blocks on {_day_name(a['weekday'])} overlap ({a['start_time']:%H:%M}–{a['end_time']:%H:%M} "
                                             f"and {b['start_time']:%H:%M}–{b['end_time']:%H:%M})."})
    return cleaned


def _day_name(weekday: int) -> str:
    return ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][weekday]


def _check_provider_in_one_place(template: AvailabilityTemplate, blocks: list[dict]) -> None:
    """A provider's templates whose dates overlap must not offer the same hour twice (two places at once)."""
    others = AvailabilityTemplate.objects.filter(provider_id=template.provider_id, effective_from__lte=template.effective_to or date.max)
    others = others.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=template.effective_from)).exclude(pk=template.pk)
    taken = AvailabilityBlock.objects.filter(template__in=others).select_related("template__location")
    for other in taken:
        for block in blocks:
            if block["weekday"] == other.weekday and block["start_time"] < other.end_time and other.start_time < block["end_time"]:
                raise ValidationError({"blocks": (
                    f"{_day_name(block['weekday'])} {block['start_time']:%H:%M}–{block['end_time']:%H:%M} overlaps "
                    f"'{other.template.name}' at {other.template.location.name} ({other.start_time:%H:%M}–{other.end_time:%H:%M})."
                )})


@transaction.atomic
def availability_template_save(*, actor, provider, location, effective_from: date, blocks: Iterable[dict],
                               name: str = "Usual week", effective_to: date | None = None,
                               template: AvailabilityTemplate | None = None) -> AvailabilityTemplate:
    """Create or replace a provider's usual week at a location: `blocks` are dicts with weekday (0 = Monday),
    start_time, end_time (local wall-clock) and optionally appointment_types (empty: any type)."""
    _require(actor, Perm.SCHEDULE_MANAGE)
    _same_org(actor, provider=provider, location=location)
    if template is not None:
        template = AvailabilityTemplate.objects.select_for_update().get(pk=template.pk, organization_id=actor.organization_id)
    else:
        template = AvailabilityTemplate(organization_id=actor.organization_id)
    template.provider, template.location = provider, location
    template.name = (name or "").strip() or "Usual week"
    template.effective_from, template.effective_to = effective_from, effective_to
    if not isinstance(effective_from, date):
        raise ValidationError({"effective_from": "Give the first day this week applies."})
    if effective_to is not None and effective_to < effective_from:
        raise ValidationError({"effective_to": "The last day must not be before the first."})
    template.full_clean(exclude=["organization", "provider", "location"])
    cleaned = _clean_blocks(blocks, organization_id=actor.organization_id)
    _check_provider_in_one_place(template, cleaned)
    created = template.pk is None
    with acting_as(actor):
        template.save()
        template.blocks.all().delete()
        for block in cleaned:
            row = AvailabilityBlock.objects.create(
                template=template, weekday=block["weekday"], start_time=block["start_time"], end_time=block["end_time"]
            )
            if block["appointment_types"]:
                row.appointment_types.set(block["appointment_types"])
    audit_event(
        action="availability.template_created" if created else "availability.template_changed", actor=actor, target=template,
        summary=f"{template} with {len(cleaned)} block(s) from {effective_from}"[:300],
    )
    return template


@transaction.atomic
def availability_template_delete(*, actor, template: AvailabilityTemplate) -> None:
    """Remove a usual week (booked appointments stay; new bookings need other availability)."""
    _require(actor, Perm.SCHEDULE_MANAGE)
    if template.organization_id != actor.organization_id:
        raise ValidationError({"template": "No such availability template."})
    audit_event(action="availability.template_deleted", actor=actor, target=template, summary=str(template)[:300])
    with acting_as(actor):
        template.delete()


# --- exceptions ----------------------------------------------------------------------------------------------


def affected_appointments(*, exception: ScheduleException) -> list[Appointment]:
    """Live appointments inside a blocking exception: the patients to call."""
    if exception.kind == ExceptionKind.EXTRA:
        return []
    rows = Appointment.objects.filter(
        organization_id=exception.organization_id, status__in=_LIVE_TO_CALL,
        starts_at__lt=exception.ends_at, ends_at__gt=exception.starts_at,
    )
    if exception.provider_id:
        rows = rows.filter(provider_id=exception.provider_id)
        if exception.location_id:
            rows = rows.filter(location_id=exception.location_id)
    else:
        rows = rows.filter(location_id=exception.location_id)
    return list(rows.select_related("patient", "provider", "location", "appointment_type").order_by("starts_at", "provider_id"))


@transaction.atomic
def schedule_exception_create(*, actor, kind: str, starts_at: datetime, ends_at: datetime, provider: User | None = None,
                              location: Location | None = None, reason: str = "") -> ScheduleException:
    """Record time off, a blocked stretch or extra hours for a provider (or a whole location when no provider)."""
    _require(actor, Perm.SCHEDULE_BOOK)
    _same_org(actor, provider=provider, location=location)
    if kind not in ExceptionKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(ExceptionKind.values)}."})
    if provider is None and location is None:
        raise ValidationError({"provider": "Choose a provider, a location or both."})
    if kind == ExceptionKind.EXTRA and provider is not None and location is None:
        raise ValidationError({"location": "Extra hours need the location where the provider will be."})
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError({field: "Give a date and time with its UTC offset."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."})
    if ends_at - starts_at > timedelta(days=366):
        raise ValidationError({"ends_at": "An exception lasts at most a year."})
    exception = ScheduleException(
        organization_id=actor.organization_id, provider=provider, location=location, kind=kind, starts_at=starts_at,
        ends_at=ends_at, reason=(reason or "").strip()[:200], created_by=actor,
    )
    exception.full_clean(exclude=["organization", "provider", "location", "created_by"])
    with acting_as(actor):
        exception.save()
    who = provider or location
    audit_event(
        action="availability.exception_added", actor=actor, target=exception,
        summary=f"{exception.get_kind_display()} for {who}: {starts_at:%Y-%m-%d %H:%M}–{ends_at:%Y-%m-%d %H:%M} UTC"[:300],
    )
    return exception


@transaction.atomic
def schedule_exception_delete(*, actor, exception: ScheduleException) -> None:
    """Remove an exception; the usual week applies again."""
    _require(actor, Perm.SCHEDULE_BOOK)
    if exception.organization_id != actor.organization_id:
        raise ValidationError({"exception": "No such exception."})
    audit_event(action="availability.exception_removed", actor=actor, target=exception, summary=str(exception)[:300])
    exception.delete()


@transaction.atomic
def provider_day_block(*, actor, provider: User, day: date, reason: str = "", kind: str = ExceptionKind.SICK,
                       location: Location | None = None) -> tuple[ScheduleException, list[Appointment]]:
    """Block a provider's whole local day ("called in sick"); returns the exception and the appointments to call."""
    _same_org(actor, provider=provider, location=location)
    if kind not in (ExceptionKind.SICK, ExceptionKind.VACATION, ExceptionKind.BLOCKED):
        raise ValidationError({"kind": "A day is blocked as sick, vacation or blocked time."})
    zone_name = location.time_zone if location is not None else (
        AvailabilityTemplate.objects.filter(provider=provider).select_related("location").values_list("location__time_zone", flat=True).first()
        or "America/New_York"
    )
    tz = location_tz(zone_name)
    exception = schedule_exception_create(
        actor=actor, kind=kind, provider=provider, location=location, reason=reason,
        starts_at=wall_clock(day, time(0), tz), ends_at=wall_clock(day + timedelta(days=1), time(0), tz),
    )
    return exception, affected_appointments(exception=exception)


# --- location settings ---------------------------------------------------------------------------------------


@transaction.atomic
def location_schedule_update(*, actor, location: Location, **fields: Any) -> LocationSchedule:
    """Holidays observed, the slot grid and online booking for one location (created on first change)."""
    _require(actor, Perm.SCHEDULE_MANAGE)
    _same_org(actor, location=location)
    _unknown(fields, SCHEDULE_FIELDS)
    schedule, _created = LocationSchedule.objects.select_for_update().get_or_create(location=location)
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        if name in ("holiday_country", "holiday_subdivision") and isinstance(value, str):
            value = value.upper()
        if name == "online_booking_slug" and value == "":
            value = None
        setattr(schedule, name, value)
    if schedule.observe_holidays:
        import holidays

        try:
            holidays.country_holidays(schedule.holiday_country)
        except NotImplementedError:
            raise ValidationError({"holiday_country": f"No holiday calendar for '{schedule.holiday_country}'."}) from None
        try:
            holidays.country_holidays(schedule.holiday_country, subdiv=schedule.holiday_subdivision or None)
        except (NotImplementedError, KeyError, ValueError):
            raise ValidationError({"holiday_subdivision": (
                f"'{schedule.holiday_subdivision}' is not a state or province of {schedule.holiday_country}."
            )}) from None
    if schedule.slot_step_minutes is not None and schedule.slot_step_minutes < 5:
        raise ValidationError({"slot_step_minutes": "Slots are at least 5 minutes apart."})
    schedule.full_clean(exclude=["location"])
    with acting_as(actor):
        schedule.save()
    return schedule

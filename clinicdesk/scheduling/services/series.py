"""Recurring appointments from RFC 5545 rules, expanded in the location's time zone.

A series is booked all or nothing: every occurrence goes through `appointment_book` with every rule,
and if any occurrence is refused nothing is saved and the error lists each refused date under
"occurrences" (a BookingConflict when every refusal is an overlap, so the API answers 409), so the
desk can change the rule or book the free dates one by one. Moving or cancelling takes a scope:
this occurrence, this and the following, or all (still-live ones; past, completed or cancelled
occurrences are left as they are). Moving shifts each occurrence by the same change of local
wall-clock time, so a weekly 09:00 visit stays at 09:00 local across a daylight saving change.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError
from django.db import transaction

from clinicdesk.core.audit import audit_event
from clinicdesk.patients.services.records import acting_as

from ..choices import LIVE_STATUSES, AppointmentStatus, BookingChannel, SeriesEditScope
from ..models import Appointment, RecurringSeries
from ..selectors.availability import location_tz
from .appointments import BookingConflict, appointment_book, appointment_cancel, appointment_move

MAX_OCCURRENCES = 104
MAX_SPAN = timedelta(days=2 * 366)
_ALLOWED_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST", "BYWEEKNO", "BYYEARDAY"}
_EDITABLE = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


def _rule_text(rule: str) -> str:
    text = (rule or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or "\n" in text or "\r" in text:
        raise ValidationError({"rrule": "Give one RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=8."})
    parts = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not value:
            raise ValidationError({"rrule": f"'{part}' is not NAME=VALUE."})
        name = name.strip().upper()
        if name not in _ALLOWED_PARTS:
            raise ValidationError({"rrule": f"{name} is not supported in a recurrence rule here."})
        parts[name] = value.strip()
    if "FREQ" not in parts:
        raise ValidationError({"rrule": "The rule needs FREQ (DAILY, WEEKLY, MONTHLY or YEARLY)."})
    if parts["FREQ"].upper() not in {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}:
        raise ValidationError({"rrule": "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY."})
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValidationError({"rrule": "Use COUNT or UNTIL, not both (RFC 5545)."})
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise ValidationError({"rrule": "End the series with COUNT or UNTIL."})
    return ";".join(f"{k}={v}" for k, v in parts.items())


def series_occurrences(*, rrule: str, starts_at: datetime, time_zone: str) -> list[datetime]:
    """The starts of every occurrence, computed as local wall-clock time in `time_zone` (DST-correct), in UTC.

    Raises a ValidationError on "rrule" for anything dateutil cannot read, rules without an end, and
    series longer than 104 occurrences or two years.
    """
    text = _rule_text(rrule)
    # A date-only UNTIL ("until April 5") includes that whole day on the location's clock.
    text = re.sub(r"UNTIL=(\d{8})(?=;|$)", r"UNTIL=\1T235959", text, flags=re.IGNORECASE)
    tz = location_tz(time_zone)
    local_start = starts_at.astimezone(tz)
    naive_start = local_start.replace(tzinfo=None)
    try:
        if "UNTIL=" in text.upper() and not text.upper().split("UNTIL=")[1].split(";")[0].endswith("Z"):
            # A floating UNTIL is the location's local time, like the start.
            rule = rrulestr(text, dtstart=naive_start)
            starts = [d.replace(tzinfo=tz) for d in _take(rule)]
        else:
            rule = rrulestr(text, dtstart=local_start)
            starts = [d.replace(tzinfo=tz) for d in _take(rule)]
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        raise ValidationError({"rrule": f"Not a valid recurrence rule: {exc}."}) from exc
    if len(starts) > MAX_OCCURRENCES:
        raise ValidationError({"rrule": f"A series has at most {MAX_OCCURRENCES} occurrences."})
    if not starts:
        raise ValidationError({"rrule": "The rule gives no occurrence from the first appointment on."})
    if starts[-1] - starts[0] > MAX_SPAN:
        raise ValidationError({"rrule": "A series spans at most two years."})
    return [s.astimezone(starts_at.tzinfo) for s in starts]


def _take(rule) -> list[datetime]:
    out = []
    for occurrence in rule:
        out.append(occurrence.replace(tzinfo=None))
        if len(out) > MAX_OCCURRENCES:
            break
    return out


def _raise_collected(errors: list[tuple[datetime, ValidationError]], tz) -> None:
    messages = []
    conflicts_only = True
    for at, exc in errors:
        conflicts_only = conflicts_only and isinstance(exc, BookingConflict)
        detail = "; ".join(m for msgs in exc.message_dict.values() for m in msgs) if hasattr(exc, "error_dict") else "; ".join(exc.messages)
        messages.append(f"{at.astimezone(tz):%a %b %-d, %Y %H:%M}: {detail}")
    payload = {"occurrences": messages}
    raise (BookingConflict(payload) if conflicts_only else ValidationError(payload))


@transaction.atomic
def series_create(
    *,
    actor,
    rrule: str,
    patient,
    provider,
    location,
    appointment_type,
    starts_at: datetime,
    ends_at: datetime | None = None,
    room=None,
    notes: str = "",
    channel: str = BookingChannel.PHONE,
    enforce_availability: bool = True,
) -> RecurringSeries:
    """Book every occurrence of a recurring visit, or none (the error names each refused date)."""
    if not isinstance(starts_at, datetime) or starts_at.tzinfo is None:
        raise ValidationError({"starts_at": "Give the first start with its UTC offset."})
    if location is None:
        raise ValidationError({"location": "No such location."})
    starts = series_occurrences(rrule=rrule, starts_at=starts_at, time_zone=location.time_zone)
    length = (ends_at - starts_at) if ends_at is not None else timedelta(minutes=appointment_type.duration_minutes)
    organization_id = actor.organization_id if actor is not None else location.organization_id
    series = RecurringSeries(
        organization_id=organization_id, rrule=_rule_text(rrule), dtstart=starts_at, time_zone=location.time_zone,
        created_by=actor if actor is not None else None,
    )
    with acting_as(actor):
        series.save()
    tz = location_tz(location.time_zone)
    booked: list[Appointment] = []
    errors: list[tuple[datetime, ValidationError]] = []
    for start in starts:
        try:
            with transaction.atomic():
                appointment = appointment_book(
                    actor=actor, patient=patient, provider=provider, location=location, appointment_type=appointment_type,
                    starts_at=start, ends_at=start + length, room=room, notes=notes, channel=channel,
                    enforce_availability=enforce_availability,
                )
        except ValidationError as exc:
            if start == starts[0] and not errors and _names_party(exc):
                raise  # the patient, provider or type itself is wrong: say so plainly, not per date
            errors.append((start, exc))
            continue
        booked.append(appointment)
    if errors:
        _raise_collected(errors, tz)
    Appointment.objects.filter(pk__in=[a.pk for a in booked]).update(series=series)
    for appointment, start in zip(booked, starts, strict=True):
        Appointment.objects.filter(pk=appointment.pk).update(recurrence_id=start)
        appointment.series, appointment.recurrence_id = series, start
    audit_event(
        action="appointment.series_booked", actor=actor, target=series, patient=patient,
        summary=f"Booked {len(booked)} occurrences of {appointment_type} ({series.rrule})"[:300],
    )
    return series


def _names_party(exc: ValidationError) -> bool:
    return hasattr(exc, "error_dict") and bool(set(exc.error_dict) & {"patient", "provider", "location", "appointment_type", "room", "channel"}) \
        and not isinstance(exc, BookingConflict)


def _targets(appointment: Appointment, scope: str) -> list[Appointment]:
    if scope not in SeriesEditScope.values:
        raise ValidationError({"scope": f"Choose one of: {', '.join(SeriesEditScope.values)}."})
    if scope == SeriesEditScope.THIS or appointment.series_id is None:
        return [appointment]
    siblings = Appointment.objects.filter(series_id=appointment.series_id, status__in=_EDITABLE).select_related(
        "location", "appointment_type", "patient", "provider", "room"
    )
    if scope == SeriesEditScope.FOLLOWING:
        siblings = siblings.filter(starts_at__gte=appointment.starts_at)
    found = list(siblings.order_by("starts_at"))
    if appointment.pk not in {a.pk for a in found}:
        found.insert(0, appointment)
    return found


@transaction.atomic
def series_move(*, actor, appointment: Appointment, scope: str = SeriesEditScope.THIS, starts_at: datetime,
                ends_at: datetime | None = None, provider=None, room=None) -> list[Appointment]:
    """Move one occurrence, or shift this and the following / all by the same change of local time.

    All or nothing, like booking a series. Moving THIS keeps the occurrence in its series; moving
    FOLLOWING starts a new series from this occurrence on, so "all" later means the new plan.
    """
    if appointment.organization_id != getattr(actor, "organization_id", appointment.organization_id):
        raise ValidationError({"appointment": "No such appointment."})
    if not isinstance(starts_at, datetime) or starts_at.tzinfo is None:
        raise ValidationError({"starts_at": "Give the time with its UTC offset."})
    targets = _targets(appointment, scope)
    if len(targets) == 1:
        return [appointment_move(actor=actor, appointment=targets[0], starts_at=starts_at, ends_at=ends_at, provider=provider, room=room)]
    tz = location_tz(appointment.location.time_zone)
    # The change as local wall-clock time, applied to each occurrence's own local start.
    shift = starts_at.astimezone(tz).replace(tzinfo=None) - appointment.starts_at.astimezone(tz).replace(tzinfo=None)
    length = (ends_at - starts_at) if ends_at is not None else None
    plan = []
    for target in targets:
        local = target.starts_at.astimezone(tz).replace(tzinfo=None) + shift
        new_start = local.replace(tzinfo=tz).astimezone(starts_at.tzinfo)
        plan.append((target, new_start, new_start + length if length is not None else None))
    # Later occurrences first when moving later (and earlier first when moving earlier), so that no
    # occurrence is refused for overlapping a sibling that is itself about to move.
    plan.sort(key=lambda item: item[0].starts_at, reverse=shift > timedelta(0))
    moved, errors = [], []
    for target, new_start, new_end in plan:
        try:
            with transaction.atomic():
                moved.append(appointment_move(actor=actor, appointment=target, starts_at=new_start, ends_at=new_end, provider=provider, room=room))
        except ValidationError as exc:
            errors.append((new_start, exc))
    if errors:
        _raise_collected(sorted(errors, key=lambda e: e[0]), tz)
    moved.sort(key=lambda a: a.starts_at)
    if scope == SeriesEditScope.FOLLOWING and appointment.series_id is not None:
        _split_series(actor=actor, appointment=appointment, moved=moved)
    return moved


def _split_series(*, actor, appointment: Appointment, moved: list[Appointment]) -> None:
    old = RecurringSeries.objects.get(pk=appointment.series_id)
    first_original = min(a.recurrence_id or a.starts_at for a in moved)
    earlier = Appointment.objects.filter(series=old, recurrence_id__lt=first_original).exists()
    if not earlier:
        return  # "this and the following" from the first occurrence is the whole series
    new = RecurringSeries(organization_id=old.organization_id, rrule=old.rrule, dtstart=moved[0].starts_at,
                          time_zone=old.time_zone, created_by=actor if actor is not None else None)
    with acting_as(actor):
        new.save()
    Appointment.objects.filter(pk__in=[a.pk for a in moved]).update(series=new)
    for a in moved:
        a.series = new


@transaction.atomic
def series_cancel(*, actor, appointment: Appointment, scope: str = SeriesEditScope.THIS, reason: str) -> list[Appointment]:
    """Cancel one occurrence, this and the following, or every remaining one; returns those cancelled."""
    if appointment.organization_id != getattr(actor, "organization_id", appointment.organization_id):
        raise ValidationError({"appointment": "No such appointment."})
    targets = _targets(appointment, scope)
    if len(targets) == 1:
        return [appointment_cancel(actor=actor, appointment=targets[0], reason=reason)]
    return [appointment_cancel(actor=actor, appointment=t, reason=reason) for t in targets if t.status in LIVE_STATUSES]

"""The demo practice's schedule: location settings, appointment types, the six providers' usual weeks, and
appointments for the past two weeks (completed, no-shows, cancellations) and the next four (about 60%
full). Deterministic for a given seed and day, fast (bulk inserts with the busy window filled in), and
idempotent: a second run adds nothing.

Dr. Chen has 14 patients on the next weekday (Scenario 1: he calls in sick and the desk calls them),
and Ana Álvarez has a follow-up on the coming Thursday at 15:00 (Scenario 2: she moves it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clinicdesk.core.choices import RoomKind
from clinicdesk.patients.models import PUBLIC_ID_ALPHABET, Patient

from .choices import LIVE_STATUSES, AppointmentStatus, BookingChannel, ExceptionKind
from .demo_front_desk import seed_front_desk
from .demo_online import seed_online
from .models import (
    Appointment,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityTemplate,
    LocationSchedule,
    ScheduleException,
)
from .selectors.availability import holidays_of, location_tz

PAST_DAYS = 14
FUTURE_DAYS = 28
FUTURE_FILL = 0.6
PAST_FILL = 0.8
CHEN_NEXT_DAY = 14

# code, name, minutes, colour, capacity, bookable online, new patients only, buffer after, min notice (min), reminders
TYPES = [
    ("new-physical", "New patient physical", 40, "#0b5cad", 1, True, True, 5, 24 * 60, [{"channel": "email", "hours_before": 72}, {"channel": "sms", "hours_before": 24}]),
    ("follow-up", "Follow-up", 15, "#2e7d32", 1, True, False, 0, 120, [{"channel": "sms", "hours_before": 24}]),
    ("annual-physical", "Annual physical", 30, "#6a1b9a", 1, True, False, 0, 24 * 60, [{"channel": "sms", "hours_before": 48}]),
    ("sick", "Sick visit", 15, "#c62828", 1, False, False, 0, 0, []),
    ("flu-shot", "Flu shot", 10, "#ef6c00", 1, True, False, 0, 60, [{"channel": "sms", "hours_before": 24}]),
    ("diabetes-class", "Group diabetes class", 60, "#00838f", 8, False, False, 0, 24 * 60, [{"channel": "email", "hours_before": 48}]),
    ("telehealth", "Telehealth", 20, "#5d4037", 1, True, False, 0, 60, [{"channel": "email", "hours_before": 2}]),
]  # fmt: skip
# What an ordinary day is made of (type code, weight).
MIX = [("follow-up", 40), ("sick", 18), ("annual-physical", 16), ("new-physical", 8), ("telehealth", 10), ("flu-shot", 8)]
OFFICE_DAY = [(time(8), time(12)), (time(13), time(17))]
# username -> {location code: weekdays}
WEEKS = {
    "drchen": {"main": range(5)},
    "drpatel": {"main": range(5)},
    "drokafor": {"main": range(5)},
    "drsantos": {"north": range(5)},
    "drnguyen": {"north": range(5)},
    "drweiss": {"main": (0, 2, 4), "north": (1, 3)},
}


@dataclass
class _Plan:
    rows: list[Appointment]
    patient_busy: dict[int, list[tuple[datetime, datetime]]]
    seen: set[int]
    room_busy: dict[int, list[tuple[datetime, datetime]]]

    def free_room(self, rooms, start: datetime, end: datetime):
        for room in rooms:
            if all(e <= start or s >= end for s, e in self.room_busy.get(room.pk, ())):
                return room
        return None


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add the schedule to the demo practice; returns the number of rows added (0 on a second run)."""
    org = ctx.organization
    added = 0
    with transaction.atomic():
        added += _location_settings(ctx)
        kinds, n = _types(org)
        added += n
        added += _templates(ctx)
    if Appointment.objects.filter(organization=org).exists():
        return added
    with transaction.atomic():
        added += _appointments(ctx, kinds, seed=seed)
    added += seed_front_desk(ctx, seed=seed)  # calls, waitlist and recalls (demo_front_desk.py)
    added += seed_online(ctx, seed=seed, stdout=stdout)  # online booking and calendar feeds (demo_online.py)
    return added


def _location_settings(ctx) -> int:
    added = 0
    for loc in ctx.locations:
        _schedule, created = LocationSchedule.objects.get_or_create(
            location=loc,
            defaults={"holiday_country": "US", "holiday_subdivision": "NY", "slot_step_minutes": 15,
                      "online_booking_enabled": loc.code == "main", "online_booking_slug": f"riverside-{loc.code}",
                      "online_booking_days_ahead": 60},
        )
        added += created
    return added


def _types(org) -> tuple[dict[str, AppointmentType], int]:
    kinds, added = {}, 0
    for code, name, minutes, color, capacity, online, new_only, after, notice, reminders in TYPES:
        kinds[code], created = AppointmentType.objects.get_or_create(
            organization=org, code=code,
            defaults={"name": name, "duration_minutes": minutes, "color": color, "capacity": capacity, "bookable_online": online,
                      "new_patient_only": new_only, "buffer_after_minutes": after, "min_notice_minutes": notice,
                      "reminder_plan": reminders, "room_kind": RoomKind.EXAM if code != "telehealth" else "",
                      "late_cancel_hours": 24},
        )
        added += created
    return kinds, added


def _templates(ctx) -> int:
    added = 0
    locations = {loc.code: loc for loc in ctx.locations}
    start = timezone.localdate() - timedelta(days=365)
    for username, places in WEEKS.items():
        provider = ctx.users[username]
        for code, weekdays in places.items():
            template, created = AvailabilityTemplate.objects.get_or_create(
                organization=ctx.organization, provider=provider, location=locations[code], name="Usual week",
                defaults={"effective_from": start},
            )
            if created:
                AvailabilityBlock.objects.bulk_create(
                    AvailabilityBlock(template=template, weekday=d, start_time=a, end_time=b) for d in weekdays for a, b in OFFICE_DAY
                )
                added += 1
    return added


def _next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5 or holidays_of("US", "NY", day.year).get(day):
        day += timedelta(days=1)
    return day


def _appointments(ctx, kinds: dict[str, AppointmentType], *, seed: int) -> int:
    org = ctx.organization
    rng = random.Random(f"schedule:{seed}")  # noqa: S311  (demo data, not security)
    patient_ids = list(Patient.objects.filter(organization=org, merged_into__isnull=True, status="active").order_by("pk").values_list("pk", flat=True))
    if not patient_ids:
        return 0
    ana = Patient.objects.filter(organization=org, first_name="Ana", last_name="Álvarez").values_list("pk", flat=True).first()
    locations = {loc.code: loc for loc in ctx.locations}
    rooms = {loc.code: list(loc.rooms.filter(kind=RoomKind.EXAM, is_active=True).order_by("name")) for loc in ctx.locations}
    tz = location_tz(ctx.locations[0].time_zone)
    now = timezone.now()
    today = now.astimezone(tz).date()
    next_weekday = _next_weekday(today)
    thursday = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
    vacation = _vacation(ctx, today)
    plan = _Plan(rows=[], patient_busy={}, seen=set(), room_busy={})
    order = patient_ids[:]
    rng.shuffle(order)
    cursor = [0]

    def pick_patient(start: datetime, end: datetime, *, new_only: bool = False) -> int | None:
        for _ in range(len(order)):
            pk = order[cursor[0] % len(order)]
            cursor[0] += 1
            if pk == ana:
                continue
            if new_only and pk in plan.seen:
                continue
            if all(e <= start or s >= end for s, e in plan.patient_busy.get(pk, ())):
                return pk
        return None

    day = today - timedelta(days=PAST_DAYS)
    last = today + timedelta(days=FUTURE_DAYS)
    while day <= last:
        if day.weekday() < 5 and not holidays_of("US", "NY", day.year).get(day):
            for username, places in WEEKS.items():
                provider = ctx.users[username]
                for code, weekdays in places.items():
                    if day.weekday() not in weekdays or (username == vacation[0] and vacation[1] <= day <= vacation[2]):
                        continue
                    _fill_day(
                        rng, plan, day=day, provider=provider, location=locations[code], rooms=rooms[code], kinds=kinds, tz=tz,
                        now=now, pick_patient=pick_patient, org=org,
                        exact=CHEN_NEXT_DAY if (username == "drchen" and day == next_weekday) else None,
                        reserve=(time(15), time(15, 15)) if (username == "drchen" and day == thursday and ana) else None,
                    )
            if day.weekday() == 3 and day > today:
                _group_class(rng, plan, day=day, provider=ctx.users["drsantos"], location=locations["north"], kinds=kinds, tz=tz,
                             now=now, pick_patient=pick_patient, org=org)
        day += timedelta(days=1)
    if ana:
        start = datetime.combine(thursday, time(15), tzinfo=tz)
        _add(plan, org=org, rng=rng, kind=kinds["follow-up"], provider=ctx.users["drchen"], location=locations["main"],
             room=plan.free_room(rooms["main"], start, start + timedelta(minutes=15)), patient_id=ana, start=start, now=now)
    Appointment.objects.bulk_create(plan.rows, batch_size=1000)
    return len(plan.rows)


def _vacation(ctx, today: date) -> tuple[str, date, date]:
    """Dr. Nguyen is away for three days in the third week, recorded as an exception."""
    start = today + timedelta(days=14 - today.weekday() + 1)  # a Tuesday two weeks on
    end = start + timedelta(days=2)
    tz = location_tz(ctx.locations[0].time_zone)
    ScheduleException.objects.get_or_create(
        organization=ctx.organization, provider=ctx.users["drnguyen"], kind=ExceptionKind.VACATION,
        starts_at=datetime.combine(start, time(0), tzinfo=tz), defaults={
            "ends_at": datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz), "reason": "Family vacation",
            "created_by": ctx.users.get("priya"),
        },
    )  # fmt: skip
    return "drnguyen", start, end


def _fill_day(rng, plan: _Plan, *, day, provider, location, rooms, kinds, tz, now, pick_patient, org, exact=None, reserve=None):
    """Walk the provider's day on the 15-minute grid, booking a share of it (exactly `exact` visits if given)."""
    grid = []
    for a, b in OFFICE_DAY:
        t = datetime.combine(day, a, tzinfo=tz)
        while t < datetime.combine(day, b, tzinfo=tz):
            grid.append((t, datetime.combine(day, b, tzinfo=tz)))
            t += timedelta(minutes=15)
    past = datetime.combine(day, time(0), tzinfo=tz) < now - timedelta(days=1)
    fill = PAST_FILL if past else FUTURE_FILL
    wanted = exact
    busy_until = None
    booked = 0
    for n, (start, block_end) in enumerate(grid):
        if busy_until is not None and start < busy_until:
            continue
        if reserve is not None and datetime.combine(day, reserve[0], tzinfo=tz) <= start < datetime.combine(day, reserve[1], tzinfo=tz):
            continue
        if wanted is not None:
            if booked >= wanted:
                break
            # Spread the visits over the day but always reach the number: short visits, skipping only spare slots.
            if len(grid) - n > 2 * (wanted - booked) + 1 and rng.random() < 0.4:
                continue
            code = rng.choices(["follow-up", "sick", "annual-physical"], weights=[6, 3, 1])[0]
        elif rng.random() > fill:
            continue
        else:
            code = rng.choices([c for c, _w in MIX], weights=[w for _c, w in MIX])[0]
        kind = kinds[code]
        end = start + timedelta(minutes=kind.duration_minutes)
        if end + timedelta(minutes=kind.buffer_after_minutes) > block_end:
            kind = kinds["follow-up"]
            end = start + timedelta(minutes=15)
        if reserve is not None and start < datetime.combine(day, reserve[1], tzinfo=tz) and end > datetime.combine(day, reserve[0], tzinfo=tz):
            continue
        patient_id = pick_patient(start, end, new_only=kind.new_patient_only)
        if patient_id is None:
            continue
        room = None
        if kind.room_kind:
            room = plan.free_room(rooms, start, end + timedelta(minutes=kind.buffer_after_minutes))
            if room is None:
                continue
        _add(plan, org=org, rng=rng, kind=kind, provider=provider, location=location, room=room, patient_id=patient_id,
             start=start, now=now, live=wanted is not None)
        busy_until = end + timedelta(minutes=kind.buffer_after_minutes)
        booked += 1


def _group_class(rng, plan: _Plan, *, day, provider, location, kinds, tz, now, pick_patient, org):
    """The Thursday diabetes class at North, 14:00, five to eight patients (Dr. Santos's 14:00–15:00 is kept free)."""
    kind = kinds["diabetes-class"]
    start = datetime.combine(day, time(14), tzinfo=tz)
    end = start + timedelta(minutes=kind.duration_minutes)
    # The class takes the hour: drop Dr. Santos's ordinary visits that overlap it.
    plan.rows[:] = [
        r for r in plan.rows
        if not (r.provider_id == provider.pk and r.status in LIVE_STATUSES and r.busy_from < end and r.busy_until > start)
    ]
    for _ in range(rng.randint(5, kind.capacity)):
        patient_id = pick_patient(start, end)
        if patient_id is not None:
            _add(plan, org=org, rng=rng, kind=kind, provider=provider, location=location, room=None, patient_id=patient_id,
                 start=start, now=now)


def _add(plan: _Plan, *, org, rng, kind, provider, location, room, patient_id, start, now, live: bool = False) -> None:
    end = start + timedelta(minutes=kind.duration_minutes)
    status, stamps = _status(rng, start, end, now)
    if live and status == AppointmentStatus.CANCELLED:
        status, stamps = AppointmentStatus.SCHEDULED, {}
    appointment = Appointment(
        organization=org, public_id="".join(rng.choices(PUBLIC_ID_ALPHABET, k=14)), patient_id=patient_id,
        provider=provider, location=location, room=room, appointment_type=kind, starts_at=start, ends_at=end,
        busy_from=start - timedelta(minutes=kind.buffer_before_minutes), busy_until=end + timedelta(minutes=kind.buffer_after_minutes),
        exclusive=kind.capacity == 1, status=status,
        channel=rng.choices([BookingChannel.PHONE, BookingChannel.ONLINE, BookingChannel.IN_PERSON], weights=[70, 20, 10])[0],
        **stamps,
    )
    if status == AppointmentStatus.CANCELLED:
        appointment.cancel_reason = rng.choice(["Feeling better", "Work conflict", "Transportation", "Rescheduling"])
        appointment.cancelled_at = start - timedelta(hours=rng.randint(2, 96))
        appointment.late_cancel = start - appointment.cancelled_at < timedelta(hours=kind.late_cancel_hours)
    plan.rows.append(appointment)
    if status in LIVE_STATUSES:
        plan.patient_busy.setdefault(patient_id, []).append((start, end))
        if room is not None:
            plan.room_busy.setdefault(room.pk, []).append((appointment.busy_from, appointment.busy_until))
    plan.seen.add(patient_id)


def _status(rng, start: datetime, end: datetime, now: datetime) -> tuple[str, dict]:
    """What has happened to a visit by now: the past is mostly completed, today is in progress, the future is booked."""
    if end <= now - timedelta(hours=1):
        roll = rng.random()
        if roll < 0.07:
            return AppointmentStatus.NO_SHOW, {}
        if roll < 0.15:
            return AppointmentStatus.CANCELLED, {}
        return AppointmentStatus.COMPLETED, {
            "arrived_at": start - timedelta(minutes=rng.randint(2, 15)), "roomed_at": start + timedelta(minutes=rng.randint(0, 8)),
            "seen_at": start + timedelta(minutes=rng.randint(5, 15)), "completed_at": end + timedelta(minutes=rng.randint(0, 10)),
        }  # fmt: skip
    if start <= now + timedelta(minutes=10):
        status = rng.choice([AppointmentStatus.ARRIVED, AppointmentStatus.ROOMED, AppointmentStatus.WITH_PROVIDER])
        stamps = {"arrived_at": min(now, start) - timedelta(minutes=rng.randint(1, 10))}
        if status in (AppointmentStatus.ROOMED, AppointmentStatus.WITH_PROVIDER):
            stamps["roomed_at"] = min(now, start + timedelta(minutes=2))
        if status == AppointmentStatus.WITH_PROVIDER:
            stamps["seen_at"] = min(now, start + timedelta(minutes=5))
        return status, stamps
    if rng.random() < 0.06:
        return AppointmentStatus.CANCELLED, {}
    if start - now < timedelta(days=2) and rng.random() < 0.6:
        return AppointmentStatus.CONFIRMED, {"confirmed_at": now - timedelta(hours=rng.randint(1, 30))}
    return AppointmentStatus.SCHEDULED, {}

#!/usr/bin/env python
"""Multi-provider day view: the `day_view` selector for 30 providers and 600 appointments on one day.

Builds (or reuses) one small benchmark database per engine, then prints p50/p95/max in milliseconds of:

  selector         day_view(actor=<front desk>, day=..., location=...) with every row it returns read
  selector + JSON  the same plus the FullCalendar JSON the calendar page receives (scheduling:calendar_day)
  bare SQL         the selector's appointment query alone, re-executed through a cursor and fetched

  PostgreSQL  database clinicdesk_bench_dayview (BENCH_DAYVIEW_DATABASE_URL; created if missing)
  SQLite      var/bench/day-view.sqlite3

    .venv/bin/python bench/day_view.py                   # both engines
    .venv/bin/python bench/day_view.py --engine sqlite   # one engine
    .venv/bin/python bench/day_view.py --rebuild         # drop and rebuild the databases first

Target: p95 <= 100 ms. Never run as a test (the query count is: clinicdesk/scheduling/tests/test_calendar.py).
"""

from __future__ import annotations

import os
import random
import sys
import time
import zoneinfo
from datetime import date, datetime, timedelta
from pathlib import Path

from _engines import fmt, open_engine, percentile, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_DAYVIEW_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_dayview")
SQLITE_PATH = ROOT / "var" / "bench" / "day-view.sqlite3"
ENGINES = {
    "postgresql": {"env": {"DATABASE_URL": PG_URL}},
    "sqlite": {"env": {"SQLITE_PATH": str(SQLITE_PATH)}},
}
PROVIDERS = 30
APPOINTMENTS = 600
RUNS = 200
WARM_UP = 10
TARGET_MS = 100.0
DAY = date(2030, 3, 13)  # a Wednesday, no public holiday
TIME_ZONE = "America/New_York"
SEED = 2026
ORG_SLUG = "bench-day-view"


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


# --- inside the child process: one engine -----------------------------------------------------------------


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url=PG_URL, sqlite_path=SQLITE_PATH, rebuild=rebuild)
    from django.db import connection

    actor, location = build()
    selector_ms, json_ms, sql_ms, queries, count = measure(actor, location)
    if engine == "postgresql":
        label = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        import sqlite3

        label = f"SQLite {sqlite3.sqlite_version}"
    print(f"\nday_view · {label} · {PROVIDERS} providers · {count} appointments on {DAY} · {RUNS} runs · {queries} queries each")
    print(f"  {'':<18}{'p50':>8}{'p95':>8}{'max':>8}   ms")
    print(f"  {'selector':<18}{fmt(selector_ms)}")
    print(f"  {'selector + JSON':<18}{fmt(json_ms)}")
    print(f"  {'bare SQL':<18}{fmt(sql_ms)}")
    p95 = percentile(selector_ms, 95)
    print(f"  target p95 <= {TARGET_MS:.0f} ms: {'met' if p95 <= TARGET_MS else 'MISSED'} ({p95:.1f} ms)")
    return 0


def build():
    """Migrate, then (once) a practice with one location, 30 providers working the office week, 600 appointments
    on DAY (a few cancelled or no-show), some sick time and a busy day either side. Returns (actor, location)."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Location, Organization, Room, User
    from clinicdesk.patients.models import Patient
    from clinicdesk.scheduling.choices import AppointmentStatus, ExceptionKind
    from clinicdesk.scheduling.models import (
        Appointment,
        AppointmentType,
        AvailabilityBlock,
        AvailabilityTemplate,
        LocationSchedule,
        ScheduleException,
    )

    def aware(tz: str, *args: int) -> datetime:
        return datetime(*args, tzinfo=zoneinfo.ZoneInfo(tz))

    call_command("migrate", verbosity=0)
    org = Organization.objects.filter(slug=ORG_SLUG).first()
    if org is not None:
        return User.objects.get(organization=org, username="bench-desk"), Location.objects.get(organization=org, code="main")
    started = time.perf_counter()
    print(f"seeding the day view practice on {connection.vendor}…", flush=True)
    rng = random.Random(SEED)  # noqa: S311
    with transaction.atomic():
        org = Organization.objects.create(name="Day View Bench", slug=ORG_SLUG, mrn_prefix="DV")
        location = Location.objects.create(organization=org, name="Main", code="main", time_zone=TIME_ZONE)
        LocationSchedule.objects.create(location=location, holiday_country="US", holiday_subdivision="NY")
        rooms = [Room.objects.create(location=location, name=f"Exam {i + 1}") for i in range(PROVIDERS)]
        actor = User.objects.create_user("bench-desk", organization=org, role=Role.FRONT_DESK, first_name="Maria")
        providers = [
            User.objects.create_user(f"bench-dr-{i:02d}", organization=org, role=Role.CLINICIAN, title="MD",
                                     first_name=f"Provider{i:02d}", last_name=f"Bench{i:02d}")
            for i in range(PROVIDERS)
        ]
        kinds = [
            AppointmentType.objects.create(organization=org, name=name, code=code, duration_minutes=minutes, color=color)
            for name, code, minutes, color in [("Follow-up", "fu", 15, "#2e7d32"), ("Sick visit", "sick", 15, "#c62828"),
                                               ("Annual physical", "annual", 30, "#6a1b9a"), ("Telehealth", "tele", 20, "#5d4037")]
        ]
        for provider in providers:
            template = AvailabilityTemplate.objects.create(organization=org, provider=provider, location=location,
                                                           effective_from=date(2029, 1, 1))
            AvailabilityBlock.objects.bulk_create(
                AvailabilityBlock(template=template, weekday=d, start_time=start, end_time=end)
                for d in range(5)
                for start, end in ((datetime.min.time().replace(hour=8), datetime.min.time().replace(hour=12)),
                                   (datetime.min.time().replace(hour=13), datetime.min.time().replace(hour=17)))
            )
        for provider in providers[:3]:
            ScheduleException.objects.create(organization=org, provider=provider, location=location, kind=ExceptionKind.SICK,
                                             starts_at=aware(TIME_ZONE, DAY.year, DAY.month, DAY.day, 16),
                                             ends_at=aware(TIME_ZONE, DAY.year, DAY.month, DAY.day, 17), reason="Out")
        patients = Patient.objects.bulk_create(
            Patient(organization=org, mrn=f"DV{i:07d}", first_name=f"First{i}", last_name=f"Last{i}",
                    date_of_birth=date(1950 + i % 60, 1 + i % 12, 1 + i % 28), sex="female")
            for i in range(APPOINTMENTS * 3)
        )
        rows = []
        for day, per_provider in ((DAY - timedelta(days=1), APPOINTMENTS // PROVIDERS), (DAY, APPOINTMENTS // PROVIDERS),
                                  (DAY + timedelta(days=1), APPOINTMENTS // PROVIDERS)):
            for p_index, provider in enumerate(providers):
                slots = [aware(TIME_ZONE, day.year, day.month, day.day, 8) + timedelta(minutes=15 * s) for s in range(16)]
                slots += [aware(TIME_ZONE, day.year, day.month, day.day, 13) + timedelta(minutes=15 * s) for s in range(12)]
                for n, start in enumerate(sorted(rng.sample(slots, per_provider))):
                    kind = kinds[(p_index + n) % 2]
                    status = rng.choices([AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.CANCELLED,
                                          AppointmentStatus.NO_SHOW], weights=[70, 20, 6, 4])[0]
                    end = start + timedelta(minutes=kind.duration_minutes)
                    rows.append(Appointment(
                        organization=org, patient=patients[len(rows) % len(patients)], provider=provider, location=location,
                        room=rooms[p_index], appointment_type=kind, starts_at=start, ends_at=end,
                        busy_from=start, busy_until=end, status=status, notes=rng.choice(["", "", "Bring list", "Fasting"]),
                    ))
        Appointment.objects.bulk_create(rows, batch_size=500)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
    return actor, location


def measure(actor, location):
    """Time the selector, the selector with the page's JSON, and the bare appointment query."""
    from django.db import connection

    from clinicdesk.scheduling.selectors.calendar import day_view
    from clinicdesk.scheduling.views.calendar import day_json

    def read_all(view):
        return sum(len(str(a.patient.last_name)) + len(a.appointment_type.name) + len(a.room.name if a.room_id else "") for c in view.columns
                   for a in c.appointments)

    for _ in range(WARM_UP):
        read_all(day_view(actor=actor, day=DAY, location=location))
    statements: list[tuple[str, tuple]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        view = day_view(actor=actor, day=DAY, location=location)
        read_all(view)
    appointment_sql = next((sql, params) for sql, params in statements
                           if 'FROM "scheduling_appointment"' in sql and '"patients_patient"' in sql)
    selector_ms, json_ms, sql_ms = [], [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        view = day_view(actor=actor, day=DAY, location=location)
        read_all(view)
        selector_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        day_json(day_view(actor=actor, day=DAY, location=location), can_book=True)
        json_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(*appointment_sql)
            cursor.fetchall()
        sql_ms.append((time.perf_counter() - started) * 1000)
    return selector_ms, json_ms, sql_ms, len(statements), view.appointment_count


if __name__ == "__main__":
    sys.exit(main())

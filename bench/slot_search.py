#!/usr/bin/env python
"""Slot search at scale: the next 20 slots across 50 providers over 60 days, with 200,000 appointments.

Builds (or reuses) one benchmark database per engine with a practice of 50 providers (Monday to Friday,
08:00-12:00 and 13:00-17:00, two locations) and 200,000 appointments: the 60 days ahead (90% booked
this week, 80% next week, thinning to 45%) and about 7 months of history (75%), so longer visits have
to be looked for past the fullest days. Then 200 searches go through the real selector `find_slots`
(50 providers, a type of 15, 20, 30 or 40 minutes, any time / mornings / afternoons, from a start within
the next week), after one warm-up pass, and prints p50/p95/max in milliseconds beside:

  find_slots CPU     CPU time of this process during the search (the Python side; SQLite runs in-process, so
                     there it includes the database's work too; PostgreSQL's work is in the server)
  appointments SQL   the statements that fetch the window's appointments, re-executed bare and fetched
  all SQL            every statement the search issued, re-executed bare
  60-day window SQL  one query for every live appointment of the 50 providers over the whole 60 days

  PostgreSQL  BENCH_SCHED_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_sched
  SQLite      var/bench/sched-200k.sqlite3

    .venv/bin/python bench/slot_search.py [--engine postgresql|sqlite] [--rebuild]

Target: p95 <= 50 ms on both engines, within 3x of the appointments SQL. Never run as a test.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _engines import fmt, open_engine, percentile, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_SCHED_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_sched")
SQLITE_PATH = ROOT / "var" / "bench" / "sched-200k.sqlite3"
ENGINES = {
    "postgresql": {"env": {"DATABASE_URL": PG_URL}},
    "sqlite": {"env": {"SQLITE_PATH": str(SQLITE_PATH)}},
}
PROVIDERS = 50
APPOINTMENTS = 200_000
PATIENTS = 20_000
SEARCHES = 200
LIMIT = 20
WINDOW_DAYS = 60
TARGET_MS = 50.0
SEED = 2026
ORG_SLUG = "bench-slots"
APPOINTMENTS_FROM = re.compile(r'FROM "?scheduling_appointment"?\s')
# The benchmark's "now": fixed, so the database stays valid between runs. A Monday, 08:00 in New York.
NOW = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


# --- inside the child process: one engine -----------------------------------------------------------


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url=PG_URL, sqlite_path=SQLITE_PATH, rebuild=rebuild)
    from django.db import connection

    org, providers, kinds = build()
    searches = plan_searches(kinds)
    selector_ms, cpu_ms, appt_ms, all_ms, queries, found = measure(org, providers, searches)
    window_ms = window_query(providers)
    if engine == "postgresql":
        label = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        import sqlite3

        label = f"SQLite {sqlite3.sqlite_version}"
    from clinicdesk.scheduling.models import Appointment

    total = Appointment.objects.filter(organization=org).count()
    print(f"\nslot_search · {label} · {total:,} appointments · {len(providers)} providers · {WINDOW_DAYS}-day window · "
          f"{len(searches)} searches · limit {LIMIT}")
    print(f"  {'':<22}{'p50':>8}{'p95':>8}{'max':>8}   ms")
    print(f"  {'find_slots':<22}{fmt(selector_ms)}")
    print(f"  {'find_slots CPU':<22}{fmt(cpu_ms)}")
    print(f"  {'appointments SQL':<22}{fmt(appt_ms)}")
    print(f"  {'all SQL':<22}{fmt(all_ms)}")
    print(f"  {'60-day window SQL':<22}{fmt(window_ms)}")
    print(f"  queries per search: {min(queries)}–{max(queries)} (median {statistics.median(queries):.0f}); "
          f"slots found: {min(found)}–{max(found)}")
    p95 = percentile(selector_ms, 95)
    ratio = p95 / max(percentile(appt_ms, 95), 0.001)
    met = "met" if p95 <= TARGET_MS else "MISSED"
    print(f"  target p95 <= {TARGET_MS:.0f} ms: {met} ({p95:.1f} ms); {ratio:.1f}x the appointments SQL at p95")
    return 0


def build():
    """Migrate, then create the benchmark practice once (kept between runs); returns (org, provider ids, types)."""
    from types import SimpleNamespace

    from django.core.management import call_command
    from django.db import connection, transaction

    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Location, Organization, User
    from clinicdesk.patients import demo as patient_demo
    from clinicdesk.patients.models import Patient
    from clinicdesk.scheduling.models import (
        Appointment,
        AppointmentType,
        AvailabilityBlock,
        AvailabilityTemplate,
        LocationSchedule,
    )

    call_command("migrate", verbosity=0)
    org, created = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Slot Bench Practice", "mrn_prefix": "SB"})
    if not created and Appointment.objects.filter(organization=org).count() >= APPOINTMENTS:
        providers = list(User.objects.filter(organization=org, role=Role.CLINICIAN).order_by("pk").values_list("pk", flat=True))
        return org, providers, list(AppointmentType.objects.filter(organization=org).order_by("duration_minutes"))
    started = time.perf_counter()
    print(f"building the slot benchmark on {connection.vendor} (once)…", flush=True)
    with transaction.atomic():
        Appointment.objects.filter(organization=org).delete()
        locations = []
        for code in ("east", "west"):
            loc, _ = Location.objects.get_or_create(organization=org, code=code, defaults={"name": f"Bench {code}",
                                                                                         "time_zone": "America/New_York"})
            LocationSchedule.objects.get_or_create(location=loc, defaults={"holiday_country": "US", "holiday_subdivision": "NY"})
            locations.append(loc)
        kinds = []
        for minutes in (15, 20, 30, 40):
            kind, _ = AppointmentType.objects.get_or_create(organization=org, code=f"visit-{minutes}",
                                                            defaults={"name": f"Visit {minutes}", "duration_minutes": minutes})
            kinds.append(kind)
        providers = []
        for n in range(PROVIDERS):
            user, made = User.objects.get_or_create(username=f"bench-dr-{n:02d}", defaults={
                "organization": org, "role": Role.CLINICIAN, "first_name": "Bench", "last_name": f"Doctor {n:02d}"})
            providers.append(user)
            template, made = AvailabilityTemplate.objects.get_or_create(
                organization=org, provider=user, location=locations[n % 2], defaults={"effective_from": (NOW - timedelta(days=400)).date()})
            if made:
                AvailabilityBlock.objects.bulk_create(
                    AvailabilityBlock(template=template, weekday=d, start_time=a, end_time=b)
                    for d in range(5) for a, b in ((datetime.min.time().replace(hour=8), datetime.min.time().replace(hour=12)),
                                                   (datetime.min.time().replace(hour=13), datetime.min.time().replace(hour=17)))
                )
    if Patient.objects.filter(organization=org).count() < PATIENTS:
        patient_demo.seed(SimpleNamespace(organization=org, users={}), patients=PATIENTS, seed=SEED)
    patient_ids = list(Patient.objects.filter(organization=org).order_by("pk").values_list("pk", flat=True))
    rows = list(appointment_rows(org, providers, locations, kinds, patient_ids))
    with transaction.atomic():
        Appointment.objects.bulk_create(rows, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE scheduling_appointment")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scheduling_appointment")
    print(f"built {len(rows):,} appointments in {time.perf_counter() - started:.0f} s", flush=True)
    return org, [p.pk for p in providers], kinds


def appointment_rows(org, providers, locations, kinds, patient_ids):
    """200,000 appointments ending WINDOW_DAYS after NOW: full near-term days, thinner later, history before."""
    import zoneinfo

    from clinicdesk.patients.models import PUBLIC_ID_ALPHABET
    from clinicdesk.scheduling.choices import AppointmentStatus
    from clinicdesk.scheduling.models import Appointment

    rng = random.Random(SEED)  # noqa: S311  (benchmark data)
    tz = zoneinfo.ZoneInfo("America/New_York")
    now_local = NOW.astimezone(tz).date()
    made = 0
    day = now_local + timedelta(days=WINDOW_DAYS)
    counter = 0
    while made < APPOINTMENTS:
        if day.weekday() < 5:
            ahead = (day - now_local).days
            # A busy practice: 90% booked this week, 80% next week, thinning to 45% by the end of the window;
            # history at 75%. (Each free quarter hour is a hole between visits, as in a real calendar.)
            fill = 0.75 if ahead < 0 else 0.9 if ahead < 7 else 0.8 if ahead < 14 else max(0.45, 0.8 - (ahead - 14) * 0.008)
            for n, provider in enumerate(providers):
                location = locations[n % 2]
                for a, b in ((8, 12), (13, 17)):
                    t = datetime(day.year, day.month, day.day, a, tzinfo=tz)
                    end = datetime(day.year, day.month, day.day, b, tzinfo=tz)
                    while t < end and made < APPOINTMENTS:
                        kind = kinds[rng.choice((0, 0, 0, 1, 2, 3))]
                        stop = t + timedelta(minutes=kind.duration_minutes)
                        if stop > end:
                            break
                        if rng.random() < fill:
                            counter += 1
                            yield Appointment(
                                organization=org, public_id="".join(rng.choices(PUBLIC_ID_ALPHABET, k=14)),
                                patient_id=patient_ids[counter % len(patient_ids)], provider=provider, location=location,
                                appointment_type=kind, starts_at=t, ends_at=stop, busy_from=t, busy_until=stop, exclusive=True,
                                status=AppointmentStatus.COMPLETED if ahead < 0 else AppointmentStatus.SCHEDULED,
                            )
                            made += 1
                            t = stop
                        else:
                            t += timedelta(minutes=15)
        day -= timedelta(days=1)


def plan_searches(kinds):
    rng = random.Random(SEED + 1)  # noqa: S311
    searches = []
    for _ in range(SEARCHES):
        searches.append({
            "kind": rng.choice(kinds),
            "start": NOW + timedelta(hours=rng.randint(0, 24 * 7)),
            "time_of_day": rng.choices(["any", "morning", "afternoon"], weights=[60, 20, 20])[0],
        })  # fmt: skip
    return searches


def measure(org, providers, searches):
    from django.db import connection

    from clinicdesk.scheduling.selectors.slots import find_slots

    def run(search):
        return find_slots(organization=org, appointment_type=search["kind"], start=search["start"],
                          end=search["start"] + timedelta(days=WINDOW_DAYS), provider_ids=providers,
                          time_of_day=search["time_of_day"], limit=LIMIT, now=NOW)

    for search in searches:
        run(search)
    selector_ms, cpu_ms, appt_ms, all_ms, queries, found = [], [], [], [], [], []
    for search in searches:
        statements: list[tuple[str, tuple]] = []

        def record(execute, sql, params, many, context, statements=statements):
            statements.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            started, cpu_started = time.perf_counter(), time.process_time()
            slots = run(search)
            selector_ms.append((time.perf_counter() - started) * 1000)
            cpu_ms.append((time.process_time() - cpu_started) * 1000)
        found.append(len(slots))
        queries.append(len(statements))
        appt_total = all_total = 0.0
        with connection.cursor() as cursor:
            for sql, params in statements:
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                elapsed = (time.perf_counter() - started) * 1000
                all_total += elapsed
                if APPOINTMENTS_FROM.search(sql):
                    appt_total += elapsed
        appt_ms.append(appt_total)
        all_ms.append(all_total)
    return selector_ms, cpu_ms, appt_ms, all_ms, queries, found


def window_query(providers) -> list[float]:
    """Fetch every live appointment of the 50 providers over the whole 60-day window (for scale)."""
    from django.db import connection

    from clinicdesk.scheduling.choices import LIVE_STATUSES
    from clinicdesk.scheduling.models import Appointment

    query = Appointment.objects.filter(
        provider_id__in=providers, status__in=LIVE_STATUSES, busy_from__gte=NOW - timedelta(days=1),
        busy_from__lt=NOW + timedelta(days=WINDOW_DAYS), busy_until__gt=NOW,
    ).values_list("provider_id", "room_id", "busy_from", "busy_until", "exclusive", "appointment_type_id", "starts_at", "location_id")
    sql, params = query.query.sql_with_params()
    times = []
    with connection.cursor() as cursor:
        for _ in range(20):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return times


if __name__ == "__main__":
    sys.exit(main())

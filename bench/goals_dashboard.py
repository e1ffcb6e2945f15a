#!/usr/bin/env python
"""The goals dashboard of an office manager on SQLite and PostgreSQL, with its figures cached (target <= 300 ms) and cold.

Builds (once, kept between runs) a practice with a year of work: 20,000 patients, 12 providers in 4 departments at
3 locations, 240 appointments a working day for the last 300 days (about 72,000: 85 % seen with check-in and
rooming times, 6 % no-shows, 9 % cancelled), a charge entry for every visit and a payment entry for four in five
(about 110,000 journal entries, 220,000 lines), 24,000 desk payments, 30,000 claims with their encounters (one in
ten denied), 60 staff with 180 credentials and 480 training assignments, a published roster of 30 nurses over the
last 180 days, and 4 objectives with 12 key results this quarter.

Times the dashboard page through the Django test client, signed in as the office manager (practice-wide: the key
results under way and every KPI over the last six months, each with its monthly chart values):

  cached   the figures are in the cache (the page renders, reads the cache version and the latest entry id)
  cold     the cache is cleared before each request: every figure is computed

  PostgreSQL  BENCH_GOALS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_goals
  SQLite      var/bench/goals-dashboard.sqlite3

    .venv/bin/python bench/goals_dashboard.py [--engine sqlite|postgresql] [--rebuild]

The cache is the configured one (the local-memory cache unless REDIS_URL is set). Never run as a test.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from _engines import fmt, open_engine, percentile, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_GOALS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_goals")
SQLITE_PATH = ROOT / "var" / "bench" / "goals-dashboard.sqlite3"
ENGINES = {"sqlite": {"env": {"SQLITE_PATH": str(SQLITE_PATH)}}, "postgresql": {"env": {"DATABASE_URL": PG_URL}}}
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
TARGET_MS = 300.0
ORG_SLUG = "bench-goals"
PATIENTS = 20_000
PER_DAY = 240
DAYS = 300
CLAIMS = 30_000
D = Decimal


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url=PG_URL, sqlite_path=SQLITE_PATH, rebuild=rebuild)
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from clinicdesk.ledger.models import JournalLine
    from clinicdesk.scheduling.models import Appointment

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # static files are not collected for the benchmark: plain static URLs (as with DEBUG) instead of the manifest
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
    org, manager = build()
    if connection.vendor == "postgresql":
        label = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        import sqlite3

        label = f"SQLite {sqlite3.sqlite_version}"
    print(f"\ngoals_dashboard · {label} · {Appointment.objects.filter(organization=org).count():,} appointments, "
          f"{JournalLine.objects.filter(organization=org).count():,} ledger lines · cache "
          f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    try:
        load = os.getloadavg()
        print(f"  machine load (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    except OSError:
        pass
    client = Client()
    client.force_login(manager)

    def one() -> int:
        response = client.get("/goals/")
        if response.status_code != 200:
            raise SystemExit(f"the dashboard answered {response.status_code}")
        return len(response.content)

    cold = []
    for _ in range(COLD_RUNS):
        cache.clear()
        client.force_login(manager)
        started = time.perf_counter()
        size = one()
        cold.append((time.perf_counter() - started) * 1000)
    one()  # warm
    warm = []
    for _ in range(RUNS):
        started = time.perf_counter()
        size = one()
        warm.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        one()
    print(f"  {'':<30}{'p50':>8}{'p95':>8}{'max':>8}   ms")
    print(f"  {'dashboard, figures cached':<30}{fmt(warm)}   ({size:,} bytes, {len(captured)} queries)")
    print(f"  {'dashboard, cold (no cache)':<30}{fmt(cold)}")
    p95 = percentile(warm, 95)
    print(f"  target <= {TARGET_MS:.0f} ms cached: {'met' if p95 <= TARGET_MS else 'MISSED'} (p95 {p95:.0f} ms)")
    return 0


# --- the fixture ---------------------------------------------------------------------------------------------


def build():
    """Migrate, then build the practice once; returns (organization, its office manager)."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Organization, User
    from clinicdesk.scheduling.models import Appointment

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Goals Bench Practice",
                                                                         "mrn_prefix": "GB"})
    manager, _ = User.objects.get_or_create(username="bench-goals-manager", defaults={
        "organization": org, "role": Role.OFFICE_MANAGER, "first_name": "Bench", "last_name": "Manager"})
    if Appointment.objects.filter(organization=org).count() >= PER_DAY * DAYS * 0.6:
        return org, manager
    started = time.perf_counter()
    print(f"building the goals benchmark on {connection.vendor} (once)…", flush=True)
    _build(org, manager, timezone.localdate())
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    return org, manager


def _build(org, manager, today: date) -> None:
    from django.db import connection
    from django.utils import timezone

    from clinicdesk.billing.models import Encounter, PatientAccount, Payment
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Department, Location, User
    from clinicdesk.goals.choices import Direction, PeriodKind
    from clinicdesk.goals.models import KeyResult, Objective
    from clinicdesk.goals.services import period_bounds
    from clinicdesk.insurance.models import Claim, Coverage, Payer
    from clinicdesk.ledger.choices import AccountRole, EntryKind
    from clinicdesk.ledger.services import EntrySpec, LineSpec, chart_install, entries_post
    from clinicdesk.patients.models import Patient
    from clinicdesk.rostering.models import RosterAssignment, RosterPeriod, ShiftType
    from clinicdesk.scheduling.models import Appointment, AppointmentType
    from clinicdesk.staff.models import Course, Credential, StaffMember, TrainingAssignment

    rng = random.Random(2026)
    chart_install(organization=org)
    departments = [Department.objects.get_or_create(organization=org, code=code, defaults={"name": code.title()})[0]
                   for code in ("family", "pediatrics", "nursing", "billing")]
    locations = [Location.objects.get_or_create(organization=org, code=f"site{i}", defaults={"name": f"Site {i}"})[0]
                 for i in range(3)]
    providers = [User.objects.get_or_create(username=f"bench-goals-dr{i}", defaults={
        "organization": org, "role": Role.CLINICIAN, "department": departments[i % 2], "first_name": "Dr",
        "last_name": f"Provider{i}"})[0] for i in range(12)]
    kind, _ = AppointmentType.objects.get_or_create(organization=org, code="visit", defaults={
        "name": "Office visit", "duration_minutes": 20})
    patients = Patient.objects.bulk_create([
        Patient(organization=org, mrn=f"GB{i:06d}", first_name=f"Pat{i}", last_name=f"Bench{i % 997}",
                date_of_birth=date(1950 + i % 60, 1 + i % 12, 1 + i % 28), sex="female" if i % 2 else "male")
        for i in range(PATIENTS)], batch_size=5000)
    print("  patients", flush=True)
    tz = timezone.get_current_timezone()
    appointments = []
    day = today - timedelta(days=DAYS)
    while day <= today:
        if day.weekday() < 5:
            for n in range(PER_DAY):
                # each provider sees one patient every 20 minutes from 08:00; no patient twice in a day
                minutes = (n // 12) * 20
                starts = datetime(day.year, day.month, day.day, 8 + minutes // 60, minutes % 60, tzinfo=tz)
                patient = patients[((day.toordinal() * PER_DAY + n) * 7919) % PATIENTS]
                roll = rng.random()
                status = "completed" if roll < 0.85 else "no_show" if roll < 0.91 else "cancelled"
                seen = status == "completed"
                arrived = starts - timedelta(minutes=rng.randint(0, 10)) if seen else None
                appointments.append(Appointment(
                    organization=org, patient=patient, provider=providers[n % 12],
                    location=locations[n % 3], appointment_type=kind, starts_at=starts,
                    ends_at=starts + timedelta(minutes=20), busy_from=starts, busy_until=starts + timedelta(minutes=20),
                    status=status, arrived_at=arrived,
                    roomed_at=arrived + timedelta(minutes=rng.randint(3, 30)) if seen else None))
        day += timedelta(days=1)
    Appointment.objects.bulk_create(appointments, batch_size=5000)
    print(f"  {len(appointments):,} appointments", flush=True)
    seen = [a for a in appointments if a.status == "completed"]
    specs = []
    for i, a in enumerate(seen):
        on = timezone.localtime(a.starts_at).date()
        amount = D(90 + i % 120)
        specs.append(EntrySpec(entry_date=on, kind=EntryKind.CHARGE, lines=[
            LineSpec(account=AccountRole.INSURANCE_RECEIVABLE, amount=amount),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-amount, department=departments[i % 2])]))
        if i % 5:
            paid = (amount * D("0.8")).quantize(D("0.01"))
            specs.append(EntrySpec(entry_date=min(on + timedelta(days=20 + i % 25), today), kind=EntryKind.PAYMENT,
                                   lines=[LineSpec(account=AccountRole.OPERATING_BANK, amount=paid),
                                          LineSpec(account=AccountRole.CONTRACTUAL_ADJUSTMENT, amount=amount - paid),
                                          LineSpec(account=AccountRole.INSURANCE_RECEIVABLE, amount=-amount)]))
    for start in range(0, len(specs), 5000):
        entries_post(organization=org, entries=specs[start:start + 5000])
    print(f"  {len(specs):,} journal entries", flush=True)
    accounts = PatientAccount.objects.bulk_create([
        PatientAccount(organization=org, number=f"A{i:06d}", guarantor_patient=p, guarantor_name=p.last_name)
        for i, p in enumerate(patients)], batch_size=5000)
    by_patient = {acc.guarantor_patient_id: acc for acc in accounts}
    Payment.objects.bulk_create([
        Payment(organization=org, account=by_patient[a.patient_id], patient_id=a.patient_id, method="card",
                amount=D(25 + i % 50), appointment=a, location=a.location, idempotency_key=f"gb{i}",
                request_fingerprint="bench",
                received_on=timezone.localtime(a.starts_at).date() + timedelta(days=0 if i % 3 else 9))
        for i, a in enumerate(seen[:24_000])], batch_size=5000)
    print("  desk payments", flush=True)
    payer, _ = Payer.objects.get_or_create(organization=org, payer_identifier="BENCH1", defaults={"name": "Bench Health"})
    coverages = {c.patient_id: c for c in Coverage.objects.bulk_create([
        Coverage(organization=org, patient=p, payer=payer, rank=1, subscriber_first_name=p.first_name,
                 subscriber_last_name=p.last_name, member_id=f"M{p.pk}", effective_from=date(2020, 1, 1))
        for p in patients], batch_size=5000)}
    encounters = Encounter.objects.bulk_create([
        Encounter(organization=org, patient_id=a.patient_id, provider=a.provider, location=a.location,
                  department=a.provider.department, service_date=timezone.localtime(a.starts_at).date(), status="posted")
        for a in seen[:CLAIMS]], batch_size=5000)
    Claim.objects.bulk_create([
        Claim(organization=org, claim_number=f"GB{i}", encounter=e, patient_id=e.patient_id,
              coverage=coverages[e.patient_id], payer=payer, status="denied" if i % 10 == 0 else "paid",
              place_of_service="11", service_from=e.service_date, service_to=e.service_date,
              rendering_provider=e.provider, total_charge=D(150),
              submitted_at=datetime.combine(e.service_date + timedelta(days=2), datetime.min.time(), tzinfo=tz),
              adjudicated_on=min(e.service_date + timedelta(days=20), today))
        for i, e in enumerate(encounters)], batch_size=5000)
    print("  claims", flush=True)
    staff = StaffMember.objects.bulk_create([
        StaffMember(organization=org, first_name=f"Staff{i}", last_name=f"Bench{i}",
                    department=departments[2] if i < 30 else departments[i % 4]) for i in range(60)])
    Credential.objects.bulk_create([
        Credential(organization=org, staff=s, kind="cpr_bls", name=f"BLS {k}", verified_at=timezone.now(),
                   expires_on=today + timedelta(days=rng.randint(-60, 700))) for s in staff for k in range(3)])
    course, _ = Course.objects.get_or_create(organization=org, code="hipaa", defaults={"name": "HIPAA"})
    TrainingAssignment.objects.bulk_create([
        TrainingAssignment(organization=org, staff=s, course=course, due_date=today - timedelta(days=20 * k),
                           status="completed" if k else "assigned",  # one open assignment per course at most
                           completed_on=(today - timedelta(days=20 * k + (1 if k % 4 else -3))) if k else None)
        for s in staff for k in range(8)])
    shift = ShiftType.objects.create(organization=org, department=departments[2], code="D", name="Day",
                                     start_time=datetime.min.time().replace(hour=7), length_minutes=600)
    period = RosterPeriod.objects.create(organization=org, department=departments[2], location=locations[0],
                                         name="Bench roster", start=today - timedelta(days=180), end=today,
                                         status="published")
    RosterAssignment.objects.bulk_create([
        RosterAssignment(period=period, staff=s, day=period.start + timedelta(days=d), shift_type=shift)
        for s in staff[:30] for d in range(181) if (d + s.pk) % 7 not in (0, 1) or (d + s.pk) % 13 == 0])
    print("  staff and roster", flush=True)
    start, end = period_bounds(kind=PeriodKind.QUARTER, start=today, end=None)
    plans = [(departments[0], "Fewer empty chairs", [("no_show_rate", "at_most", 8, 5), ("wait_time", "at_most", 18, 12),
                                                     ("new_patients", "at_least", 0, 900)]),
             (departments[3], "Paid the first time", [("clean_claim_rate", "at_least", 85, 95),
                                                      ("denial_rate", "at_most", 12, 6),
                                                      ("days_in_ar", "at_most", 45, 35),
                                                      ("net_collection_rate", "at_least", 90, 96)]),
             (departments[2], "A safe, rested team", [("credential_compliance", "at_least", 85, 100),
                                                      ("training_compliance", "at_least", 70, 95),
                                                      ("overtime", "at_most", 8, 3)]),
             (departments[1], "Within budget", [("budget_variance", "at_least", -1000, 0),
                                                ("time_of_service", "at_least", 50, 70)])]
    for department, title, key_results in plans:
        objective = Objective.objects.create(organization=org, department=department, owner=manager, title=title,
                                             period_kind=PeriodKind.QUARTER, start=start, end=end)
        for position, (code, direction, baseline, target) in enumerate(key_results):
            KeyResult.objects.create(organization=org, objective=objective, kpi_code=code,
                                     direction=Direction(direction), baseline=D(baseline), target=D(target),
                                     position=position)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


if __name__ == "__main__":
    sys.exit(main())

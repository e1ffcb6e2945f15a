#!/usr/bin/env python
"""The payer scorecard and the negotiation packet over 100,000 claims (150,000 claim lines), on PostgreSQL and SQLite.

Builds (once, kept between runs) a practice with eight payers, a reference schedule and a contract per payer, and
100,000 claims of one year (2,000 patients, one encounter and one to two service lines each; 85% adjudicated, of
those 8% denied), written with bulk_create. Then times `payer_scorecard` and `negotiation_packet` (top 10 codes)
for the whole year after one warm-up, and prints median, p95 and max in milliseconds, with the CPU time of the
process and the load average beside them (the machine is shared).

  PostgreSQL  BENCH_SCORECARD_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_scorecard
  SQLite      var/bench/scorecard.sqlite3

    .venv/bin/python bench/payer_scorecard.py [--engine postgresql|sqlite|all] [--rebuild]

Target: <= 1 s for the scorecard. Never run as a test.
"""

from __future__ import annotations

import os
import random
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from _engines import fmt, open_engine, percentile, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_SCORECARD_DATABASE_URL",
                        "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_scorecard")
SQLITE_PATH = ROOT / "var" / "bench" / "scorecard.sqlite3"
ENGINES = {"postgresql": {"env": {"DATABASE_URL": PG_URL}},
           "sqlite": {"env": {"SQLITE_PATH": str(SQLITE_PATH)}}}
CLAIMS = int(os.environ.get("BENCH_SCORECARD_CLAIMS", "100000"))
PATIENTS = 2_000
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
TARGET_MS = 1000.0
START, END = date(2026, 1, 1), date(2026, 12, 31)
ORG_SLUG = "bench-scorecard"
CODES = {"99213": "90.00", "99214": "128.00", "99203": "105.00", "36415": "8.00", "93000": "40.00", "97110": "30.00",
         "90686": "30.00", "99396": "150.00", "81002": "5.00", "87880": "16.00", "96372": "22.00", "99212": "55.00"}
PERCENTS = ["100", "72", "118", "105", "125", "110", "95", "130"]


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url=PG_URL, sqlite_path=SQLITE_PATH, rebuild=rebuild)
    from django.db import connection

    from clinicdesk.insurance.models import Claim
    from clinicdesk.insurance.selectors.scorecard import negotiation_packet, payer_scorecard

    user = build()
    claims = Claim.objects.filter(organization=user.organization).count()
    label = (f"PostgreSQL {connection.pg_version // 10000}" if connection.vendor == "postgresql"
             else f"SQLite {connection.Database.sqlite_version}")
    print(f"\npayer_scorecard · {label} · {claims:,} claims over {START} – {END}")
    load = os.getloadavg()
    print(f"  machine load (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    print(f"  {'':<26}{'p50':>8}{'p95':>8}{'max':>8}   ms wall   (CPU ms of this process, median)")
    results = {}
    for name, call in (("payer_scorecard", lambda: payer_scorecard(user=user, start=START, end=END)),
                       ("negotiation_packet", lambda: negotiation_packet(user=user, start=START, end=END, top=10))):
        call()  # warm-up
        wall, cpu = [], []
        for _ in range(RUNS):
            started, started_cpu = time.perf_counter(), time.process_time()
            call()
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        results[name] = wall
        print(f"  {name:<26}{fmt(wall)}   ({percentile(cpu, 50):.1f})")
    p95 = percentile(results["payer_scorecard"], 95)
    print(f"  target <= {TARGET_MS:.0f} ms for the scorecard: {'met' if p95 <= TARGET_MS else 'MISSED'} (p95 {p95:.0f} ms)")
    return 0


def build():
    """Migrate, then build the practice's claims once; returns a biller of the practice."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from clinicdesk.billing.models import Encounter, ServiceLine
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Location, Organization, User
    from clinicdesk.insurance.choices import ClaimStatus, ContractBasis
    from clinicdesk.insurance.models import (
        Claim,
        ClaimLine,
        Coverage,
        Payer,
        PayerContract,
        ReferenceRate,
        ReferenceSchedule,
    )
    from clinicdesk.patients.models import Patient

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Scorecard Bench Practice",
                                                                         "mrn_prefix": "SB"})
    user, _ = User.objects.get_or_create(username="bench-scorecard-biller",
                                         defaults={"organization": org, "role": Role.BILLER})
    if Claim.objects.filter(organization=org).count() >= CLAIMS:
        return user
    print(f"building {CLAIMS:,} claims (once)", flush=True)
    rng = random.Random(2026)
    with transaction.atomic():
        location = Location.objects.create(organization=org, name="Main", code="main")
        reference = ReferenceSchedule.objects.create(organization=org, name="Bench reference", effective_from=START)
        ReferenceRate.objects.bulk_create([ReferenceRate(schedule=reference, procedure_code=c, amount=Decimal(a))
                                           for c, a in CODES.items()])
        payers = []
        for i, percent in enumerate(PERCENTS):
            payer = Payer.objects.create(organization=org, name=f"Payer {i + 1}", payer_identifier=f"BENCH{i}")
            PayerContract.objects.create(organization=org, payer=payer, name="2026", effective_from=START,
                                         basis=ContractBasis.PERCENT_OF_REFERENCE, reference_schedule=reference,
                                         percent_of_reference=Decimal(percent))
            payers.append((payer, Decimal(percent)))
        patients = Patient.objects.bulk_create([
            Patient(organization=org, mrn=f"SB{i:06d}", first_name="Bench", last_name=f"Patient{i}",
                    date_of_birth=date(1970, 1, 1) + timedelta(days=i)) for i in range(PATIENTS)])
        coverages = {}
        for patient in patients:
            payer, _ = payers[patient.pk % len(payers)]
            coverages[patient.pk] = Coverage(organization=org, patient=patient, payer=payer, member_id=f"M{patient.pk}",
                                             subscriber_first_name="Bench", subscriber_last_name="Patient")
        Coverage.objects.bulk_create(coverages.values())
        codes = list(CODES)
        percents = {p.pk: pc for p, pc in payers}
        for chunk_start in range(0, CLAIMS, 10_000):
            n = min(10_000, CLAIMS - chunk_start)
            plan = []
            for i in range(chunk_start, chunk_start + n):
                patient = patients[rng.randrange(PATIENTS)]
                day = START + timedelta(days=rng.randrange(365))
                lines = [rng.choice(codes[:6]) for _ in range(1 if rng.random() < 0.5 else 2)]
                plan.append((i, patient, day, lines))
            encounters = Encounter.objects.bulk_create([
                Encounter(organization=org, patient=p, provider=user, location=location, service_date=day)
                for _, p, day, _ in plan])
            claims, services, claim_lines = [], [], []
            for (i, patient, day, lines), encounter in zip(plan, encounters, strict=True):
                coverage = coverages[patient.pk]
                percent = percents[coverage.payer_id]
                adjudicated = rng.random() < 0.85
                denied = adjudicated and rng.random() < 0.08
                status = ClaimStatus.DENIED if denied else ClaimStatus.PAID if adjudicated else ClaimStatus.SUBMITTED
                submitted = timezone.make_aware(datetime.combine(day + timedelta(days=rng.randrange(1, 5)), datetime.min.time()))
                details = []
                for code in lines:
                    expected = (Decimal(CODES[code]) * percent / 100).quantize(Decimal("0.01"))
                    allowed = Decimal(0) if denied or not adjudicated else expected - (
                        Decimal("5.00") if rng.random() < 0.05 else Decimal(0))
                    details.append((code, expected, allowed, (allowed * Decimal("0.8")).quantize(Decimal("0.01"))))
                claims.append(Claim(
                    organization=org, claim_number=f"B{i:08d}", encounter=encounter, patient=patient, coverage=coverage,
                    payer_id=coverage.payer_id, status=status, place_of_service="11", service_from=day, service_to=day,
                    rendering_provider=user, total_charge=sum(Decimal("150.00") for _ in lines),
                    allowed_amount=sum(d[2] for d in details), paid_amount=sum(d[3] for d in details),
                    submitted_at=submitted,
                    adjudicated_on=(day + timedelta(days=rng.randrange(7, 60))) if adjudicated else None))
                for seq, (code, expected, allowed, paid) in enumerate(details, start=1):
                    services.append(ServiceLine(encounter=encounter, sequence=seq, procedure_code=code,
                                                description=code, units=1, unit_price=Decimal("150.00"),
                                                amount=Decimal("150.00"), diagnosis_pointers="1"))
                    claim_lines.append((len(claims) - 1, seq, day, code, expected, allowed, paid))
            claims = Claim.objects.bulk_create(claims)
            services = ServiceLine.objects.bulk_create(services)
            ClaimLine.objects.bulk_create([
                ClaimLine(claim=claims[ci], sequence=seq, service_line=service, service_date=day, procedure_code=code,
                          units=1, charge=Decimal("150.00"), diagnosis_pointers="1", allowed_amount=allowed,
                          paid_amount=paid, expected_allowed=expected,
                          underpaid_amount=(expected - allowed) if allowed and expected > allowed else Decimal(0))
                for (ci, seq, day, code, expected, allowed, paid), service in zip(claim_lines, services, strict=True)])
            print(f"  {chunk_start + n:,} claims", flush=True)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return user


if __name__ == "__main__":
    raise SystemExit(main())

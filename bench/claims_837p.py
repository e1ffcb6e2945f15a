#!/usr/bin/env python
"""837P batch building: 10,000 claims (200 subscribers, a quarter of the claims for dependents, one in ten a
secondary claim with the primary's line adjudication, one to four lines each) written by `build_837p`, then read
back by `read_837p`: pure Python, no database. Then the whole path on PostgreSQL (database clinicdesk_bench_837p):
10,000 scrubbed claims in the database (two lines each; one in ten a secondary claim whose primary was paid on a
remittance) built by `claim_batch_build` (claims read, 837P written, batch stored, claims submitted with their
events and audit rows) and the file written to var/bench/. Prints wall and CPU time of each, the file size and the
load average.

    .venv/bin/python bench/claims_837p.py [--claims N] [--repeat R] [--no-db] [--rebuild]   (BENCH_837P_PROFILE=1)

Target: 10,000 claims built in well under 10 s. Never run as a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import subprocess  # noqa: S404  (runs the database part in its own process)
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clinicdesk.insurance.x12.records import Address, Adjustment  # noqa: E402
from clinicdesk.insurance.x12.segments import Envelope  # noqa: E402
from clinicdesk.insurance.x12.x837p import (  # noqa: E402
    BillingProvider,
    Claim,
    LineAdjudication,
    OtherPayer,
    Patient,
    Payer,
    Receiver,
    RenderingProvider,
    ServiceLine,
    Submitter,
    Subscriber,
    build_837p,
    read_837p,
)

SEED = 2026
PROCEDURES = [("99213", "125.00"), ("99214", "185.00"), ("87880", "30.00"), ("90471", "25.00"), ("99395", "210.00"),
              ("36415", "12.00"), ("81002", "9.50"), ("93000", "55.00")]
DIAGNOSES = ["J06.9", "R05", "E11.9", "I10", "Z00.00", "M54.5", "J02.9", "E78.5", "F41.1", "N39.0"]


def make_claims(count: int) -> list[Claim]:
    rng = random.Random(SEED)
    clinics = [
        BillingProvider("1234567893", "SUNRISE CLINIC", "741234567", Address("1 MAIN ST", "AUSTIN", "TX", "787011234"),
                        "207Q00000X"),
        BillingProvider("1245319599", "SUNRISE CLINIC NORTH", "741234568",
                        Address("9 OAK AVE", "AUSTIN", "TX", "787581234"), "207Q00000X"),
    ]
    doctor = RenderingProvider("1003000126", "SMITH", "ANN", "207Q00000X")
    payers = [Payer("12345", "ACME HEALTH"), Payer("99999", "FIRST HEALTH"), Payer("55555", "STATE MEDICAID")]
    subscribers = []
    for n in range(200):
        home = Address(f"{n + 1} ELM ST", "AUSTIN", "TX", "78701")
        subscribers.append((
            Subscriber(f"M{n:06d}", f"LAST{n}", f"FIRST{n}", date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
                       "FM"[n % 2], home, group_number=f"G{n % 9}"),
            Patient(f"LAST{n}", f"CHILD{n}", date(2010 + n % 12, 1 + n % 12, 1 + n % 28), "MF"[n % 2], home, "19"),
        ))
    start = date(2026, 11, 2)
    claims = []
    for index in range(count):
        subscriber, child = subscribers[rng.randrange(len(subscribers))]
        day = start + timedelta(days=rng.randrange(25))
        lines = []
        for _ in range(rng.randint(1, 4)):
            code, fee = PROCEDURES[rng.randrange(len(PROCEDURES))]
            lines.append(ServiceLine(code, Decimal(fee), day, diagnosis_pointers=(1,)))
        secondary = index % 10 == 0
        other_payers: tuple[OtherPayer, ...] = ()
        if secondary:
            subscriber = dataclasses.replace(subscriber, responsibility="S")
            lines = [
                ServiceLine(line.procedure_code, line.charge, line.service_date, adjudications=(LineAdjudication(
                    "99999", (line.charge * Decimal("0.6")).quantize(Decimal("0.01")), line.procedure_code,
                    Decimal("1"), day + timedelta(days=10),
                    adjustments=(Adjustment("CO", "45", (line.charge * Decimal("0.4")).quantize(Decimal("0.01"))),),
                ),))
                for line in lines
            ]
            paid = sum(line.adjudications[0].paid for line in lines)
            other_payers = (OtherPayer(payers[1], Subscriber(f"P{index}", subscriber.last_name,
                                                             subscriber.first_name, group_number="PG1"), paid),)
        claims.append(Claim(
            claim_id=f"CLM{index:08d}", billing_provider=clinics[index % 2], subscriber=subscriber,
            payer=payers[0] if secondary else payers[index % 3], diagnosis_codes=tuple(rng.sample(DIAGNOSES, 2)),
            lines=tuple(lines), patient=child if index % 4 == 1 else None, rendering_provider=doctor,
            other_payers=other_payers,
        ))
    return claims


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


PG_URL = os.environ.get("BENCH_837P_PG_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_837p")


def db_claims(count: int):
    """`count` scrubbed claims of a new practice, one in ten a secondary claim whose primary was paid (untimed)."""
    from decimal import Decimal as D

    from django.db import connection

    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Location, Organization
    from clinicdesk.core.tests.factories import UserFactory
    from clinicdesk.insurance.choices import ClaimStatus, ClearinghouseKind
    from clinicdesk.insurance.models import (
        Claim,
        Clearinghouse,
        Coverage,
        Remittance,
        RemittanceAdjustment,
        RemittanceClaim,
        RemittanceLine,
    )
    from clinicdesk.insurance.tests.remittances_world import claims_build, payer_for
    from clinicdesk.patients.tests.factories import PatientFactory

    stamp = time.strftime("%Y%m%d%H%M%S")
    org = Organization.objects.create(slug=f"x837-bench-{stamp}", name="Claims Bench Practice", mrn_prefix="CB",
                                      npi="1234567893", tax_id="741234567")
    biller = UserFactory(organization=org, role=Role.BILLER, username=f"x837-biller-{stamp}")
    doctor = UserFactory(organization=org, role=Role.CLINICIAN, username=f"x837-doctor-{stamp}", npi="1245319599")
    house = Clearinghouse.objects.create(organization=org, name="Bench house", kind=ClearinghouseKind.LOCAL,
                                         submitter_id="BENCH01", receiver_id="LOCALCH", usage="T")
    first, second = payer_for(org), payer_for(org, name="Second Mutual", identifier="SEC22")
    for payer in (first, second):
        payer.clearinghouse = house
        payer.save(update_fields=["clearinghouse"])
    patients = [PatientFactory(organization=org, mrn=f"CB{stamp[-6:]}{n:04d}", address_line1=f"{n} Elm St",
                               city="Austin", state="TX", postal_code="78701") for n in range(200)]
    Coverage.objects.bulk_create([Coverage(
        organization=org, patient=p, payer=second, relationship="18", rank=2, subscriber_first_name=p.first_name,
        subscriber_last_name=p.last_name, member_id=f"S{p.pk:08d}") for p in patients])
    secondaries = count // 10
    claims = claims_build(org, payer=first, provider=doctor, patients=patients, count=count - secondaries)
    primaries = claims_build(org, payer=first, provider=doctor, patients=patients, count=secondaries, prefix="PR")
    later = claims_build(org, payer=second, provider=doctor, patients=patients, count=secondaries, prefix="SE")
    Location.objects.filter(organization=org).update(address_line1="1 Main St", city="Austin", state="TX",
                                                     postal_code="78701-1234")
    Claim.objects.filter(pk__in=[c.pk for c in primaries]).update(status=ClaimStatus.PAID)
    for claim, primary in zip(later, primaries, strict=True):
        claim.primary_claim, claim.rank = primary, 2
    Claim.objects.bulk_update(later, ["primary_claim", "rank"], batch_size=1000)
    remittance = Remittance.objects.create(organization=org, payer=first, payer_name=first.name,
                                           check_number="BENCH1", total_paid=D("0"), sha256=stamp)
    rows = RemittanceClaim.objects.bulk_create([
        RemittanceClaim(remittance=remittance, claim=p, claim_number=p.claim_number, status_code="1",
                        charge=p.total_charge, paid=p.total_charge * D("0.6")) for p in primaries])
    lines = RemittanceLine.objects.bulk_create([
        RemittanceLine(remittance_claim=row, claim_line=cl, procedure_code=cl.procedure_code, charge=cl.charge,
                       paid=cl.charge * D("0.6"), service_date=cl.service_date)
        for row, p in zip(rows, primaries, strict=True) for cl in p.lines.all()])
    RemittanceAdjustment.objects.bulk_create([
        RemittanceAdjustment(remittance_claim_id=line.remittance_claim_id, line=line, group_code="CO",
                             reason_code="45", amount=line.charge * D("0.4")) for line in lines])
    scrubbed = [*claims, *later]
    Claim.objects.filter(pk__in=[c.pk for c in scrubbed]).update(status=ClaimStatus.SCRUBBED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org, biller, scrubbed


def db_child(count: int, rebuild: bool) -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from _engines import open_engine

    open_engine("postgresql", pg_url=PG_URL, sqlite_path=ROOT / "var" / "bench" / "unused.sqlite3", rebuild=rebuild)
    from django.core.management import call_command

    from clinicdesk.insurance.services.batches import claim_batch_build

    call_command("migrate", verbosity=0)
    (org, biller, claims), wall, _ = timed(db_claims, count)
    print(f"made {len(claims):,} scrubbed claims in PostgreSQL ({len(claims) // 10:,} of them secondary) in "
          f"{wall:.1f} s (untimed)", flush=True)
    out = ROOT / "var" / "bench" / "837p-bench.x12"

    def build_and_write():
        batches = claim_batch_build(organization=org, claims=claims, actor=biller)
        out.write_text(batches[0].content)
        return batches

    profile = None
    if os.environ.get("BENCH_837P_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    batches, wall, cpu = timed(build_and_write)
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    load = os.getloadavg()
    [batch] = batches
    print(f"claim_batch_build (postgresql): {batch.claim_count:,} claims, {len(batch.content) / 1e6:.1f} MB written "
          f"to {out.relative_to(ROOT)}, {wall:.2f} s wall, {cpu:.2f} s CPU (this process); "
          f"{batch.claim_count / wall:,.0f} claims/s")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0 if batch.claim_count == len(claims) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="837P batch building benchmark")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-db", action="store_true", help="only the pure build and read, no database")
    parser.add_argument("--rebuild", action="store_true", help="drop the benchmark database and build it again")
    parser.add_argument("--db-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.db_child:
        return db_child(args.claims, args.rebuild)
    claims, wall, cpu = timed(make_claims, args.claims)
    print(f"made {len(claims):,} claim dataclasses ({sum(len(c.lines) for c in claims):,} lines) "
          f"in {wall:.2f} s wall, {cpu:.2f} s CPU")
    envelope = Envelope("CLINIC1", "CLEARING", 1, 1, datetime(2026, 11, 27, 9, 30))
    submitter = Submitter("SUNRISE CLINIC", "SUB1", "BILLING OFFICE", "5125550100")
    receiver = Receiver("TEST CLEARINGHOUSE", "CH1")
    builds, reads = [], []
    text = ""
    for _ in range(args.repeat):
        text, wall, cpu = timed(build_837p, claims, submitter=submitter, receiver=receiver, envelope=envelope,
                                reference="BENCH1")
        builds.append((wall, cpu))
        batch, wall, cpu = timed(read_837p, text)
        reads.append((wall, cpu))
        if len(batch.claims) != len(claims):
            print(f"read {len(batch.claims)} claims of {len(claims)}", file=sys.stderr)
            return 1
    load = os.getloadavg()
    print(f"file: {len(text) / 1e6:.1f} MB, {text.count('~'):,} segments, {text.count('ST*837*'):,} transactions")
    for name, runs in (("build_837p", builds), ("read_837p", reads)):
        walls = [w for w, _ in runs]
        cpus = [c for _, c in runs]
        print(f"{name}: {len(claims):,} claims, median {statistics.median(walls):.2f} s wall "
              f"(min {min(walls):.2f}, max {max(walls):.2f}), median {statistics.median(cpus):.2f} s CPU; "
              f"{len(claims) / statistics.median(walls):,.0f} claims/s")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.no_db:
        return 0
    # Django reads its database settings once at start-up: the database part runs in its own process
    env = {**os.environ, "DATABASE_URL": PG_URL, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    command = [sys.executable, __file__, "--db-child", "--claims", str(args.claims)] + (
        ["--rebuild"] if args.rebuild else [])
    return subprocess.call(command, env=env, cwd=ROOT)  # noqa: S603  (our own script)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Billing posting: 100,000 charges and payments posted through the billing services on PostgreSQL.

50,000 charges (25,000 encounters of two service lines each, coded and waiting in the review queue) are posted with
`encounters_post` in review-queue batches of 500 encounters; then 50,000 payments (two per patient: cash 60.00 and a
check of 40.00 on charges of 115.00) with `payments_post`, the batch payment service, 500 per batch. Every charge
and payment is a balanced journal entry sealed by the ledger's triggers, with its open items, allocations and audit
rows, exactly as the pages post them. Then, for comparison, 1,000 payments one at a time with `payment_post`.

`--workers 2` (the default) posts from two processes at once, as two billers posting review queues and lockbox
files at the same time (or two task workers) do: the batches are dealt out in turn, each process posts its own,
and a phase ends when the last process finishes. `--workers 1` posts everything from this process.

  PostgreSQL  BENCH_BILLING_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_billing
              (each run makes its own practice "bench-billing-<time>", so runs do not see each other's rows)

    .venv/bin/python bench/billing_posting.py [--encounters 25000] [--batch 500] [--single 1000] [--profile]

Target: the 100,000 charges and payments in <= 60 s. Setting up patients, accounts and coded encounters, and the
ANALYZE after it (a working database has the statistics autovacuum keeps), is not timed. `--profile` prints where
the time of one charge batch and one payment batch goes (cProfile). Never run as a test.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_BILLING_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_billing")
TARGET_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=25_000, help="two charges and two payments each")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--single", type=int, default=1_000, help="payments posted one at a time afterwards")
    parser.add_argument("--workers", type=int, default=2, help="posting processes at once")
    parser.add_argument("--profile", action="store_true", help="with --workers 1: cProfile one batch of each kind")
    args = parser.parse_args()
    if args.workers < 1 or (args.profile and args.workers != 1):
        parser.error("--workers is at least 1, and --profile needs --workers 1")
    try:
        import psycopg

        psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    except Exception:
        print("billing_posting: PostgreSQL (BENCH_BILLING_DATABASE_URL) is not reachable; skipped")
        return 0
    os.environ.update({"DATABASE_URL": PG_URL, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "config.settings",
                       "LOG_LEVEL": "WARNING"})
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from _engines import ensure_pg_database

    ensure_pg_database(PG_URL, rebuild=False)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    world = prepare(args.encounters)
    print(f"set up {args.encounters:,} patients, accounts and coded encounters in {time.perf_counter() - started:.1f} s",
          flush=True)
    from clinicdesk.billing.icd10 import index

    index()  # the ICD-10-CM index is built once per process; not part of posting
    from django.db import connection

    with connection.cursor() as cursor:
        # The statistics autovacuum keeps on a working database; the set-up has just grown these tables.
        cursor.execute("ANALYZE")
    if args.workers == 1:
        cpu = time.process_time()
        charge_seconds = post_charges(world, args.batch, args.profile)
        payment_seconds = post_payments(world, args.batch, args.profile)
        world["cpu_seconds"] = time.process_time() - cpu
    else:
        charge_seconds, payment_seconds = post_in_processes(world, args.batch, args.workers)
    single_seconds = post_single(world, args.single)
    return report(world, args, charge_seconds, payment_seconds, single_seconds)


def prepare(count: int) -> dict:
    """A new practice with `count` patients, each on an account, with one coded encounter (99213 100.00 and
    36415 15.00, diagnosis I10) waiting in the review queue. Bulk inserts: this part is not measured."""
    from django.utils import timezone

    from clinicdesk.billing.choices import EncounterStatus
    from clinicdesk.billing.models import AccountMember, Encounter, EncounterDiagnosis, PatientAccount, ServiceLine
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Department, Location, Organization, User
    from clinicdesk.ledger.services import chart_install
    from clinicdesk.patients.models import Patient

    tag = time.strftime("%Y%m%d%H%M%S")
    org = Organization.objects.create(slug=f"bench-billing-{tag}", name=f"Bench Billing {tag}")
    chart_install(organization=org)
    location = Location.objects.create(organization=org, code="main", name="Main", time_zone="America/New_York")
    departments = [Department.objects.create(organization=org, code=f"d{n}", name=f"Department {n}") for n in range(2)]
    providers = [User.objects.create(organization=org, username=f"bb-{tag}-dr{n}", role=Role.CLINICIAN,
                                     department=departments[n % 2]) for n in range(6)]
    biller = User.objects.create(organization=org, username=f"bb-{tag}-biller", role=Role.BILLER)
    desk = User.objects.create(organization=org, username=f"bb-{tag}-desk", role=Role.FRONT_DESK)
    patients = Patient.objects.bulk_create([
        Patient(organization=org, mrn=f"BB{n:07d}", first_name="Pat", last_name=f"Bill{n}", sex="female",
                date_of_birth=date(1970 + n % 40, 1 + n % 12, 1 + n % 28))
        for n in range(count)], batch_size=2000)
    accounts = PatientAccount.objects.bulk_create([
        PatientAccount(organization=org, number=f"A{n:07d}", guarantor_patient=p, guarantor_name=f"Pat Bill{n}")
        for n, p in enumerate(patients)], batch_size=2000)
    AccountMember.objects.bulk_create([AccountMember(account=a, patient=p) for a, p in zip(accounts, patients, strict=True)],
                                      batch_size=2000)
    today = timezone.localdate()
    encounters = Encounter.objects.bulk_create([
        Encounter(organization=org, patient=p, provider=providers[n % 6], location=location,
                  department_id=providers[n % 6].department_id, service_date=today - timedelta(days=n % 60),
                  status=EncounterStatus.IN_REVIEW)
        for n, p in enumerate(patients)], batch_size=2000)
    EncounterDiagnosis.objects.bulk_create([EncounterDiagnosis(encounter=e, sequence=1, code="I10",
                                                               description="Essential (primary) hypertension")
                                            for e in encounters], batch_size=2000)
    ServiceLine.objects.bulk_create([
        ServiceLine(encounter=e, sequence=s, procedure_code=code, description=text, units=1, unit_price=Decimal(price),
                    amount=Decimal(price), diagnosis_pointers="1")
        for e in encounters
        for s, code, text, price in ((1, "99213", "Office visit, established, low", "100.00"),
                                     (2, "36415", "Venipuncture", "15.00"))], batch_size=4000)
    return {"org": org, "location": location, "biller": biller, "desk": desk, "encounters": encounters,
            "accounts": accounts, "patients": patients}


def _profiled(enabled: bool, label: str, fn):
    if not enabled:
        return fn()
    profile = cProfile.Profile()
    result = profile.runcall(fn)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(45)
    print(f"--- profile: {label}\n" + "\n".join(out.getvalue().splitlines()[:80]), flush=True)
    return result


def post_charges(world: dict, batch: int, profile: bool, share: tuple[int, int] = (0, 1)) -> float:
    """The review queue posted batch by batch, each in its own transaction (as the biller's page does). `share`
    (k, n): this process posts batches k, k + n, k + 2n ..."""
    from clinicdesk.billing.services.charges import encounters_post

    encounters, biller = world["encounters"], world["biller"]
    start = time.perf_counter()
    for n, offset in enumerate(range(0, len(encounters), batch)):
        if n % share[1] != share[0]:
            continue
        chunk = encounters[offset:offset + batch]
        _profiled(profile and n == 1, "one charge batch (encounters_post)",
                  lambda chunk=chunk: encounters_post(encounters=chunk, actor=biller))
        if share[1] == 1 and (n % 10 == 9 or n < 3):
            print(f"  charges: {min(offset + batch, len(encounters)) * 2:,} in {time.perf_counter() - start:.1f} s", flush=True)
    return time.perf_counter() - start


def post_payments(world: dict, batch: int, profile: bool, share: tuple[int, int] = (0, 1)) -> float:
    """Two payments per account (cash 60.00, then a check of 40.00), `batch` per call of the batch service;
    `share` as for the charges."""
    from clinicdesk.billing.choices import PaymentMethod
    from clinicdesk.billing.services.lockbox import PaymentInput, payments_post

    org, desk, location = world["org"], world["desk"], world["location"]
    inputs = [PaymentInput(account=a, amount="60.00", method=PaymentMethod.CASH, idempotency_key=f"bench-cash-{a.pk}",
                           location=location) for a in world["accounts"]]
    inputs += [PaymentInput(account=a, amount="40.00", method=PaymentMethod.CHECK, check_number=f"{a.pk % 100000}",
                            idempotency_key=f"bench-check-{a.pk}", location=location) for a in world["accounts"]]
    start = time.perf_counter()
    for n, offset in enumerate(range(0, len(inputs), batch)):
        if n % share[1] != share[0]:
            continue
        chunk = inputs[offset:offset + batch]
        _profiled(profile and n == 1, "one payment batch (payments_post)",
                  lambda chunk=chunk: payments_post(organization=org, payments=chunk, actor=desk))
        if share[1] == 1 and n % 20 == 19:
            print(f"  payments: {min(offset + batch, len(inputs)):,} in {time.perf_counter() - start:.1f} s", flush=True)
    return time.perf_counter() - start


def post_in_processes(world: dict, batch: int, workers: int) -> tuple[float, float]:
    """Charges, then payments, from `workers` processes at once (forked with the set-up in memory, each with its own
    database connection). Each phase is timed from its start until the last process has finished it."""
    import multiprocessing
    import resource

    from django.db import connections

    connections.close_all()  # each process opens its own
    context = multiprocessing.get_context("fork")
    gate = context.Barrier(workers + 1)
    failed = context.Event()

    def work(k: int) -> None:
        try:
            gate.wait()
            post_charges(world, batch, False, (k, workers))
            gate.wait()
            post_payments(world, batch, False, (k, workers))
            gate.wait()
        except BaseException:
            failed.set()
            gate.abort()
            raise
        finally:
            connections.close_all()

    processes = [context.Process(target=work, args=(k,)) for k in range(workers)]
    for process in processes:
        process.start()
    try:
        gate.wait()
        start = time.perf_counter()
        gate.wait()
        charged = time.perf_counter()
        print(f"  charges: {len(world['encounters']) * 2:,} in {charged - start:.1f} s ({workers} processes)", flush=True)
        gate.wait()
        paid = time.perf_counter()
    except multiprocessing.BrokenBarrierError:
        failed.set()
    for process in processes:
        process.join()
    if failed.is_set() or any(p.exitcode for p in processes):
        raise SystemExit("billing_posting: a posting process failed (its traceback is above)")
    world["cpu_seconds"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + resource.getrusage(
        resource.RUSAGE_CHILDREN).ru_stime
    return charged - start, paid - charged


def post_single(world: dict, count: int) -> float:
    """`payment_post` one payment at a time (the desk's path), 5.00 on each of `count` accounts."""
    from clinicdesk.billing.choices import PaymentMethod
    from clinicdesk.billing.services.payments import payment_post

    accounts = world["accounts"][:count]
    start = time.perf_counter()
    for account in accounts:
        payment_post(account=account, amount="5.00", method=PaymentMethod.CASH, idempotency_key=f"bench-one-{account.pk}",
                     actor=world["desk"], location=world["location"])
    return time.perf_counter() - start


def report(world: dict, args, charge_seconds: float, payment_seconds: float, single_seconds: float) -> int:
    from django.db.models import Count, Sum

    from clinicdesk.billing.choices import EncounterStatus
    from clinicdesk.billing.models import Encounter, Payment
    from clinicdesk.ledger.models import JournalEntry, JournalLine

    org = world["org"]
    charges = args.encounters * 2
    payments = args.encounters * 2
    total = charge_seconds + payment_seconds
    posted = Encounter.objects.filter(organization=org, status=EncounterStatus.POSTED).count()
    unsealed = JournalEntry.objects.filter(organization=org, posted_at__isnull=True).count()
    books = JournalLine.objects.filter(organization=org).aggregate(t=Sum("amount"), n=Count("id"))
    paid = Payment.objects.filter(organization=org).aggregate(t=Sum("amount"), n=Count("id"))
    load = os.getloadavg()
    print(f"charges   {charges:>8,} in {charge_seconds:6.1f} s  {charges / charge_seconds:8,.0f}/s  "
          f"(encounters_post, {args.batch} encounters per batch, {args.workers} posting process"
          f"{'es' if args.workers > 1 else ''})")
    print(f"payments  {payments:>8,} in {payment_seconds:6.1f} s  {payments / payment_seconds:8,.0f}/s  "
          f"(payments_post, {args.batch} per batch)")
    print(f"total     {charges + payments:>8,} in {total:6.1f} s  {(charges + payments) / total:8,.0f}/s  "
          f"target <= {TARGET_SECONDS:.0f} s: {'met' if total <= TARGET_SECONDS else 'NOT met'}")
    if args.single:
        print(f"one by one {args.single:>7,} in {single_seconds:6.1f} s  {args.single / single_seconds:8,.0f}/s  "
              f"(payment_post; 50,000 at this rate: {50_000 / (args.single / single_seconds):.0f} s)")
    print(f"check: {posted:,} encounters posted, {paid['n']:,} payments ({paid['t']}), {books['n']:,} journal lines, "
          f"sum of all lines {books['t']}, unsealed entries {unsealed}")
    print(f"the posting processes' own CPU time for the charges and payments: {world['cpu_seconds']:.1f} s (the rest is "
          "PostgreSQL, and waiting for a core)")
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    return 0 if posted == args.encounters and books["t"] == 0 and unsealed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

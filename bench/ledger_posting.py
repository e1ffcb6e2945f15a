#!/usr/bin/env python
"""Posting through the ledger's services: 100,000 charges and payments through `entries_post` in batches, and a
sample through `entry_post` one at a time, on PostgreSQL.

What billing will wrap: a charge run opens an item per charge (`open_items_create`) and posts the charges (receivable
with the item, revenue by department) in one `entries_post` call per batch; a payment run posts payments against
those items (cash or card clearing, receivable with the item). Every entry goes through the same checks and the
database triggers (balanced, sealed) as in production; nothing here bypasses the services. Half the entries are
charges, half payments, in batches of BATCH entries (a day's charges of a large practice, a remittance).

Prints entries per second for the batched run and for the one-by-one sample, and the time 100,000 would take.

  PostgreSQL  BENCH_LEDGER_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_ledger
              (the practice "bench-ledger-posting" in it is emptied and posted again on every run)

    .venv/bin/python bench/ledger_posting.py [--rebuild]

Target: 100,000 charges and payments posted through the services in <= 60 s on PostgreSQL. Never run as a test.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from _engines import open_engine, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_LEDGER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_ledger")
ENGINES = {"postgresql": {"env": {"DATABASE_URL": PG_URL}}}
ENTRIES = int(os.environ.get("BENCH_POSTING_ENTRIES", "100000"))
BATCH = int(os.environ.get("BENCH_POSTING_BATCH", "500"))
ONE_BY_ONE = int(os.environ.get("BENCH_POSTING_SINGLES", "2000"))
PATIENTS = 5_000
TARGET_S = 60.0
DAY = date(2027, 3, 1)
SEED = 2026
ORG_SLUG = "bench-ledger-posting"


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url=PG_URL, sqlite_path=ROOT / "var" / "bench" / "unused.sqlite3", rebuild=rebuild)
    from django.db import connection

    from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
    from clinicdesk.ledger.models import OpenItem
    from clinicdesk.ledger.services import EntrySpec, LineSpec, entries_post, entry_post, open_items_create

    org, patients, departments = build()
    rng = random.Random(SEED)  # noqa: S311  (benchmark data)
    label = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    print(f"\nledger_posting · {label} · {ENTRIES:,} entries in batches of {BATCH} · {ONE_BY_ONE:,} one by one")
    load = os.getloadavg()
    print(f"  machine load (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")

    def charge_batch(n: int, tag: str):
        items = [OpenItem(patient_id=rng.choice(patients), service_date=DAY - timedelta(days=rng.randrange(30)),
                          description="Office visit", party_kind=PartyKind.PATIENT) for _ in range(n)]
        items = open_items_create(organization=org, items=items)
        specs = []
        for k, item in enumerate(items):
            amount = Decimal(rng.randrange(2500, 45000)) / 100
            specs.append(EntrySpec(entry_date=item.service_date, kind=EntryKind.CHARGE, reference=f"{tag}:c{k}", lines=[
                LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=amount, item=item),
                LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-amount, department=rng.choice(departments)),
            ]))
        return items, specs

    def payment_specs(items, tag: str):
        return [EntrySpec(entry_date=DAY, kind=EntryKind.PAYMENT, reference=f"{tag}:p{k}", lines=[
            LineSpec(account=rng.choice((AccountRole.CASH, AccountRole.CARD_CLEARING)), amount=Decimal("20.00")),
            LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal("-20.00"), item=item),
        ]) for k, item in enumerate(items)]

    # Batched: charges for BATCH/2 items, then their payments, until ENTRIES entries are posted.
    posted = 0
    batch_no = 0
    started = time.perf_counter()
    item_time = 0.0
    while posted < ENTRIES:
        half = min(BATCH // 2, (ENTRIES - posted) // 2) or 1
        t = time.perf_counter()
        items, charges = charge_batch(half, f"b{batch_no}")
        item_time += time.perf_counter() - t
        entries_post(organization=org, entries=charges)
        entries_post(organization=org, entries=payment_specs(items, f"b{batch_no}"))
        posted += 2 * half
        batch_no += 1
    batched_s = time.perf_counter() - started
    print(f"  entries_post   {posted:>8,} entries  {batched_s:7.1f} s  {posted / batched_s:8,.0f} entries/s"
          f"   (of which opening the items: {item_time:.1f} s)")

    # One by one: a sample through entry_post, each its own transaction (as a payment at the desk).
    items, _ = charge_batch(ONE_BY_ONE // 2, "single-items")
    started = time.perf_counter()
    count = 0
    for k, item in enumerate(items):
        amount = Decimal(rng.randrange(2500, 45000)) / 100
        entry_post(organization=org, entry_date=item.service_date, kind=EntryKind.CHARGE, reference=f"s:c{k}", lines=[
            LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=amount, item=item),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-amount, department=rng.choice(departments)),
        ])
        entry_post(organization=org, entry_date=DAY, kind=EntryKind.PAYMENT, reference=f"s:p{k}", lines=[
            LineSpec(account=AccountRole.CASH, amount=Decimal("20.00")),
            LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal("-20.00"), item=item),
        ])
        count += 2
    single_s = time.perf_counter() - started
    print(f"  entry_post     {count:>8,} entries  {single_s:7.1f} s  {count / single_s:8,.0f} entries/s"
          f"   (100,000 would take {100_000 * single_s / count:.0f} s)")
    met = "met" if batched_s * 100_000 / posted <= TARGET_S else "MISSED"
    print(f"  target 100,000 in <= {TARGET_S:.0f} s through entries_post: {met} "
          f"({batched_s * 100_000 / posted:.1f} s for 100,000)")
    return 0


def build():
    """The posting practice: emptied on every run (the bulk delete switches the triggers off for that alone)."""
    from types import SimpleNamespace

    from django.core.management import call_command
    from django.db import connection, transaction

    from clinicdesk.core.models import Department, Organization
    from clinicdesk.ledger.services import chart_install
    from clinicdesk.patients import demo as patient_demo
    from clinicdesk.patients.models import Patient

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Posting Bench Practice", "mrn_prefix": "PB"})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # posted entries cannot be deleted otherwise
        cursor.execute("DELETE FROM ledger_journalline WHERE organization_id = %s", [org.pk])
        cursor.execute("DELETE FROM ledger_journalentry WHERE organization_id = %s", [org.pk])
        cursor.execute("DELETE FROM ledger_openitem WHERE organization_id = %s", [org.pk])
    chart_install(organization=org)
    departments = []
    for code in ("clinical", "lab", "nursing", "imaging"):
        dept, _ = Department.objects.get_or_create(organization=org, code=code, defaults={"name": code.title()})
        departments.append(dept.pk)
    if Patient.objects.filter(organization=org).count() < PATIENTS:
        # Its own seed: the demo generator draws public ids from the seed, and the aging practice shares this database.
        patient_demo.seed(SimpleNamespace(organization=org, users={}), patients=PATIENTS, seed=SEED + 1)
    patients = list(Patient.objects.filter(organization=org).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_journalline")
    return org, patients, departments


if __name__ == "__main__":
    sys.exit(main())

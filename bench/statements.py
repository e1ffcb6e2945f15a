#!/usr/bin/env python
"""Statements: 1,000 month-end statements rendered to PDF, and a whole statement run of 1,000 guarantors.

Builds a fresh benchmark database per engine with one practice of 1,000 guarantor accounts (each with two or three
charges over the last four months and, for a third of them, a payment; 30 % with e-mail), then measures:

  1. PDFs alone: the figures of all 1,000 statements (`statements_figures`, the query path the run uses) and
     1,000 PDFs drawn by `statement_pdf_bytes` (ReportLab), in one process and in 2 processes;
  2. the run as the background task does it (`statement_run_execute`, one process): figures, pay links, PDFs
     written to storage, "statement ready" e-mails queued in the outbox, dunning, and the combined print batch.

  SQLite      var/bench/statements.sqlite3 (rebuilt on every run)
  PostgreSQL  BENCH_STATEMENTS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_statements

    .venv/bin/python bench/statements.py [--engine sqlite|postgresql|all]

Target: 1,000 statement PDFs in <= 60 s on 2 cores. Never run as a test.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path

from _engines import open_engine, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_STATEMENTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_statements")
SQLITE_PATH = ROOT / "var" / "bench" / "statements.sqlite3"
ENGINES = {
    "sqlite": {"env": {"SQLITE_PATH": str(SQLITE_PATH)}},
    "postgresql": {"env": {"DATABASE_URL": PG_URL}},
}
GUARANTORS = 1_000
TARGET_SECONDS = 60.0
SEED = 2026


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


def run_engine(engine: str, *, rebuild: bool) -> int:
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-statements-"))
    open_engine(engine, pg_url=PG_URL, sqlite_path=SQLITE_PATH, rebuild=True)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    org, biller, statement_date = build(GUARANTORS)
    print(f"{engine}: built {GUARANTORS:,} guarantor accounts in {time.perf_counter() - started:.1f} s "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)

    figures, figure_seconds = all_figures(org, statement_date)
    one = render(figures, processes=1)
    two = render(figures, processes=2)
    print(f"  figures of {len(figures):,} statements: {figure_seconds:.2f} s")
    for label, seconds in (("1 process", one), ("2 processes", two)):
        total = figure_seconds + seconds
        print(f"  {len(figures):,} PDFs, {label}: {seconds:.2f} s render, {total:.2f} s with figures, "
              f"{total * 1000 / len(figures):.1f} ms a statement, {len(figures) / total:.0f} a second"
              f"  [{'OK' if total <= TARGET_SECONDS else 'SLOW'} vs {TARGET_SECONDS:.0f} s]")

    from clinicdesk.billing.services.statements import statement_run_create, statement_run_execute, statement_run_start

    run = statement_run_create(actor=biller, organization=org, statement_date=statement_date, days_since_last=0)
    statement_run_start(actor=biller, run=run)
    started = time.perf_counter()
    run = statement_run_execute(run_id=run.pk)
    seconds = time.perf_counter() - started
    print(f"  whole run (1 process): {run.emailed_count} e-mailed + {run.printed_count} printed + "
          f"{run.written_off_count} written off in {seconds:.2f} s, "
          f"{seconds * 1000 / max(1, run.emailed_count + run.printed_count):.1f} ms a statement "
          f"[{'OK' if seconds <= TARGET_SECONDS else 'SLOW'} vs {TARGET_SECONDS:.0f} s]; "
          f"print batch {run.print_batch.size / 1e6:.1f} MB", flush=True)
    return 0


def build(count: int):
    """One practice, `count` patients each their own guarantor, charges and payments on the ledger."""
    from django.db import transaction

    from clinicdesk.billing.models import AccountMember, PatientAccount
    from clinicdesk.communications.defaults import defaults_install
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Location, Organization, User
    from clinicdesk.ledger.choices import AccountRole, EntryKind
    from clinicdesk.ledger.models import OpenItem
    from clinicdesk.ledger.services import EntrySpec, LineSpec, entries_post, open_items_create
    from clinicdesk.patients.models import Patient

    rng = random.Random(SEED)
    today = date.today()
    statement_date = today
    with transaction.atomic():
        org = Organization.objects.create(name="Bench Statements Practice", slug="bench-statements")
        Location.objects.create(organization=org, name="Main office", code="main", address_line1="100 Main Street",
                                city="Springfield", state="IL", postal_code="62701", phone="(217) 555-0100")
        biller = User.objects.create(username="bench-biller", organization=org, role=Role.BILLER, first_name="Bench",
                                     last_name="Biller")
        defaults_install(organization=org)
        first = ["Ana", "Ben", "Chloé", "Dev", "Eva", "Farid", "Grace", "Hugo", "Iris", "José", "Kim", "Liam"]
        last = ["Garcia", "Smith", "Nguyen", "Johnson", "Brown", "Lopez", "Miller", "Davis", "Wilson", "Moore"]
        patients = Patient.objects.bulk_create([Patient(
            organization=org, mrn=f"B{n:06d}", first_name=rng.choice(first), last_name=rng.choice(last),
            date_of_birth=date(1950 + n % 50, 1 + n % 12, 1 + n % 28), sex="female", address_line1=f"{n} Oak Street",
            city="Springfield", state="IL", postal_code=f"627{n % 100:02d}",
            email=f"guarantor{n}@example.com" if n % 10 < 3 else "", preferred_channel="email" if n % 10 < 3 else "sms",
        ) for n in range(count)], batch_size=1000)
        accounts = PatientAccount.objects.bulk_create([PatientAccount(
            organization=org, number=p.mrn, guarantor_patient=p, guarantor_name=f"{p.first_name} {p.last_name}",
            address_line1=p.address_line1, city=p.city, state=p.state, postal_code=p.postal_code, email=p.email,
        ) for p in patients], batch_size=1000)
        AccountMember.objects.bulk_create([AccountMember(account=a, patient=p) for a, p in zip(accounts, patients, strict=True)],
                                          batch_size=1000)
        services = [("Office visit, established", "95.00"), ("Office visit, new", "160.00"), ("Lab panel", "48.50"),
                    ("Flu vaccine", "35.00"), ("ECG", "72.00")]
        wanted = []
        for p in patients:
            for _ in range(rng.choice((2, 2, 3))):
                description, amount = rng.choice(services)
                wanted.append((p, today - timedelta(days=rng.randint(3, 120)), description, Decimal(amount)))
        items = open_items_create(organization=org, items=[OpenItem(patient=p, service_date=d, description=t)
                                                           for p, d, t, _ in wanted])
        entries = [EntrySpec(entry_date=d, kind=EntryKind.CHARGE, lines=[
            LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=amount, item=item),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-amount, patient=p)])
            for item, (p, d, _, amount) in zip(items, wanted, strict=True)]
        for item, (p, d, _, amount) in zip(items, wanted, strict=True):
            if p.pk % 3 == 0 and amount > 40:
                entries.append(EntrySpec(entry_date=min(today, d + timedelta(days=2)), kind=EntryKind.PAYMENT, lines=[
                    LineSpec(account=AccountRole.CASH, amount=Decimal("20.00"), patient=p),
                    LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal("-20.00"), item=item)]))
        for start in range(0, len(entries), 2000):
            entries_post(organization=org, entries=entries[start:start + 2000])
    return org, biller, statement_date


def all_figures(org, statement_date):
    from clinicdesk.billing.models import PatientAccount, StatementRun
    from clinicdesk.billing.services.statements import statements_figures

    run = StatementRun(organization=org, statement_date=statement_date, cutoff=statement_date, minimum_balance=Decimal("0"),
                       days_since_last=0)
    accounts = list(PatientAccount.objects.filter(organization=org).select_related("guarantor_patient"))
    started = time.perf_counter()
    figures = {}
    for start in range(0, len(accounts), 100):
        figures.update(statements_figures(run=run, accounts=accounts[start:start + 100]))
    return [f for f in figures.values() if Decimal(f["amount_due"]) > 0], time.perf_counter() - started


def _render_many(figures: list[dict]) -> int:
    from clinicdesk.billing.statement_pdf import statement_pdf_bytes

    return sum(len(statement_pdf_bytes(f, pay_url="https://pay.example.org/m/0123456789abcdefghijklmnopqrstuv/"))
               for f in figures)


def render(figures: list[dict], *, processes: int) -> float:
    started = time.perf_counter()
    if processes == 1:
        _render_many(figures)
    else:
        halves = [figures[i::processes] for i in range(processes)]
        with get_context("fork").Pool(processes) as pool:
            pool.map(_render_many, halves)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())

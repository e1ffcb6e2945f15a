#!/usr/bin/env python
"""A/R aging over 1,000,000 ledger lines on PostgreSQL: `ar_aging` by patient and by payer.

Builds (once, kept between runs) a practice of 50,000 patients with 250,000 open items (60% owed by eight
insurers, 40% by patients) whose services are spread over the 400 days before the as-of date, and exactly
1,000,000 journal lines: a charge per item (receivable with the item, revenue by department), 150,000 payments
and 90,000 contractual adjustments against items, and 10,000 unapplied patient credits. The fixture is
written with COPY and the ledger's triggers switched off for the build (session_replication_role = replica),
then checked with one query that every entry balances; the postings themselves are measured by
bench/ledger_posting.py, through the services.

Then times the selector the page calls, after one warm-up, several runs each, and prints median, p95 and max
in milliseconds, beside the bare SQL and its plan:

  by patient   ar_aging(by="patient") (about 45,000 rows) plus the first page's 50 patients
  by payer     ar_aging(by="payer") (nine rows)

  PostgreSQL  BENCH_LEDGER_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_ledger

    .venv/bin/python bench/ledger_aging.py [--rebuild] [--runs 9]

Target: <= 1 s on PostgreSQL. Never run as a test.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from _engines import fmt, open_engine, percentile, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_LEDGER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_ledger")
ENGINES = {"postgresql": {"env": {"DATABASE_URL": PG_URL}}}
PATIENTS = 50_000
ITEMS = 250_000
PAYMENTS = 150_000
ADJUSTMENTS = 90_000
CREDITS = 10_000
LINES = 2 * (ITEMS + PAYMENTS + ADJUSTMENTS + CREDITS)  # 1,000,000
PAYERS = ["Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Humana", "Medicare", "Medicaid", "Oscar"]
AS_OF = date(2027, 3, 1)
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
TARGET_MS = 1000.0
SEED = 2026
ORG_SLUG = "bench-ledger"


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url=PG_URL, sqlite_path=ROOT / "var" / "bench" / "unused.sqlite3", rebuild=rebuild)
    from django.db import connection

    from clinicdesk.ledger import reports
    from clinicdesk.ledger.models import JournalLine

    org, user = build()
    label = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    lines = JournalLine.objects.filter(organization=org).count()
    print(f"\nledger_aging · {label} · {lines:,} lines · {ITEMS:,} items · {PATIENTS:,} patients · as of {AS_OF}")
    try:
        load = os.getloadavg()
        print(f"  machine load (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    except OSError:
        pass
    print(f"  {'':<24}{'p50':>8}{'p95':>8}{'max':>8}   ms")
    results = {}
    for by in ("patient", "payer"):
        def one(by=by):
            report = reports.ar_aging(user=user, as_of=AS_OF, by=by)
            report.attach_patients(report.rows[:50])
            return report

        report = one()  # warm-up
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            report = one()
            times.append((time.perf_counter() - started) * 1000)
        results[by] = times
        print(f"  {'ar_aging by ' + by:<24}{fmt(times)}   ({len(report.rows):,} rows, total {report.totals.total:,})")
        statements = _aging_sql(reports, user, by)
        bare = []
        with connection.cursor() as cursor:
            for _ in range(RUNS):
                started = time.perf_counter()
                for sql in statements:
                    cursor.execute(sql)
                    cursor.fetchall()
                bare.append((time.perf_counter() - started) * 1000)
        print(f"  {'  its SQL alone':<24}{fmt(bare)}   ({len(statements)} statements, fetched)")
    with connection.cursor() as cursor:
        sql = next(q for q in _aging_sql(reports, user, "patient") if "JOIN" in q)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
        print("  plan (by patient):")
        for (row,) in cursor.fetchall():
            print(f"    {row}")
    for by, times in results.items():
        p95 = percentile(times, 95)
        print(f"  target <= {TARGET_MS:.0f} ms by {by}: {'met' if p95 <= TARGET_MS else 'MISSED'} (p95 {p95:.0f} ms)")
    return 0


def _aging_sql(reports, user, by) -> list[str]:
    """The statements `ar_aging` sends, captured from one call (with their values in them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        reports.ar_aging(user=user, as_of=AS_OF, by=by)
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]


# --- the fixture ---------------------------------------------------------------------------------------------


def build():
    """Migrate, then build the practice's books once; returns (organization, an office manager)."""
    from types import SimpleNamespace

    from django.core.management import call_command
    from django.db import connection, transaction

    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Department, Organization, User
    from clinicdesk.ledger.models import Account, JournalLine
    from clinicdesk.ledger.services import chart_install
    from clinicdesk.patients import demo as patient_demo
    from clinicdesk.patients.models import Patient

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Ledger Bench Practice", "mrn_prefix": "LB"})
    user, _ = User.objects.get_or_create(username="bench-ledger-manager", defaults={
        "organization": org, "role": Role.OFFICE_MANAGER, "first_name": "Bench", "last_name": "Manager"})
    if JournalLine.objects.filter(organization=org).count() >= LINES:
        return org, user
    started = time.perf_counter()
    print("building the ledger benchmark on postgresql (once)…", flush=True)
    chart_install(organization=org)
    departments = []
    for code in ("clinical", "lab", "nursing", "imaging"):
        dept, _ = Department.objects.get_or_create(organization=org, code=code, defaults={"name": code.title()})
        departments.append(dept.pk)
    if Patient.objects.filter(organization=org).count() < PATIENTS:
        patient_demo.seed(SimpleNamespace(organization=org, users={}), patients=PATIENTS, seed=SEED)
    patients = list(Patient.objects.filter(organization=org).order_by("pk").values_list("pk", flat=True))[:PATIENTS]
    role = dict(Account.objects.filter(organization=org).exclude(role="").values_list("role", "pk"))
    rng = random.Random(SEED)  # noqa: S311  (benchmark data)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the triggers are off for the bulk build only
        cursor.execute("DELETE FROM ledger_journalline WHERE organization_id = %s", [org.pk])
        cursor.execute("DELETE FROM ledger_journalentry WHERE organization_id = %s", [org.pk])
        cursor.execute("DELETE FROM ledger_openitem WHERE organization_id = %s", [org.pk])
        ids = {}
        for table in ("ledger_openitem", "ledger_journalentry", "ledger_journalline"):
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608  (fixed table names)
            ids[table] = cursor.fetchone()[0] + 1
        items, entries, lines = _rows(org.pk, patients, departments, role, rng, ids)
        raw = cursor.cursor
        for table, columns, rows in (
            ("ledger_openitem", "id, organization_id, patient_id, account_id, party_kind, party_label, service_date, "
                                "description, created_at", items),
            ("ledger_journalentry", "id, organization_id, entry_date, kind, memo, reference, total, line_count, "
                                    "posted_at, created_at", entries),
            ("ledger_journalline", "id, entry_id, organization_id, account_id, amount, entry_date, department_id, "
                                   "patient_id, item_id, memo", lines),
        ):
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")  # noqa: S608
        cursor.execute("""SELECT COUNT(*) FROM (SELECT entry_id FROM ledger_journalline WHERE organization_id = %s
                          GROUP BY entry_id HAVING SUM(amount) <> 0) unbalanced""", [org.pk])
        unbalanced = cursor.fetchone()[0]
        if unbalanced:
            raise SystemExit(f"the fixture has {unbalanced} unbalanced entries")
    with connection.cursor() as cursor:
        for table in ("ledger_openitem", "ledger_journalentry", "ledger_journalline"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"built {len(lines):,} lines in {time.perf_counter() - started:.0f} s", flush=True)
    return org, user


def _rows(org_id, patients, departments, role, rng, ids):
    from django.utils import timezone

    now = timezone.now()
    items, entries, lines = [], [], []
    item_id, entry_id, line_id = ids["ledger_openitem"], ids["ledger_journalentry"], ids["ledger_journalline"]
    charged = []  # (item id, patient id, receivable account, service date, amount)

    def post(day, kind, memo, pairs):
        nonlocal entry_id, line_id
        total = sum((amount for _, amount, *_ in pairs if amount > 0), Decimal(0))
        entries.append((entry_id, org_id, day, kind, memo, "", total, len(pairs), now, now))
        for account, amount, department, patient, item in pairs:
            lines.append((line_id, entry_id, org_id, account, amount, day, department, patient, item, ""))
            line_id += 1
        entry_id += 1

    for _ in range(ITEMS):
        patient = rng.choice(patients)
        service = AS_OF - timedelta(days=rng.randrange(400))
        insured = rng.random() < 0.6
        payer = rng.choice(PAYERS) if insured else ""
        account = role["insurance_receivable" if insured else "patient_receivable"]
        amount = Decimal(rng.randrange(2500, 45000)) / 100
        items.append((item_id, org_id, patient, account, "insurance" if insured else "patient", payer, service,
                      "Office visit", now))
        post(service, "charge", "Office visit", [(account, amount, None, patient, item_id),
                                                  (role["service_revenue"], -amount, rng.choice(departments), None, None)])
        charged.append((item_id, patient, account, service, amount))
        item_id += 1
    for n in range(PAYMENTS + ADJUSTMENTS):
        item, patient, account, service, amount = rng.choice(charged)
        day = min(AS_OF + timedelta(days=rng.randrange(-5, 5)), service + timedelta(days=rng.randrange(5, 90)))
        part = (amount * Decimal(rng.choice((20, 35, 50, 80, 100))) / 100).quantize(Decimal("0.01"))
        if n < PAYMENTS:
            post(day, "payment", "Payment", [(role["cash"], part, None, None, None), (account, -part, None, patient, item)])
        else:
            post(day, "adjustment", "Contractual adjustment",
                 [(role["contractual_adjustment"], part, None, None, None), (account, -part, None, patient, item)])
    for _ in range(CREDITS):
        patient = rng.choice(patients)
        amount = Decimal(rng.randrange(500, 10000)) / 100
        day = AS_OF - timedelta(days=rng.randrange(200))
        post(day, "payment", "Unapplied payment", [(role["cash"], amount, None, None, None),
                                                  (role["patient_credit"], -amount, None, patient, None)])
    return items, entries, lines


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""A year's profit and loss over 2,000,000 ledger lines on PostgreSQL: `profit_and_loss` by month and by department.

Builds (once, kept between runs) a practice whose year YEAR holds exactly 1,000,000 two-line entries (2,000,000
lines), written by one INSERT ... SELECT over generate_series each for entries and lines, with the ledger's triggers
switched off for the build (session_replication_role = replica), then checked with one query that every entry
balances, then VACUUM ANALYZE. Two entries in three are income (cash or a
receivable against service revenue, by one of six departments), one in three an expense (one of nine expense
accounts against the bank). The posting path itself is measured by bench/ledger_posting.py.

Times the selector the page calls, after one warm-up, several runs each, and prints median, p95 and max in
milliseconds, beside the plan of its one GROUP BY:

  by month       profit_and_loss(year=YEAR) (twelve columns and the total)
  by department  profit_and_loss(year=YEAR, by="department")

  PostgreSQL  BENCH_STATEMENTS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_statements

    .venv/bin/python bench/ledger_statements.py [--rebuild]

Target: <= 1 s on PostgreSQL. Never run as a test.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from _engines import fmt, open_engine, percentile, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_STATEMENTS_DATABASE_URL",
                        "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_statements")
ENGINES = {"postgresql": {"env": {"DATABASE_URL": PG_URL}}}
ENTRIES = 1_000_000
LINES = 2 * ENTRIES
YEAR = 2026
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
TARGET_MS = 1000.0
ORG_SLUG = "bench-statements"
DEPARTMENTS = ("family", "pediatrics", "lab", "imaging", "nursing", "physio")


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url=PG_URL, sqlite_path=ROOT / "var" / "bench" / "unused.sqlite3", rebuild=rebuild)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinicdesk.ledger import statements
    from clinicdesk.ledger.models import JournalLine

    org, user = build()
    label = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    lines = JournalLine.objects.filter(organization=org, entry_date__year=YEAR).count()
    print(f"\nledger_statements · {label} · {lines:,} lines in {YEAR}")
    try:
        load = os.getloadavg()
        print(f"  machine load (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")
    except OSError:
        pass
    print(f"  {'':<28}{'p50':>8}{'p95':>8}{'max':>8}   ms")
    results = {}
    for by in ("month", "department"):
        def one(by=by):
            return statements.profit_and_loss(user=user, year=YEAR, by=by)

        report = one()  # warm-up
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            report = one()
            times.append((time.perf_counter() - started) * 1000)
        results[by] = times
        net = report.rows[-1].values[-1]
        print(f"  {'profit_and_loss by ' + by:<28}{fmt(times)}   ({len(report.rows)} rows, net income {net:,})")
    with CaptureQueriesContext(connection) as captured:
        statements.profit_and_loss(user=user, year=YEAR)
    sql = next(q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
        print("  plan of the GROUP BY:")
        for (row,) in cursor.fetchall():
            print(f"    {row}")
    for by, times in results.items():
        p95 = percentile(times, 95)
        print(f"  target <= {TARGET_MS:.0f} ms by {by}: {'met' if p95 <= TARGET_MS else 'MISSED'} (p95 {p95:.0f} ms)")
    return 0


# --- the fixture ---------------------------------------------------------------------------------------------


def build():
    """Migrate, then build the practice's year of books once; returns (organization, an office manager)."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Department, Organization, User
    from clinicdesk.ledger.models import Account, JournalLine
    from clinicdesk.ledger.services import chart_install

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Statements Bench Practice",
                                                                         "mrn_prefix": "SB"})
    user, _ = User.objects.get_or_create(username="bench-statements-manager", defaults={
        "organization": org, "role": Role.OFFICE_MANAGER, "first_name": "Bench", "last_name": "Manager"})
    if JournalLine.objects.filter(organization=org).count() >= LINES:
        return org, user
    started = time.perf_counter()
    print("building the statements benchmark on postgresql (once)…", flush=True)
    chart_install(organization=org)
    departments = [Department.objects.get_or_create(organization=org, code=code, defaults={"name": code.title()})[0].pk
                   for code in DEPARTMENTS]
    role = dict(Account.objects.filter(organization=org).exclude(role="").values_list("role", "pk"))
    expenses = list(Account.objects.filter(organization=org, account_type="expense").order_by("code")
                    .values_list("pk", flat=True))
    debit_income = [role["cash"], role["patient_receivable"], role["insurance_receivable"]]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the triggers are off for the bulk build only
        cursor.execute("DELETE FROM ledger_journalline WHERE organization_id = %s", [org.pk])
        cursor.execute("DELETE FROM ledger_journalentry WHERE organization_id = %s", [org.pk])
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM ledger_journalentry")
        base = cursor.fetchone()[0]
        # entry g: dated g % 365 days into the year, amount 1.00 to 500.99, income unless g % 3 = 0
        amount = "((g::bigint * 7919) %% 50000 + 100) / 100.0"
        cursor.execute(
            "INSERT INTO ledger_journalentry (id, organization_id, entry_date, kind, memo, reference, total, "  # noqa: S608
            "line_count, posted_at, created_at) "
            f"SELECT %s + g, %s, make_date(%s, 1, 1) + (g %% 365), 'manual', '', '', {amount}, 2, now(), now() "
            "FROM generate_series(1, %s) g", [base, org.pk, YEAR, ENTRIES])
        cursor.execute(
            "INSERT INTO ledger_journalline (entry_id, organization_id, account_id, amount, entry_date, department_id, "  # noqa: S608
            "memo) "
            f"SELECT %s + g, %s, CASE WHEN side = 1 THEN CASE WHEN g %% 3 = 0 THEN (%s::bigint[])[1 + g %% %s] "
            "ELSE (%s::bigint[])[1 + g %% 3] END ELSE CASE WHEN g %% 3 = 0 THEN %s ELSE %s END END, "
            f"CASE WHEN side = 1 THEN {amount} ELSE -{amount} END, make_date(%s, 1, 1) + (g %% 365), "
            "CASE WHEN side = 1 AND g %% 3 <> 0 THEN NULL ELSE (%s::bigint[])[1 + g %% %s] END, '' "
            "FROM generate_series(1, %s) g CROSS JOIN (VALUES (1), (2)) AS s(side)",
            [base, org.pk, expenses, len(expenses), debit_income, role["operating_bank"], role["service_revenue"],
             YEAR, departments, len(departments), ENTRIES])
        cursor.execute("""SELECT COUNT(*) FROM (SELECT entry_id FROM ledger_journalline WHERE organization_id = %s
                          GROUP BY entry_id HAVING SUM(amount) <> 0) unbalanced""", [org.pk])
        unbalanced = cursor.fetchone()[0]
        if unbalanced:
            raise SystemExit(f"the fixture has {unbalanced} unbalanced entries")
        cursor.execute("SELECT setval(pg_get_serial_sequence('ledger_journalentry', 'id'), "
                       "(SELECT MAX(id) FROM ledger_journalentry))")
    with connection.cursor() as cursor:
        for table in ("ledger_journalentry", "ledger_journalline"):
            cursor.execute(f"VACUUM ANALYZE {table}")  # noqa: S608  (fixed table names)
    print(f"built {LINES:,} lines in {time.perf_counter() - started:.0f} s", flush=True)
    return org, user


if __name__ == "__main__":
    sys.exit(main())

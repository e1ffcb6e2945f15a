#!/usr/bin/env python
"""835 posting: an 835 with 10,000 claim payments (two service lines each, CO-45 and PR-2 adjustments, an interest
PLB) imported by `remittance_import` into a practice whose 10,000 submitted claims (with lines and insurance open
items, charges posted) are made untimed in the benchmark's own database, clinicdesk_bench_remit. Prints wall and CPU
time of the import, the load average, and checks the file balanced and the ledger's bank line equals BPR02.

    .venv/bin/python bench/remittance_835.py [--rebuild]      (BENCH_REMIT_CLAIMS=10000, BENCH_REMIT_PROFILE=1, BENCH_REMIT_SQL=1)

Target: 10,000 claim payments posted in <= 20 s on PostgreSQL. Never run as a test.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _engines import open_engine, run_per_engine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_REMIT_PG_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_remit")
ENGINES = {"postgresql": {"env": {"DATABASE_URL": PG_URL}}}
CLAIMS = int(os.environ.get("BENCH_REMIT_CLAIMS", "10000"))
PATIENTS = 200


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


def run_engine(engine: str, *, rebuild: bool) -> int:
    open_engine(engine, pg_url=PG_URL, sqlite_path=ROOT / "var" / "bench" / "unused.sqlite3", rebuild=rebuild)
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum

    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Organization
    from clinicdesk.core.tests.factories import UserFactory
    from clinicdesk.insurance.services.remittances import remittance_import
    from clinicdesk.insurance.tests.remittances_world import claims_build, envelope, payer_for, payment_for, remit_835
    from clinicdesk.insurance.x12.x835 import write_835
    from clinicdesk.ledger.choices import AccountRole
    from clinicdesk.ledger.models import JournalLine
    from clinicdesk.patients.tests.factories import PatientFactory

    call_command("migrate", verbosity=0)
    stamp = time.strftime("%Y%m%d%H%M%S")
    org = Organization.objects.create(slug=f"remit-bench-{stamp}", name="Remittance Bench Practice", mrn_prefix="RB")
    started = time.perf_counter()
    biller = UserFactory(organization=org, role=Role.BILLER, username=f"remit-biller-{stamp}")
    provider = UserFactory(organization=org, role=Role.CLINICIAN, username=f"remit-doctor-{stamp}")
    payer = payer_for(org)
    patients = [PatientFactory(organization=org, mrn=f"RB{stamp[-6:]}{n:04d}") for n in range(PATIENTS)]
    claims = claims_build(org, payer=payer, provider=provider, patients=patients, count=CLAIMS)
    remit = remit_835([payment_for(c) for c in claims], payer=payer, trace=f"EFT{stamp}", method="CHK",
                      plb=[("L6", "INTEREST", "-12.34")])
    text = write_835([remit], envelope=envelope())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"made {CLAIMS:,} claims ({2 * CLAIMS:,} lines, charges posted) and an 835 of {len(text) / 1e6:.1f} MB "
          f"in {time.perf_counter() - started:.1f} s (untimed)", flush=True)
    profile = None
    if os.environ.get("BENCH_REMIT_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    statements: dict[str, list[float]] = {}

    def timed_statement(execute, sql, params, many, context):
        # BENCH_REMIT_SQL=1: the database's share, by statement (its first 90 characters)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.setdefault(sql[:90], []).append(time.perf_counter() - started)

    wall, cpu = time.perf_counter(), time.process_time()
    if os.environ.get("BENCH_REMIT_SQL"):
        with connection.execute_wrapper(timed_statement):
            result = remittance_import(organization=org, content=text, file_name="bench.835", actor=biller)
    else:
        result = remittance_import(organization=org, content=text, file_name="bench.835", actor=biller)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for sql, times in sorted(statements.items(), key=lambda kv: -sum(kv[1]))[:12]:
        print(f"{sum(times):7.2f} s {len(times):6d}x  {sql}")
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ.get("BENCH_REMIT_PROFILE_SORT", "cumulative")).print_stats(25)
    load = os.getloadavg()
    [tr] = result.transactions
    bank = JournalLine.objects.filter(organization=org, account__role=AccountRole.UNDEPOSITED_FUNDS).aggregate(
        s=Sum("amount"))["s"]
    total = JournalLine.objects.filter(organization=org).aggregate(s=Sum("amount"))["s"]
    print(f"remittance_import ({engine}): {tr.claims_matched:,} claim payments matched and posted, "
          f"{tr.claims_exceptions} to exceptions, {wall:.2f} s wall, {cpu:.2f} s CPU (this process; the database "
          f"works beside it); {tr.claims_matched / wall:,.0f} claims/s")
    print(f"balanced: {tr.balanced}; BPR02 {tr.total_paid}; undeposited funds {bank}; all lines sum to {total}")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ok = tr.balanced and bank == tr.total_paid and total == 0 and tr.claims_matched == CLAIMS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

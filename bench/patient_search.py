#!/usr/bin/env python
"""Patient search at scale: 200 realistic type-ahead entries through the real `patient_search` selector.

Builds (or reuses) one benchmark database per engine, then prints p50/p95/max in milliseconds for the
selector and for its bare SQL (the same statements, re-executed through a cursor and fetched):

  PostgreSQL  1,000,000 patients in a dedicated database (BENCH_DATABASE_URL, default
              postgres://postgres@127.0.0.1:5432/clinicdesk_bench; created if missing)
  SQLite        200,000 patients in var/bench/patients-200k.sqlite3

    .venv/bin/python bench/patient_search.py                   # both engines
    .venv/bin/python bench/patient_search.py --engine sqlite   # one engine
    .venv/bin/python bench/patient_search.py --rebuild         # drop and rebuild the databases first

Targets: p95 <= 30 ms on PostgreSQL with 1M patients, <= 50 ms on SQLite with 200k. Never run as a test.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from _engines import fmt, open_engine, percentile, run_per_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench")
SQLITE_PATH = ROOT / "var" / "bench" / "patients-200k.sqlite3"
ENGINES = {
    "postgresql": {"patients": 1_000_000, "target_ms": 30.0, "env": {"DATABASE_URL": PG_URL}},
    "sqlite": {"patients": 200_000, "target_ms": 50.0, "env": {"SQLITE_PATH": str(SQLITE_PATH)}},
}
QUERIES = 200
LIMIT = 20
SEED = 2026


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


# --- inside the child process: one engine -----------------------------------------------------------


def run_engine(engine: str, *, rebuild: bool) -> int:
    settings = ENGINES[engine]
    open_engine(engine, pg_url=PG_URL, sqlite_path=SQLITE_PATH, rebuild=rebuild)
    from django.db import connection

    actor = build(settings["patients"])
    entries = realistic_queries(QUERIES)
    selector_ms, sql_ms, kinds = measure(actor, entries)
    slowest = sorted(zip(selector_ms, sql_ms, entries, strict=True), reverse=True)[:5]

    if engine == "postgresql":
        label = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        label = f"SQLite {sqlite_version()}"
    print(f"\npatient_search · {label} · {patient_count(actor):,} patients · {len(entries)} queries · limit {LIMIT}")
    print(f"  {'':<22}{'p50':>8}{'p95':>8}{'max':>8}   ms")
    print(f"  {'selector':<22}{fmt(selector_ms)}")
    print(f"  {'bare SQL':<22}{fmt(sql_ms)}")
    for kind, values in sorted(kinds.items()):
        print(f"  {'  ' + kind + f' ({len(values)})':<22}{fmt(values)}")
    print("  slowest: " + "; ".join(f"{text!r} {ms:.1f} ({bare:.1f} SQL)" for ms, bare, (_, text) in slowest))
    p95 = percentile(selector_ms, 95)
    met = "met" if p95 <= settings["target_ms"] else "MISSED"
    print(f"  target p95 <= {settings['target_ms']:.0f} ms: {met} ({p95:.1f} ms)")
    return 0


def build(patients: int):
    """Migrate and seed the demo practice up to `patients` (kept between runs); returns the front-desk user."""
    from django.core.management import call_command
    from django.db import connection

    from clinicdesk.core import demo as core_demo
    from clinicdesk.patients import demo as patient_demo
    from clinicdesk.patients.models import Patient

    call_command("migrate", verbosity=0)
    ctx = core_demo.seed()
    have = Patient.objects.filter(organization=ctx.organization).count()
    if have < patients:
        started = time.perf_counter()
        print(f"seeding {patients - have:,} patients on {connection.vendor}…", flush=True)
        patient_demo.seed(ctx, patients=patients, stdout=sys.stdout)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE patients_patient")
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return ctx.users["maria"]


def realistic_queries(count: int) -> list[tuple[str, str]]:
    """(kind, text) pairs typed the way a front desk types them, drawn from random real patients."""
    from clinicdesk.patients.models import Patient

    rng = random.Random(SEED)  # noqa: S311
    ids = Patient.objects.order_by().values_list("id", flat=True)
    low, high = min(ids), max(ids)
    sample = list(Patient.objects.filter(id__in=[rng.randint(low, high) for _ in range(count * 3)]))
    accented = list(Patient.objects.filter(last_name__regex=r"[áéíóúñÁÉÍÓÚÑ]", id__gte=rng.randint(low, high))[:200])
    rng.shuffle(sample)
    makers = [
        ("last-name prefix", 25, lambda p: p.last_name[: rng.randint(3, 6)].lower()),
        ("first name", 5, lambda p: p.first_name[: rng.randint(3, 6)]),
        ("last first", 15, lambda p: f"{p.last_name[: rng.randint(3, 5)]} {p.first_name[: rng.randint(2, 4)]}".lower()),
        ("first last", 10, lambda p: f"{p.first_name} {p.last_name}"),
        ("accented", 10, lambda p: rng.choice([p.last_name, f"{p.last_name}, {p.first_name}", p.last_name[:4]])),
        ("birth date", 15, lambda p: p.date_of_birth.strftime(rng.choice(["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"]))
         if rng.random() < 0.75 else f"{p.date_of_birth.month}/{p.date_of_birth.day}/{p.date_of_birth:%y}"),
        ("phone", 10, lambda p: phone_as_typed(p, rng)),
        ("MRN", 10, lambda p: rng.choice([p.mrn, p.mrn.lower(), p.mrn.removeprefix("RFM")])),
    ]
    entries: list[tuple[str, str]] = []
    pool = iter(sample)
    for kind, share, make in makers:
        for _ in range(count * share // 100):
            patient = accented.pop() if kind == "accented" and accented else next(pool)
            if kind == "phone" and not patient.phone_mobile:
                patient = next(p for p in pool if p.phone_mobile)
            entries.append((kind, make(patient)))
    rng.shuffle(entries)
    return entries


def phone_as_typed(patient, rng: random.Random) -> str:
    d = patient.phone_mobile[-10:]
    return rng.choice([f"({d[:3]}) {d[3:6]}-{d[6:]}", f"+1 {d[:3]} {d[3:6]} {d[6:]}", d, f"{d[3:6]}-{d[6:]}"])


def measure(actor, entries):
    """Time each entry through the selector (after one warm-up pass), then its statements bare."""
    from django.db import connection

    from clinicdesk.patients.selectors import patient_search

    for _, text in entries:
        patient_search(actor=actor, query=text, limit=LIMIT)
    selector_ms, sql_ms = [], []
    kinds: dict[str, list[float]] = {}
    for kind, text in entries:
        statements: list[tuple[str, tuple]] = []

        def record(execute, sql, params, many, context, statements=statements):
            statements.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            started = time.perf_counter()
            patient_search(actor=actor, query=text, limit=LIMIT)
            elapsed = (time.perf_counter() - started) * 1000
        selector_ms.append(elapsed)
        kinds.setdefault(kind, []).append(elapsed)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()
        sql_ms.append((time.perf_counter() - started) * 1000)
    return selector_ms, sql_ms, kinds


def patient_count(actor) -> int:
    from clinicdesk.patients.models import Patient

    return Patient.objects.filter(organization_id=actor.organization_id).count()


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    sys.exit(main())

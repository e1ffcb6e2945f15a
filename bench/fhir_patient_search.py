#!/usr/bin/env python
"""FHIR Patient search at scale: a realistic mix of GET /fhir/R4/Patient?... through the whole view stack.

Each request goes through the Django test client with a bearer token issued by the FHIR token service, so it
pays for what a client's request pays for: middleware, the token check, the search, the audit of every
patient returned, the R4B Bundle model and the JSON. The practice is the demo practice of
`bench/patient_search.py` (the same generator and the same keep-between-runs logic), in its own database:

  PostgreSQL  1,000,000 patients (BENCH_FHIR_DATABASE_URL, default
              postgres://postgres@127.0.0.1:5432/bench_fhir_1m; created if missing, kept)
  SQLite        200,000 patients in var/bench/fhir-200k.sqlite3

    .venv/bin/python bench/fhir_patient_search.py                       # both engines
    .venv/bin/python bench/fhir_patient_search.py --engine postgresql   # one engine
    .venv/bin/python bench/fhir_patient_search.py --rebuild             # drop and rebuild first

Prints p50/p95/max in milliseconds per kind of search and overall (after one warm-up pass of the same
requests), the median time spent in SQL and in this process's CPU (what load from other programs inflates
least), the queries per request, searches that found nothing, and Bundles that left their total out. Target: p95 <= 50 ms on PostgreSQL with 1M patients.
Never run as a test.
"""

from __future__ import annotations

import os
import random
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlencode

from _engines import fmt, open_engine, percentile, run_per_engine
from patient_search import build

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_FHIR_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_fhir_1m")
SQLITE_PATH = ROOT / "var" / "bench" / "fhir-200k.sqlite3"
ENGINES = {
    "postgresql": {"patients": 1_000_000, "target_ms": 50.0, "env": {"DATABASE_URL": PG_URL}},
    "sqlite": {"patients": 200_000, "target_ms": None, "env": {"SQLITE_PATH": str(SQLITE_PATH)}},
}
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
COUNT = 20
SEED = 2028


def main() -> int:
    return run_per_engine(__file__, ENGINES, run_engine, __doc__)


# --- inside the child process: one engine -----------------------------------------------------------


def run_engine(engine: str, *, rebuild: bool) -> int:
    settings_ = ENGINES[engine]
    open_engine(engine, pg_url=PG_URL, sqlite_path=SQLITE_PATH, rebuild=rebuild)
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from clinicdesk.fhir.services import fhir_token_create
    from clinicdesk.patients.models import Patient

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    warnings.filterwarnings("ignore", message="No directory at")  # static files are not collected for a benchmark
    actor = build(settings_["patients"])
    _, secret = fhir_token_create(actor=None, user=actor, name="benchmark", scopes=["user/Patient.read"], days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    requests = realistic_requests(REQUESTS, mrn_system=f"urn:clinicdesk:{actor.organization.slug}:mrn")

    if engine == "postgresql":
        label = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        import sqlite3

        label = f"SQLite {sqlite3.sqlite_version}"
    patients = Patient.objects.filter(organization_id=actor.organization_id).count()
    print(f"\nfhir_patient_search · {label} · {patients:,} patients · {len(requests)} requests · _count={COUNT}")
    load = os.getloadavg()
    print(f"  machine load (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")

    for _, query in requests:  # warm-up: the same requests once, untimed
        get(client, query)
    results = [(kind, query, *timed(client, query)) for kind, query in requests]

    kinds: dict[str, list] = {}
    for row in results:
        kinds.setdefault(row[0], []).append(row)
    print(f"  {'':<32}{'p50':>8}{'p95':>8}{'max':>8}  SQL p50  CPU p50  queries  no match  total omitted   (ms)")
    print(f"  {'all requests':<32}{summary(results)}")
    for kind, rows in sorted(kinds.items()):
        print(f"  {'  ' + kind + f' ({len(rows)})':<32}{summary(rows)}")
    slowest = sorted(results, key=lambda r: r[2], reverse=True)[:5]
    print("  slowest: " + "; ".join(f"{query} {ms:.1f} ({sql:.1f} SQL)" for _, query, ms, sql, *_ in slowest))
    p95 = percentile([r[2] for r in results], 95)
    target = settings_["target_ms"]
    if target is None:
        print(f"  p95 {p95:.1f} ms (no target on this engine)")
    else:
        print(f"  target p95 <= {target:.0f} ms: {'met' if p95 <= target else 'MISSED'} ({p95:.1f} ms)")
    return 0


def get(client, query: str) -> dict:
    response = client.get(f"/fhir/R4/Patient?{query}")
    if response.status_code != 200:
        raise SystemExit(f"Patient?{query} answered {response.status_code}: {response.content[:300]!r}")
    return response.json()


def timed(client, query: str) -> tuple[float, float, int, int, bool, float]:
    """(ms, ms spent in SQL, queries, entries, whether the Bundle left its total out, ms of this process's CPU)."""
    from django.db import connection

    sql = {"ms": 0.0, "queries": 0}

    def record(execute, *args):
        started = time.perf_counter()
        try:
            return execute(*args)
        finally:
            sql["ms"] += (time.perf_counter() - started) * 1000
            sql["queries"] += 1

    with connection.execute_wrapper(record):
        cpu = time.process_time()
        started = time.perf_counter()
        body = get(client, query)
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - cpu) * 1000
    return elapsed, sql["ms"], sql["queries"], len(body.get("entry", [])), "total" not in body, cpu


def summary(rows: list) -> str:
    ms = [r[2] for r in rows]
    queries = sorted({r[4] for r in rows})
    spread = f"{queries[0]}" if len(queries) == 1 else f"{queries[0]}-{queries[-1]}"
    empty = sum(1 for r in rows if r[5] == 0)
    omitted = sum(1 for r in rows if r[6])
    sql, cpu = percentile([r[3] for r in rows], 50), percentile([r[7] for r in rows], 50)
    return f"{fmt(ms)}{sql:>9.1f}{cpu:>9.1f}{spread:>9}{empty:>10}{omitted:>15}"


def realistic_requests(count: int, *, mrn_system: str) -> list[tuple[str, str]]:
    """(kind, query string) pairs as a client application sends them, drawn from random real patients."""
    from clinicdesk.patients.models import Patient

    rng = random.Random(SEED)  # noqa: S311
    ids = Patient.objects.order_by().values_list("id", flat=True)
    low, high = min(ids), max(ids)
    sample = list(Patient.objects.filter(id__in=[rng.randint(low, high) for _ in range(count * 2)]))
    rng.shuffle(sample)

    def prefix(text: str, low: int, high: int) -> str:
        return text[: rng.randint(low, high)]

    def born_around(p) -> list[tuple[str, str]]:
        years = rng.randint(1, 10)
        first = p.date_of_birth.replace(month=1, day=1, year=p.date_of_birth.year - rng.randint(0, years))
        return [("birthdate", f"ge{first:%Y-%m-%d}"), ("birthdate", f"le{first.year + years}-12-31")]

    makers = [
        ("family prefix", 20, lambda p: [("family", prefix(p.last_name, 2, 5))]),
        ("name", 10, lambda p: [("name", rng.choice([p.first_name, p.last_name, prefix(p.first_name, 3, 5)]))]),
        ("given + family", 15, lambda p: [("given", prefix(p.first_name, 2, 6)), ("family", prefix(p.last_name, 3, 8))]),
        ("birthdate", 10, lambda p: [("birthdate", f"{p.date_of_birth:%Y-%m-%d}")]),
        ("birthdate range + family", 10, lambda p: [*born_around(p), ("family", prefix(p.last_name, 2, 5))]),
        ("identifier (MRN)", 10, lambda p: [("identifier", rng.choice([p.mrn, f"{mrn_system}|{p.mrn}"]))]),
        ("_id", 10, lambda p: [("_id", p.public_id)]),
        ("family prefix, page 2", 10, lambda p: [("family", prefix(p.last_name, 2, 3)), ("_page", "2")]),
        ("name, page 2", 5, lambda p: [("name", p.first_name), ("_page", "2")]),
    ]
    requests = []
    pool = iter(sample)
    for kind, share, make in makers:
        for _ in range(count * share // 100):
            requests.append((kind, urlencode([*make(next(pool)), ("_count", str(COUNT))])))
    rng.shuffle(requests)
    return requests


if __name__ == "__main__":
    sys.exit(main())

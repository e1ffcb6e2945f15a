#!/usr/bin/env python
"""Booking over HTTP: the REST API under gunicorn with 2 web workers on PostgreSQL.

Starts `gunicorn -w 2` (sync workers) against a dedicated benchmark database, then 16 client threads with keep-alive connections POST /api/v1/schedule/appointments with a Bearer token: 3,000
bookings of distinct provider/time slots (40 providers, 15-minute visits) with 300 deliberate repeats
of slots already asked for mixed in (each must be refused with 409). Prints the distinct bookings per
second, the answers by status, latency percentiles, and then an overlap check in SQL over every live
appointment of the practice (provider, room and patient), which must find none.

  PostgreSQL  BENCH_SCHED_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_sched
              (the practice "bench-http"; its appointments are deleted at the start of each run)

    .venv/bin/python bench/booking_http.py [--bookings 3000] [--clients 16] [--threads 4]

`--threads N` runs the two workers as gthread workers with N threads each instead of sync workers.
Target: >= 100 distinct bookings per second, and no overlap. Never run as a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_SCHED_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_sched")
ORG_SLUG = "bench-http"
PROVIDERS = 40
PATIENTS = 5_000
TARGET_PER_SECOND = 100.0
SLOTS_PER_DAY = 64  # 06:00-22:00 in quarter hours
SEED = 2026


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--threads", type=int, default=0, help="gthread workers with this many threads each")
    args = parser.parse_args()
    if not pg_available():
        print("booking_http: PostgreSQL is not reachable at BENCH_SCHED_DATABASE_URL; skipped")
        return 0
    os.environ.update({"DATABASE_URL": PG_URL, "DEBUG": "0", "ICD10_WARM_AT_START": "0", "DJANGO_SETTINGS_MODULE": "config.settings"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    setup = prepare()
    port = free_port()
    server = start_gunicorn(port, threads=args.threads)
    try:
        wait_until_up(port)
        jobs = plan(setup, args.bookings)
        warm_up(port, setup["token"], setup)
        results, elapsed = fire(port, setup["token"], jobs, args.clients)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    report(results, elapsed, args, setup)
    return 0


def pg_available() -> bool:
    try:
        import psycopg
        from psycopg import sql

        name = PG_URL.rsplit("/", 1)[1].split("?")[0]
        with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True, connect_timeout=3) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True
    except Exception:  # noqa: BLE001  (any failure to connect means: skip)
        return False


def prepare() -> dict:
    """Migrate; create the practice once (40 providers open 06:00-22:00 every day, 5,000 patients); clear its appointments."""
    from types import SimpleNamespace

    from django.core.management import call_command

    from clinicdesk.core import services as core_services
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import ApiToken, Location, Organization, User
    from clinicdesk.core.permissions import Perm
    from clinicdesk.patients import demo as patient_demo
    from clinicdesk.patients.models import Patient
    from clinicdesk.scheduling.models import (
        Appointment,
        AppointmentType,
        AvailabilityBlock,
        AvailabilityTemplate,
        LocationSchedule,
    )

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "HTTP Bench Practice", "mrn_prefix": "HB"})
    location, _ = Location.objects.get_or_create(organization=org, code="main", defaults={"name": "HTTP bench", "time_zone": "America/New_York"})
    LocationSchedule.objects.get_or_create(location=location, defaults={"observe_holidays": False})
    kind, _ = AppointmentType.objects.get_or_create(organization=org, code="visit", defaults={"name": "Visit", "duration_minutes": 15})
    providers = []
    for n in range(PROVIDERS):
        user, _ = User.objects.get_or_create(username=f"http-dr-{n:02d}", defaults={
            "organization": org, "role": Role.CLINICIAN, "first_name": "Http", "last_name": f"Doctor {n:02d}"})
        template, made = AvailabilityTemplate.objects.get_or_create(
            organization=org, provider=user, location=location, defaults={"effective_from": datetime(2020, 1, 1).date()})
        if made:
            AvailabilityBlock.objects.bulk_create(
                AvailabilityBlock(template=template, weekday=d, start_time="06:00", end_time="22:00") for d in range(7))
        providers.append(user.pk)
    desk, _ = User.objects.get_or_create(username="http-desk", defaults={"organization": org, "role": Role.FRONT_DESK})
    if Patient.objects.filter(organization=org).count() < PATIENTS:
        patient_demo.seed(SimpleNamespace(organization=org, users={}), patients=PATIENTS, seed=SEED + 17)
    patients = list(Patient.objects.filter(organization=org, status="active").order_by("pk").values_list("public_id", flat=True))
    deleted, _ = Appointment.objects.filter(organization=org).delete()
    ApiToken.objects.filter(user=desk).delete()
    _, token = core_services.api_token_create(user=desk, name="bench", scopes=[Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK], days=1)
    return {"org": org, "location": location.pk, "kind": kind.pk, "providers": providers, "patients": patients, "token": token}


def plan(setup: dict, count: int) -> list[dict]:
    """Distinct (provider, quarter hour) bookings from tomorrow on, with one in ten repeating an earlier slot."""
    import zoneinfo

    tz = zoneinfo.ZoneInfo("America/New_York")
    first_day = (datetime.now(UTC).astimezone(tz) + timedelta(days=2)).date()
    rng = random.Random(SEED)  # noqa: S311
    jobs = []
    for i in range(count):
        provider = setup["providers"][i % PROVIDERS]
        slot = i // PROVIDERS
        day = first_day + timedelta(days=slot // SLOTS_PER_DAY)
        minutes = 6 * 60 + (slot % SLOTS_PER_DAY) * 15
        starts = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=tz)
        jobs.append({"patient": setup["patients"][i % len(setup["patients"])], "provider": str(provider),
                     "location": str(setup["location"]), "appointment_type": str(setup["kind"]), "starts_at": starts.isoformat()})
    repeats = []
    for n in rng.sample(range(count), count // 10):
        again = dict(jobs[n])
        again["patient"] = setup["patients"][(n + PATIENTS // 2) % len(setup["patients"])]
        repeats.append((n, again))
    # Each repeat goes a little after its original, so both are in flight around the same time.
    for n, again in sorted(repeats, key=lambda r: r[0], reverse=True):
        jobs.insert(min(len(jobs), n + 1 + rng.randint(0, 20)), again)
    return jobs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, *, threads: int) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    workers = ["--workers", "2"] + (["--worker-class", "gthread", "--threads", str(threads)] if threads else [])
    return subprocess.Popen(  # noqa: S603  (our own server, fixed arguments)
        [gunicorn, "config.wsgi:application", *workers, "--bind", f"127.0.0.1:{port}", "--backlog", "512",
         "--log-level", "warning", "--keep-alive", "30"],
        cwd=ROOT, env={**os.environ},
    )


def wait_until_up(port: int) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()  # noqa: S310
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _post(conn: http.client.HTTPConnection, token: str, body: dict) -> tuple[int, dict]:
    conn.request("POST", "/api/v1/schedule/appointments", body=json.dumps(body),
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    raw = response.read()
    try:
        return response.status, json.loads(raw or b"{}")
    except ValueError:
        return response.status, {"raw": raw[:200].decode("utf-8", "replace")}


def warm_up(port: int, token: str, setup: dict) -> None:
    """A few refused requests (a Sunday at 03:00) so both workers have loaded the code and opened connections."""
    body = {"patient": setup["patients"][0], "provider": str(setup["providers"][0]), "location": str(setup["location"]),
            "appointment_type": str(setup["kind"]), "starts_at": "2030-01-06T03:00:00-05:00"}
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(8)]
    threads = [threading.Thread(target=lambda c=c: [_post(c, token, body) for _ in range(5)]) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def fire(port: int, token: str, jobs: list[dict], clients: int):
    results: list[tuple[int, float, dict] | None] = [None] * len(jobs)
    cursor = iter(range(len(jobs)))
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                n = next(cursor, None)
            if n is None:
                break
            started = time.perf_counter()
            try:
                status, body = _post(conn, token, jobs[n])
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                status, body = 0, {"error": repr(exc)}
            results[n] = (status, (time.perf_counter() - started) * 1000, body)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - started


def overlaps(org) -> dict[str, int]:
    """Pairs of live appointments that overlap for one provider, one room or one patient (must all be 0)."""
    from django.db import connection

    live = "('scheduled','confirmed','arrived','roomed','with_provider','completed')"
    checks = {
        "provider": "a.provider_id = b.provider_id AND a.exclusive AND b.exclusive "
                    "AND tstzrange(a.busy_from, a.busy_until) && tstzrange(b.busy_from, b.busy_until)",
        "room": "a.room_id = b.room_id AND a.exclusive AND b.exclusive "
                "AND tstzrange(a.busy_from, a.busy_until) && tstzrange(b.busy_from, b.busy_until)",
        "patient": "a.patient_id = b.patient_id AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)",
    }
    found = {}
    with connection.cursor() as cursor:
        for name, condition in checks.items():
            cursor.execute(
                f"SELECT count(*) FROM scheduling_appointment a JOIN scheduling_appointment b ON a.id < b.id AND {condition} "  # noqa: S608
                f"WHERE a.organization_id = %s AND b.organization_id = %s AND a.status IN {live} AND b.status IN {live}",
                [org.pk, org.pk],
            )
            found[name] = cursor.fetchone()[0]
    return found


def report(results, elapsed: float, args, setup: dict) -> None:
    from django.db import connection

    from clinicdesk.scheduling.models import Appointment

    statuses: dict[int, int] = {}
    for status, _ms, _body in results:
        statuses[status] = statuses.get(status, 0) + 1
    booked = statuses.get(201, 0)
    latencies = sorted(ms for _s, ms, _b in results)
    live = Appointment.objects.filter(organization=setup["org"]).count()
    found = overlaps(setup["org"])
    errors = [body for status, _ms, body in results if status not in (201, 409)][:3]
    workers = f"2 workers x {args.threads} threads (gthread)" if args.threads else "2 sync workers"
    version = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    print(f"\nbooking_http · {version} · gunicorn {workers} · {args.clients} clients · {len(results):,} requests "
          f"({len(results) - len(results) // 11:,} distinct slots + {len(results) // 11:,} repeats)")
    print(f"  answers: {', '.join(f'{k}: {v:,}' for k, v in sorted(statuses.items()))}")
    print(f"  {booked:,} distinct bookings in {elapsed:.1f} s: {booked / elapsed:.0f} bookings/s "
          f"({len(results) / elapsed:.0f} requests/s)")
    p = lambda q: latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))]  # noqa: E731
    print(f"  latency ms: p50 {statistics.median(latencies):.1f}  p95 {p(95):.1f}  max {latencies[-1]:.1f}")
    print(f"  appointments in the database: {live:,}; overlapping pairs: provider {found['provider']}, "
          f"room {found['room']}, patient {found['patient']}")
    if errors:
        print(f"  unexpected answers: {errors}")
    met = booked / elapsed >= TARGET_PER_SECOND and not any(found.values()) and live == booked
    print(f"  target >= {TARGET_PER_SECOND:.0f} bookings/s with no overlap: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Message delivery: 10,000 reminders queued and delivered by 2 RQ workers through the local SMS gateway.

PostgreSQL and Redis; the local gateway (and the webhooks its delivery receipts post to) served by gunicorn.
The script books 10,000 appointments (once) whose reminder plan is one text 24 hours ahead, runs the product's
reminders sweep (`reminders_send_due`: the practice's wording, rendered per visit, confirm/cancel/reschedule
links, consent, quiet hours) over them, and has 2 RQ worker processes (`manage.py rqworker`, our django.tasks
backend) send them. It waits until every message is delivered (its delivery receipt received), not merely
handed to the gateway. Prints the sweep time, the time until the last message was handed over and until the
last was delivered, and an exactly-once check: the gateway holds one text per message, under the message's
own key, and each message's provider id is that text's sid.

Cold (the default): the sweep runs first, then the workers are started (--burst); the delivery clock starts
when they are launched, so it includes their start-up (Django: about 12 s for two, more on a busy machine).
--warm: the workers are started first and the sweep runs once both are listening, as in production, where
workers are long-lived; the total is counted from the start of the sweep, and also printed from the workers'
launch. The sweep's clock is fixed (`now` = a weekday 10:00 in New York, the day before the visits) so quiet
hours never hold the texts back, whatever time the benchmark runs.

  PostgreSQL  BENCH_MESSAGES_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_messages
              (the practice "bench-messages"; the outbox and the gateway are emptied at the start of each run)
  Redis       BENCH_REDIS_URL, default redis://127.0.0.1:6379/14 (flushed at the start and the end)

    .venv/bin/python bench/message_delivery.py [--messages 10000] [--workers 2] [--web-workers 2] [--warm]

Target: 10,000 messages queued and delivered in <= 60 s, each exactly once. Never run as a test.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess  # noqa: S404  (starts gunicorn and the workers of this benchmark)
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_MESSAGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_messages")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ORG_SLUG = "bench-messages"
TARGET_SECONDS = 60.0
# The sweep's clock: Tuesday 10:00 in New York; the visits are booked 2 to 22 hours later.
SWEEP_NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
SLOTS_PER_PROVIDER = 80  # 15-minute visits back to back, 20 hours
REMINDER_PLAN = [{"channel": "sms", "hours_before": 24}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--warm", action="store_true", help="start the workers before the sweep (long-lived workers)")
    args = parser.parse_args()
    missing = unavailable()
    if missing:
        print(f"message_delivery: {missing} is not reachable; skipped")
        return 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": PG_URL, "REDIS_URL": REDIS_URL, "DEBUG": "0", "ICD10_WARM_AT_START": "0",
           "DJANGO_SETTINGS_MODULE": "config.settings", "PUBLIC_BASE_URL": base, "SMS_API_BASE_URL": f"{base}/sms-gateway",
           "SMS_LOCAL_GATEWAY": "1", "SMS_GATEWAY_RECEIPTS": "1", "LOG_LEVEL": "WARNING"}
    env.pop("TASKS_BACKEND", None)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from _engines import ensure_pg_database

    ensure_pg_database(PG_URL, rebuild=False)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    flush_redis()
    org = prepare(args.messages)
    print(f"load average before the run: {load()}", flush=True)
    server = subprocess.Popen(  # noqa: S603  (our own server)
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "-w", str(args.web_workers), "-k", "gthread",
         "--threads", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env)
    workers: list[subprocess.Popen] = []
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    try:
        wait_until_up(port)
        command = [sys.executable, "manage.py", "rqworker", "default", "--worker-class", "rq.worker.SimpleWorker"]
        if not args.warm:
            command.append("--burst")

        def launch() -> None:
            times["launch"] = time.perf_counter()
            workers[:] = [subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)  # noqa: S603
                          for _ in range(args.workers)]

        if args.warm:
            launch()
            wait_for_workers(args.workers)
            times["listening"] = time.perf_counter()
        cpu["PostgreSQL before"] = sum(cpu_seconds(pid) for pid in database_backends())
        times["sweep"] = time.perf_counter()
        swept_cpu = time.process_time()
        queued = sweep()
        times["swept"] = time.perf_counter()
        cpu["sweep (its own process)"] = time.process_time() - swept_cpu
        if queued != args.messages:
            raise RuntimeError(f"the sweep queued {queued:,} reminders, not {args.messages:,}")
        if not args.warm:
            launch()
        gunicorn = [server.pid, *children_of(server.pid)]
        used: dict[int, float] = {}

        database: set[int] = set()

        def sample() -> None:  # CPU time of each process, kept from its last sample (burst workers exit)
            database.update(database_backends())
            for pid in [*gunicorn, *(worker.pid for worker in workers), *database]:
                used[pid] = max(used.get(pid, 0.0), cpu_seconds(pid))

        times.update(wait_until_delivered(org, args.messages, times["launch"], sample))
        sample()
        cpu["gateway (gunicorn)"] = sum(used.get(pid, 0.0) for pid in gunicorn)
        cpu["workers"] = sum(used.get(worker.pid, 0.0) for worker in workers)
        cpu["PostgreSQL backends"] = sum(used.get(pid, 0.0) for pid in database) - cpu.get("PostgreSQL before", 0.0)
        cpu["this script's polling"] = time.process_time() - swept_cpu - cpu["sweep (its own process)"]
        cpu.pop("PostgreSQL before", None)
        cpu["all"] = sum(cpu.values())
    finally:
        stop(workers, warm=args.warm)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        flush_redis()
    print(f"load average after the run: {load()}")
    print("CPU seconds: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
          + f" (on 2 idle cores, at least {cpu.get('all', 0) / 2:.0f} s)")
    return report(org, args, times, batch=settings.MESSAGE_SEND_BATCH, threads=settings.MESSAGE_SEND_CONCURRENCY)


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def unavailable() -> str:
    try:
        import psycopg

        admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
        psycopg.connect(admin, connect_timeout=3).close()
    except Exception:
        return "PostgreSQL (BENCH_MESSAGES_DATABASE_URL)"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception:
        return "Redis (BENCH_REDIS_URL)"
    return ""


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 180  # a busy shared machine can take a minute to start Django twice
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310  (our own server)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not come up")


def wait_for_workers(count: int) -> None:
    """Until `count` RQ workers have registered (Django started, listening on the queue)."""
    import redis
    from rq import Worker

    connection = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + 120
    while Worker.count(connection=connection) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start")
        time.sleep(0.1)


def stop(workers: list[subprocess.Popen], *, warm: bool) -> None:
    for worker in workers:
        if warm and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # warm shutdown: the queue is empty
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()


def prepare(count: int):
    """The practice with `count` patients with mobile numbers, each with one visit booked 2 to 22 hours after
    SWEEP_NOW with a type whose plan is a text 24 hours ahead (made once); its outbox, its links and the gateway
    emptied."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from clinicdesk.communications.defaults import defaults_install
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Location, Organization
    from clinicdesk.patients.models import Patient
    from clinicdesk.scheduling.models import Appointment, AppointmentType

    with connection.cursor() as cursor:
        # A benchmark database only: the outbox's events are append-only, so the tables are emptied wholesale
        # (with them the reminders' action links, which point at their messages or appointments).
        cursor.execute("TRUNCATE communications_message, communications_actionlink, communications_gatewaymessage "
                       "CASCADE")
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench Messages Practice"})
    location, _ = Location.objects.get_or_create(organization=org, code="main",
                                                 defaults={"name": "Main", "time_zone": "America/New_York"})
    defaults_install(organization=org)
    kind, _ = AppointmentType.objects.get_or_create(organization=org, code="bench-reminder", defaults={
        "name": "Follow-up", "duration_minutes": 15, "reminder_plan": REMINDER_PLAN})
    have = Patient.objects.filter(organization=org).count()
    if have < count:
        Patient.objects.bulk_create([
            Patient(organization=org, mrn=f"BM{n:07d}", first_name="Pat", last_name=f"Bench{n}", sex="female",
                    date_of_birth=date(1980, 1, 1 + n % 28), phone_mobile=f"+1202{n:07d}", email=f"bench{n}@example.com")
            for n in range(have, count)
        ], batch_size=2000)
    User = get_user_model()
    providers = -(-count // SLOTS_PER_PROVIDER)
    have = User.objects.filter(organization=org, role=Role.CLINICIAN).count()
    User.objects.bulk_create([
        User(organization=org, role=Role.CLINICIAN, username=f"bench-provider-{n}", first_name="Doc",
             last_name=f"Bench{n}", title="MD") for n in range(have, providers)
    ])
    patients = list(Patient.objects.filter(organization=org).order_by("id").values_list("id", flat=True)[:count])
    if Appointment.objects.filter(organization=org, appointment_type=kind).count() != count:
        Appointment.objects.filter(organization=org).delete()
        doctors = list(User.objects.filter(organization=org, role=Role.CLINICIAN).order_by("id")
                       .values_list("id", flat=True)[:providers])
        first = SWEEP_NOW + timedelta(hours=2)
        booked = []
        for n, patient_id in enumerate(patients):
            starts = first + timedelta(minutes=15 * (n // providers))
            booked.append(Appointment(
                organization=org, patient_id=patient_id, provider_id=doctors[n % providers], location=location,
                appointment_type=kind, starts_at=starts, ends_at=starts + timedelta(minutes=15), busy_from=starts,
                busy_until=starts + timedelta(minutes=15), exclusive=True, status="scheduled"))
        Appointment.objects.bulk_create(booked, batch_size=2000)
    return org


def sweep() -> int:
    """The product's reminders sweep, as the periodic task runs it, at the fixed clock."""
    from clinicdesk.communications.services.reminders import reminders_send_due

    return reminders_send_due(now=SWEEP_NOW)


def wait_until_delivered(org, count: int, start: float, sample) -> dict[str, float]:
    """The moments the last message was handed to the gateway (none queued or sending) and the last receipt
    came in (none left sent: delivered, or failed, or not sent at all; the report tells which)."""
    from django.db.models import Count, Q

    from clinicdesk.communications.choices import MessageState
    from clinicdesk.communications.models import Message

    waiting = [MessageState.QUEUED, MessageState.SENDING]
    seen: dict[str, float] = {}
    last_print = start
    while True:
        counts = Message.objects.filter(organization=org).aggregate(
            waiting=Count("id", filter=Q(state__in=waiting)), sent=Count("id", filter=Q(state=MessageState.SENT)),
            delivered=Count("id", filter=Q(state=MessageState.DELIVERED)), total=Count("id"))
        now = time.perf_counter()
        sample()
        if counts["total"] == count and counts["waiting"] == 0:
            seen.setdefault("sent", now)
            if counts["sent"] == 0:
                seen["delivered"] = now
                return seen
        if now - last_print > 10:
            print(f"  after {now - start:4.0f} s: {count - counts['waiting']:,} handed over, "
                  f"{counts['delivered']:,} delivered", flush=True)
            last_print = now
        if now - start > 600:
            raise RuntimeError(f"{counts['waiting']} messages still waiting after 10 minutes")
        time.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_backends() -> list[int]:
    """The PostgreSQL backends serving the benchmark database (their command line names it)."""
    name = PG_URL.rsplit("/", 1)[1].encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().startswith(b"postgres: ") and name in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except (OSError, ValueError):
            continue
    return found


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def report(org, args, times: dict[str, float], *, batch: int, threads: int) -> int:
    from django.db import connection
    from django.db.models import Count

    from clinicdesk.communications.gateway.models import GatewayDirection, GatewayMessage
    from clinicdesk.communications.models import Message

    states = dict(Message.objects.filter(organization=org).values_list("state").annotate(n=Count("id")))
    messages = dict(Message.objects.filter(organization=org).values_list("idempotency_key", "provider_message_id"))
    texts = GatewayMessage.objects.filter(direction=GatewayDirection.OUTBOUND)
    by_key = dict(texts.values_list("idempotency_key", "sid"))
    repeated = texts.count() - len(by_key)
    exactly_once = len(messages) == args.messages and by_key == messages and repeated == 0
    all_delivered = states.get("delivered", 0) == args.messages
    version = connection.cursor().connection.info.server_version
    n = args.messages
    print(f"message_delivery · PostgreSQL {version // 10000}.{version % 10000} · Redis · {n:,} text reminders "
          f"· {args.workers} RQ workers ({'warm' if args.warm else 'cold'}; batch {batch}, {threads} send threads) "
          f"· gateway on gunicorn ({args.web_workers} workers × 4 threads)")
    sweep = times["swept"] - times["sweep"]
    print(f"  {f'sweep (reminders_send_due, {n:,} visits)':<46}{sweep:8.1f} s   {n / sweep:8.0f} /s")
    if args.warm:
        print(f"  workers launched → listening                  {times['listening'] - times['launch']:8.1f} s")
        origin, label = times["sweep"], "sweep start"
    else:
        origin, label = times["launch"], "workers launched"
    sent, delivered = times["sent"] - origin, times["delivered"] - origin
    print(f"  {label + ' → last handed over':<46}{sent:8.1f} s   {n / sent:8.0f} /s")
    print(f"  {label + ' → last delivered':<46}{delivered:8.1f} s   {n / delivered:8.0f} /s")
    total_sent = sent if args.warm else sweep + sent
    total = delivered if args.warm else sweep + delivered
    print(f"  total, sweep start → all handed over          {total_sent:8.1f} s")
    print(f"  total, sweep start → all delivered            {total:8.1f} s")
    if args.warm:
        print(f"  total, workers launched → all delivered       {times['delivered'] - times['launch']:8.1f} s")
    print(f"  states: {', '.join(f'{k} {v:,}' for k, v in sorted(states.items()))}")
    print(f"  gateway texts {texts.count():,}; one per message, under its own key: {'yes' if exactly_once else 'NO'}")
    met = total <= TARGET_SECONDS and exactly_once and all_delivered
    print(f"  target queued and delivered in <= {TARGET_SECONDS:.0f} s, exactly once: {'met' if met else 'MISSED'}")
    return 0 if exactly_once and all_delivered else 1


if __name__ == "__main__":
    sys.exit(main())

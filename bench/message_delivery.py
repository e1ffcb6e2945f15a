#!/usr/bin/env python
"""Message delivery: 10,000 reminders queued and delivered by 2 RQ workers through the local SMS gateway.

PostgreSQL and Redis; the local gateway (and the webhooks its delivery receipts post to) served by gunicorn.
The script queues 10,000 text reminders with `message_queue_many` (the bulk service the reminders sweep uses), then starts
2 RQ worker processes (`manage.py rqworker`, our django.tasks backend) and waits until every message has
been handed to the gateway. Prints the queue time, the delivery time, messages per second, and an
exactly-once check: the gateway holds one text per message, under the message's own key, and no message
is left queued or sending.

  PostgreSQL  BENCH_MESSAGES_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/clinicdesk_bench_messages
              (the practice "bench-messages"; the outbox and the gateway are emptied at the start of each run)
  Redis       BENCH_REDIS_URL, default redis://127.0.0.1:6379/14 (flushed at the start and the end)

    .venv/bin/python bench/message_delivery.py [--messages 10000] [--workers 2] [--web-workers 2]

Target: 10,000 messages queued and delivered in <= 60 s, each exactly once. Never run as a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess  # noqa: S404  (starts gunicorn and the workers of this benchmark)
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_MESSAGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinicdesk_bench_messages")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ORG_SLUG = "bench-messages"
TARGET_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    missing = unavailable()
    if missing:
        print(f"message_delivery: {missing} is not reachable; skipped")
        return 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": PG_URL, "REDIS_URL": REDIS_URL, "DEBUG": "0",
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
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    flush_redis()
    org, patients = prepare(args.messages)
    server = subprocess.Popen(  # noqa: S603  (our own server)
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "-w", str(args.web_workers), "-k", "gthread",
         "--threads", "4", "-b", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env)
    workers: list[subprocess.Popen] = []
    try:
        wait_until_up(port)
        queue_seconds = queue_all(org, patients)
        start = time.perf_counter()
        workers = [subprocess.Popen(  # noqa: S603  (our own workers)
            [sys.executable, "manage.py", "rqworker", "default", "--burst", "--worker-class", "rq.worker.SimpleWorker"],
            cwd=ROOT, env=env, stderr=subprocess.DEVNULL) for _ in range(args.workers)]
        deliver_seconds = wait_until_sent(org, args.messages, start)
        for worker in workers:
            worker.wait(timeout=120)
        time.sleep(3)  # the last delivery receipts
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        flush_redis()
    return report(org, args, queue_seconds, deliver_seconds)


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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310  (our own server)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not come up")


def prepare(count: int):
    """The practice with `count` patients with mobile numbers (made once); its outbox and the gateway emptied."""
    from django.db import connection

    from clinicdesk.core.models import Location, Organization
    from clinicdesk.patients.models import Patient

    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench Messages Practice"})
    Location.objects.get_or_create(organization=org, code="main", defaults={"name": "Main", "time_zone": "America/New_York"})
    have = Patient.objects.filter(organization=org).count()
    if have < count:
        Patient.objects.bulk_create([
            Patient(organization=org, mrn=f"BM{n:07d}", first_name="Pat", last_name=f"Bench{n}", sex="female",
                    date_of_birth=date(1980, 1, 1 + n % 28), phone_mobile=f"+1202{n:07d}", email=f"bench{n}@example.com")
            for n in range(have, count)
        ], batch_size=2000)
    with connection.cursor() as cursor:
        # A benchmark database only: the outbox's events are append-only, so the tables are emptied wholesale.
        cursor.execute("TRUNCATE communications_message, communications_gatewaymessage CASCADE")
    patients = list(Patient.objects.filter(organization=org).order_by("id")[:count])
    return org, patients


def queue_all(org, patients) -> float:
    """Queue every reminder with `message_queue_many` (the bulk service the reminders sweep uses for its chunks),
    500 per transaction: the same rules as `message_queue` (keys, consent, address, sensitive detail), and
    one send task per 50 due messages after each commit. The wording is fixed: rendering is not measured here."""
    from django.db import transaction

    from clinicdesk.communications.choices import MessageChannel, MessagePurpose
    from clinicdesk.communications.services.outbox import OutgoingMessage, message_queue_many

    run = time.strftime("%Y%m%d%H%M%S")
    start = time.perf_counter()
    for offset in range(0, len(patients), 500):
        with transaction.atomic():
            message_queue_many(organization=org, messages=[
                OutgoingMessage(patient=patient, channel=MessageChannel.SMS, purpose=MessagePurpose.REMINDER,
                                idempotency_key=f"bench:{run}:{patient.pk}", mind_quiet_hours=False,
                                body="Riverside Family Practice: your visit is Tue Mar 3 at 10:30. Reply C to confirm, "
                                     "R to reschedule.")
                for patient in patients[offset:offset + 500]
            ])
    return time.perf_counter() - start


def wait_until_sent(org, count: int, start: float) -> float:
    from clinicdesk.communications.choices import MessageState
    from clinicdesk.communications.models import Message

    waiting = [MessageState.QUEUED, MessageState.SENDING]
    last_print = start
    while True:
        left = Message.objects.filter(organization=org, state__in=waiting).count()
        now = time.perf_counter()
        if left == 0:
            return now - start
        if now - last_print > 10:
            print(f"  {count - left:,} of {count:,} sent after {now - start:.0f} s", flush=True)
            last_print = now
        if now - start > 600:
            raise RuntimeError(f"{left} messages still waiting after 10 minutes")
        time.sleep(0.25)


def report(org, args, queue_seconds: float, deliver_seconds: float) -> int:
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
    version = connection.cursor().connection.info.server_version
    print(f"message_delivery · PostgreSQL {version // 10000}.{version % 10000} · Redis · {args.messages:,} text reminders "
          f"· {args.workers} RQ workers · gateway on gunicorn ({args.web_workers} workers × 4 threads)")
    print(f"  queue (message_queue_many, 500 per call)     {queue_seconds:8.1f} s   {args.messages / queue_seconds:8.0f} /s")
    print(f"  deliver (workers start → last handed over)   {deliver_seconds:8.1f} s   {args.messages / deliver_seconds:8.0f} /s")
    print(f"  total                                        {queue_seconds + deliver_seconds:8.1f} s")
    print(f"  states: {', '.join(f'{k} {v:,}' for k, v in sorted(states.items()))}")
    print(f"  gateway texts {texts.count():,}; one per message, under its own key: {'yes' if exactly_once else 'NO'}")
    met = queue_seconds + deliver_seconds <= TARGET_SECONDS and exactly_once
    print(f"  target queued and delivered in <= {TARGET_SECONDS:.0f} s, exactly once: {'met' if met else 'MISSED'}")
    return 0 if exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())

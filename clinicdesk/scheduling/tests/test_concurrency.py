"""The concurrency proof: 50 simultaneous requests for one slot, through the REST API of a real server.

A real server process (gunicorn, 4 worker processes with 4 threads each, so bookings really run in
parallel on separate database connections) against the test database; 50 threads released together
by a barrier each POST a booking of the same provider at the same time for a different patient. Exactly one is booked (201), the other 49
get a clear 409 naming the field, nothing answers 500, and the database holds one live appointment.

It needs PostgreSQL (the advisory locks and exclusion constraints are what is being proved) and skips
with the reason on SQLite.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from clinicdesk.core import services as core_services
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import LIVE_STATUSES
from clinicdesk.scheduling.models import Appointment

from .factories import Clinic

REQUESTS = 50

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the concurrency proof runs on PostgreSQL (set DATABASE_URL=postgres://…); SQLite serializes writers anyway",
    ),
]


def _next_weekday_nine(clinic):
    day = timezone.now().astimezone(clinic.at(2027, 1, 1).tzinfo).date() + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return clinic.at(day.year, day.month, day.day, 9)


def _post(url: str, body: dict, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310  (our own live test server over http)
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"{}")
        except ValueError:
            return exc.code, {"raw": raw[:300].decode("utf-8", "replace")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def server(transactional_db):
    """gunicorn serving the project against the test database; stopped (by its own pid) after the test."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": _database_url(), "DEBUG": "0", "CLINICDESK_TESTING": "1", "DB_CONN_MAX_AGE": "0"}
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    process = subprocess.Popen(  # noqa: S603  (our own server, fixed arguments)
        [gunicorn, "config.wsgi:application", "--workers", "4", "--threads", "4", "--backlog", "512",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120"],
        env=env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2).close()  # noqa: S310
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("gunicorn exited before serving")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_requests_for_one_slot_book_it_once(server):
    # given: a provider free at 09:00 and 50 different patients, each with a caller holding a token
    clinic = Clinic.build()
    starts_at = _next_weekday_nine(clinic)
    patients = [PatientFactory(organization=clinic.organization) for _ in range(REQUESTS)]
    _, token = core_services.api_token_create(user=clinic.actor, name="race", scopes=[Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK],
                                              days=1)
    url = f"{server}/api/v1/schedule/appointments"
    bodies = [
        {"patient": p.public_id, "provider": str(clinic.provider.pk), "location": str(clinic.location.pk),
         "appointment_type": str(clinic.kind.pk), "starts_at": starts_at.isoformat()}
        for p in patients
    ]  # fmt: skip
    barrier = threading.Barrier(REQUESTS)
    results: list[tuple[int, dict]] = [(0, {})] * REQUESTS

    def fire(n: int) -> None:
        barrier.wait()
        results[n] = _post(url, bodies[n], token)

    # when: all 50 are sent at the same moment
    threads = [threading.Thread(target=fire, args=(n,)) for n in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    # then: one booking, 49 conflicts naming the time, no server error, one live appointment
    statuses = Counter(status for status, _ in results)
    print(f"\n50 concurrent bookings of one slot: {dict(statuses)}")
    assert statuses == {201: 1, 409: REQUESTS - 1}, results
    assert all("starts_at" in body["errors"] for status, body in results if status == 409)
    live = Appointment.objects.filter(provider=clinic.provider, status__in=LIVE_STATUSES, starts_at=starts_at)
    assert live.count() == 1
    winner = next(body for status, body in results if status == 201)
    assert live.get().public_id == winner["id"]

"""Exactly once under a crash, with real processes: RQ workers (our django.tasks backend) send through the local
gateway served by the live server; one worker is killed with SIGKILL while it waits inside the HTTP call for a
text the gateway has already taken; a second worker and the sweep finish the job. Every message must end sent
or delivered, and the gateway must hold exactly one text per message."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import MessageState
from ..gateway.models import GatewayDirection, GatewayMessage
from ..gateway.store import stall_release
from ..models import Message
from .factories_delivery import MessageFactory

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "")
ROOT = Path(__file__).resolve().parents[3]
STALLING_NUMBER = "+15005550201"
LEASE_SECONDS = 3
STALL_SECONDS = 300  # ended early by the test (stall_release) once the second worker is done

if not REDIS_TEST_URL:
    print("test_worker_crash: skipped, REDIS_TEST_URL is not set (CI sets it)", file=sys.stderr)
pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_TEST_URL, reason="REDIS_TEST_URL is not set: the crash test needs Redis for RQ workers"),
]


def _database_env() -> dict[str, str]:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(db["NAME"]), "DATABASE_URL": ""}
    return {"DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}


def _env(live_server) -> dict[str, str]:
    env = {**os.environ, **_database_env(), "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0",
           "REDIS_URL": REDIS_TEST_URL, "PUBLIC_BASE_URL": live_server.url,
           "SMS_API_BASE_URL": f"{live_server.url}/sms-gateway", "SMS_ACCOUNT_SID": settings.SMS_ACCOUNT_SID,
           "SMS_AUTH_TOKEN": settings.SMS_AUTH_TOKEN, "SMS_FROM_NUMBER": settings.SMS_FROM_NUMBER,
           "MESSAGE_SEND_LEASE_SECONDS": str(LEASE_SECONDS), "SMS_TIMEOUT_SECONDS": "30", "TASKS_BACKEND": ""}
    if not env["DATABASE_URL"]:
        env.pop("DATABASE_URL")
    return env


def _manage(env, *args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, start_new_session=True,  # noqa: S603
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)


def _sweep(env) -> None:
    command = "from clinicdesk.communications.services.delivery import outbox_dispatch_due; outbox_dispatch_due()"
    sweep = _manage(env, "shell", "-c", command)
    _, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 0, err.decode()


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _kill_with_children(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its work horse, as a machine that dies would: RQ puts each horse in its own session,
    so killing the worker's process group alone would leave the horse to finish the send."""
    horses = _children(process.pid)
    os.killpg(process.pid, signal.SIGKILL)
    for pid in horses:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def redis_queue():
    import redis

    stall_release.clear()
    connection_ = redis.Redis.from_url(REDIS_TEST_URL)
    connection_.flushdb()
    yield
    stall_release.set()
    connection_.flushdb()


def test_a_worker_killed_mid_send_sends_nothing_twice_and_loses_nothing(org, live_server, settings, redis_queue):
    # given: twelve reminders, the fifth to a number where the gateway takes the text and then hangs
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SMS_GATEWAY_STALL_SECONDS = STALL_SECONDS
    numbers = [f"+1202555{n:04d}" for n in range(11)]
    numbers.insert(4, STALLING_NUMBER)
    messages = [MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile=number))
                for number in numbers]
    stalled = messages[4]
    env = _env(live_server)
    _sweep(env)
    # when: a worker starts, and is killed (with its work horse) while it waits on the hanging text
    first = _manage(env, "rqworker", "default")
    try:
        _wait_for(lambda: GatewayMessage.objects.filter(to_number=STALLING_NUMBER).exists()
                  and Message.objects.get(pk=stalled.pk).state == MessageState.SENDING, timeout=60,
                  what="the first worker to be inside the hanging send")
    finally:
        _kill_with_children(first)
    after_kill = Message.objects.get(pk=stalled.pk)
    assert after_kill.state == MessageState.SENDING, (after_kill.state, after_kill.claimed_until)
    # when: the lease runs out, the sweep hands the message out again and a second worker drains the queue
    time.sleep(LEASE_SECONDS + 0.5)
    _sweep(env)
    second = _manage(env, "rqworker", "default", "--burst")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err.decode()[-2000:]
    # then the gateway's hanging request ends, and its receipts come in
    stall_release.set()
    _wait_for(lambda: GatewayMessage.objects.get(to_number=STALLING_NUMBER).status == "delivered",
              timeout=30, what="the hanging send to finish and post its receipts")
    # then: every message went, each exactly once, and the one that was mid-send when its worker died was
    # claimed twice but sent once
    for message in Message.objects.all():
        assert message.state in (MessageState.SENT, MessageState.DELIVERED), (message.to_address, message.state,
                                                                             message.reason)
    texts = GatewayMessage.objects.filter(direction=GatewayDirection.OUTBOUND)
    assert texts.count() == len(messages)
    by_key = {t.idempotency_key: t.sid for t in texts}
    assert {m.idempotency_key: m.provider_message_id for m in Message.objects.all()} == by_key
    stalled.refresh_from_db()
    history = [(e.state, e.detail) for e in stalled.events.all()]
    assert stalled.attempts == 2 and stalled.events.filter(state=MessageState.SENT).count() == 1, history

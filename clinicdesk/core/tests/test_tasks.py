"""Background work: the audit chain task on every task backend clinicdesk runs on, and `manage.py serve`.

The database backend and `serve` run real worker processes against the test database; the Redis tests
run against the real Redis at REDIS_TEST_URL and skip, saying why, when it is not there.
"""

import os
import signal
import socket
import subprocess  # noqa: S404
import sys
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task
from django.tasks import signals as task_signals
from django.test import override_settings
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_seal
from clinicdesk.core.choices import AuditChannel, AuditOutcome
from clinicdesk.core.models import AuditEvent, AuditSeal
from clinicdesk.core.tasks import audit_chain_verify

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@task(takes_context=True)
def rq_probe(context, fail: bool = False) -> str:
    """Proves a Redis worker hands the task Django's own TaskContext, and reports failures as Django's."""
    if not isinstance(context, TaskContext):
        raise TypeError(f"expected django.tasks.TaskContext, got {type(context)!r}")
    if fail:
        raise ValueError("the probe was asked to fail")
    return context.task_result.id


def _break_chain(row: AuditEvent) -> None:
    """Rewrite an audit row behind the application's back (the test's transaction restores the trigger)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_update")
        else:
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
        cursor.execute("UPDATE core_auditevent SET summary = 'nothing to see' WHERE id = %s", [row.pk])


def _subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a manage.py subprocess that works on this test's database."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "TASKS_BACKEND", "SQLITE_PATH"}}
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db():
            pytest.skip("the test database is in memory; a worker process cannot open it")
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env["PYTHONUNBUFFERED"] = "1"
    return {**env, **extra}


def _manage(*args: str, env: dict[str, str], timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, MANAGE, *args], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=timeout
    )


# The task itself -------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(TASKS=IMMEDIATE)
def test_verifying_an_intact_chain_records_that_it_was_checked(front_desk):
    # given
    audit_event(action="test.event", actor=front_desk)
    audit_event(action="test.event", actor=front_desk)
    rows_before = AuditEvent.objects.count()
    # when
    result = audit_chain_verify.enqueue()
    # then
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"intact": True, "checked": rows_before, "broken_id": None, "reason": ""}
    event = AuditEvent.objects.first()
    assert (event.action, event.outcome, event.channel) == ("audit.verified", AuditOutcome.SUCCESS, AuditChannel.SYSTEM)
    assert f"{rows_before} rows checked" in event.summary


@pytest.mark.django_db
@override_settings(TASKS=IMMEDIATE)
def test_verifying_a_tampered_chain_records_the_first_broken_row(front_desk):
    # given
    rows = [audit_event(action="test.event", actor=front_desk, summary=f"event {i}") for i in range(4)]
    audit_seal()
    _break_chain(rows[2])
    # when
    result = audit_chain_verify.enqueue()
    # then
    assert result.return_value["intact"] is False
    assert result.return_value["broken_id"] == rows[2].pk
    event = AuditEvent.objects.first()
    assert (event.action, event.outcome) == ("audit.chain_broken", AuditOutcome.FAILED)
    assert f"row {rows[2].pk}" in event.summary
    assert event.changes["broken_id"] == rows[2].pk
    # The finding is itself chained to the last row, so it cannot be quietly dropped.
    audit_seal()
    assert AuditSeal.objects.get(event=event).prev_hash == AuditSeal.objects.get(event=AuditEvent.objects.filter(pk__lt=event.pk).first()).hash


def test_the_task_is_djangos_own_task_object():
    assert isinstance(audit_chain_verify, Task)
    assert audit_chain_verify.module_path == "clinicdesk.core.tasks.audit_chain_verify"


# The database backend: a real `db_worker --batch` process ---------------------------------------


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DATABASE)
def test_database_backend_runs_the_task_in_a_batch_worker(front_desk):
    # given a task waiting in the database queue
    audit_event(action="test.event", actor=front_desk)
    result = audit_chain_verify.enqueue()
    assert isinstance(result, TaskResult)
    assert result.status == TaskResultStatus.READY
    # when a worker process drains the queue
    worker = _manage("db_worker", "--batch", "--no-startup-delay", "--no-reload", env=_subprocess_env())
    # then
    assert worker.returncode == 0, worker.stderr
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value["intact"] is True
    assert result.worker_ids
    assert AuditEvent.objects.filter(action="audit.verified").count() == 1


# The Redis backend (clinicdesk.core.task_backends.RQBackend over django-rq) ------------------------


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_TEST_URL")
    if not url:
        pytest.skip("REDIS_TEST_URL is not set (CI sets redis://127.0.0.1:6379/15); Redis task tests need a real Redis")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at REDIS_TEST_URL={url} does not answer: {exc}")
    return url


@pytest.fixture
def rq_queue(redis_url):
    """A queue of this test's own on the real Redis, removed afterwards; TASKS points at the RQ backend."""
    import django_rq

    from clinicdesk.core.task_backends import RQJob

    name = f"clinicdesk-test-{uuid.uuid4().hex[:12]}"
    with override_settings(
        RQ_QUEUES={queue: {"URL": redis_url, "DEFAULT_TIMEOUT": 60} for queue in ("default", name)},
        TASKS={"default": {"BACKEND": "clinicdesk.core.task_backends.RQBackend", "QUEUES": ["default", name]}},
    ):
        queue = django_rq.get_queue(name, job_class=RQJob)
        yield queue
        for registry in (queue.finished_job_registry, queue.failed_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)
        queue.delete(delete_jobs=True)


def _work_in_process(queue, with_scheduler: bool = False) -> None:
    """Run RQ's non-forking worker until the queue is empty, leaving pytest's signal handlers as they were."""
    import rq

    from clinicdesk.core.task_backends import RQJob

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        rq.SimpleWorker([queue], connection=queue.connection, job_class=RQJob).work(burst=True, with_scheduler=with_scheduler)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.mark.redis
@pytest.mark.django_db
def test_redis_backend_speaks_django_tasks_types_and_signals(rq_queue, front_desk):
    # given
    seen = []

    def listener(signal, sender, task_result, **kwargs):
        seen.append((signal, type(task_result), task_result.status))

    for sig in (task_signals.task_enqueued, task_signals.task_started, task_signals.task_finished):
        sig.connect(listener)
    audit_event(action="test.event", actor=front_desk)
    try:
        # when
        result = audit_chain_verify.using(queue_name=rq_queue.name).enqueue()
        assert isinstance(result, TaskResult)
        assert result.status == TaskResultStatus.READY
        assert rq_queue.count == 1
        _work_in_process(rq_queue)
    finally:
        for sig in (task_signals.task_enqueued, task_signals.task_started, task_signals.task_finished):
            sig.disconnect(listener)
    # then
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value["intact"] is True
    assert result.worker_ids and result.finished_at is not None
    fetched = audit_chain_verify.get_result(result.id)
    assert type(fetched) is TaskResult and fetched.status == TaskResultStatus.SUCCESSFUL
    assert [(s, t) for s, t, _ in seen] == [
        (task_signals.task_enqueued, TaskResult),
        (task_signals.task_started, TaskResult),
        (task_signals.task_finished, TaskResult),
    ]
    assert seen[-1][2] == TaskResultStatus.SUCCESSFUL
    assert AuditEvent.objects.filter(action="audit.verified").exists()


@pytest.mark.redis
@pytest.mark.django_db
def test_redis_backend_passes_context_and_reports_failures(rq_queue):
    ok = rq_probe.using(queue_name=rq_queue.name).enqueue()
    failing = rq_probe.using(queue_name=rq_queue.name).enqueue(fail=True)
    _work_in_process(rq_queue)
    ok.refresh()
    failing.refresh()
    assert ok.status == TaskResultStatus.SUCCESSFUL
    assert ok.return_value == ok.id
    assert failing.status == TaskResultStatus.FAILED
    assert failing.errors[0].exception_class is ValueError
    assert "the probe was asked to fail" in failing.errors[0].traceback
    with pytest.raises(ValueError, match="Task failed"):
        failing.return_value  # noqa: B018


@pytest.mark.redis
@pytest.mark.django_db
def test_redis_backend_defers_a_task_until_its_run_after(rq_queue):
    # given a task deferred to a moment that has just passed
    run_after = timezone.now() - timedelta(seconds=1)
    result = rq_probe.using(queue_name=rq_queue.name, run_after=run_after).enqueue()
    # then it waits in the scheduled registry, not the queue
    assert rq_queue.count == 0
    assert result.id in rq_queue.scheduled_job_registry.get_job_ids()
    assert rq_probe.get_result(result.id).task.run_after is not None
    # when a worker with the scheduler runs
    _work_in_process(rq_queue, with_scheduler=True)
    # then
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_backend_runs_the_task_in_an_rqworker_process(rq_queue, redis_url, front_desk):
    # given a task on this test's queue
    audit_event(action="test.event", actor=front_desk)
    result = audit_chain_verify.using(queue_name=rq_queue.name).enqueue()
    # when `manage.py rqworker --burst` runs with REDIS_URL set (so the real settings pick the RQ backend)
    env = _subprocess_env(
        REDIS_URL=redis_url,
        CLINICDESK_TEST_RQ_QUEUE=rq_queue.name,
        DJANGO_SETTINGS_MODULE="clinicdesk.core.tests.settings_rq_worker",
    )
    worker = _manage("rqworker", rq_queue.name, "--burst", env=env)
    # then
    assert worker.returncode == 0, worker.stderr
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value["intact"] is True
    assert AuditEvent.objects.filter(action="audit.verified").count() == 1


# `manage.py serve`: the web server and the worker start together and stop together ---------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    """Child processes of pid with their command lines, read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc (Linux)")
@pytest.mark.django_db(transaction=True)
def test_serve_runs_web_and_worker_and_ctrl_c_stops_both():
    # given
    port = _free_port()
    serve = subprocess.Popen(  # noqa: S603
        [sys.executable, MANAGE, "serve", "--port", str(port)],
        env=_subprocess_env(), cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        # when the web server answers
        deadline = time.monotonic() + 120  # generous: a busy machine starts gunicorn slowly
        status = None
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # noqa: S310
                    status = response.status
                    break
            except OSError:
                time.sleep(0.2)
        assert status == 200, f"/healthz did not answer; serve exited with {serve.poll()}: {_output(serve)}"
        children = _children(serve.pid)
        assert any("runserver" in cmd or "gunicorn" in cmd for cmd in children.values()), children
        assert any("db_worker" in cmd for cmd in children.values()), children
        assert any("run_periodic" in cmd for cmd in children.values()), children
        # then Ctrl-C stops everything
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.1)
        assert not [cmd for pid, cmd in children.items() if _alive(pid)]
        assert serve.returncode == 0, serve.stdout.read()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def _output(proc: subprocess.Popen) -> str:
    return proc.stdout.read() if proc.poll() is not None else "(still running)"

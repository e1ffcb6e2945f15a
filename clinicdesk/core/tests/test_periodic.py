from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings

from clinicdesk.core.models import AuditEvent
from clinicdesk.core.periodic import PeriodicTask, enqueue_due, periodic_tasks, register_periodic

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
VERIFY = PeriodicTask(task_path="clinicdesk.core.tasks.audit_chain_verify", every=timedelta(minutes=10))


@override_settings(TASKS=IMMEDIATE)
def test_a_task_runs_at_start_then_once_per_interval():
    # given a scheduler that has never run
    last: dict[str, float] = {}
    # when it checks at start-up, 5 minutes later, and 10 minutes later
    first = enqueue_due(last_enqueued=last, now=1000.0, tasks=[VERIFY])
    early = enqueue_due(last_enqueued=last, now=1300.0, tasks=[VERIFY])
    due = enqueue_due(last_enqueued=last, now=1600.0, tasks=[VERIFY])
    # then the task ran at start and again after its interval, and not in between
    assert first == [VERIFY.task_path] and early == [] and due == [VERIFY.task_path]
    assert AuditEvent.objects.filter(action="audit.verified").count() == 2


def test_the_schedule_registers_its_recurring_work():
    paths = {p.task_path: p.every for p in periodic_tasks()}
    assert paths["clinicdesk.scheduling.tasks.recalls_refresh_daily"] == timedelta(hours=24)
    assert paths["clinicdesk.scheduling.tasks.waitlist_expire_offers"] == timedelta(minutes=5)
    assert paths["clinicdesk.scheduling.tasks.online_requests_expire"] == timedelta(minutes=5)
    assert paths["clinicdesk.staff.tasks.credential_alerts_daily"] == timedelta(days=1)
    assert paths["clinicdesk.ledger.tasks.budget_alerts_daily"] == timedelta(days=1)


def test_intervals_under_a_minute_are_refused():
    with pytest.raises(ValueError, match="once a minute"):
        register_periodic("clinicdesk.core.tasks.audit_chain_verify", every=timedelta(seconds=5))


@override_settings(TASKS=IMMEDIATE)
def test_run_periodic_once_enqueues_every_registered_task(capsys):
    call_command("run_periodic", "--once")
    out = capsys.readouterr().out
    for periodic in periodic_tasks():
        assert f"enqueued {periodic.task_path}" in out

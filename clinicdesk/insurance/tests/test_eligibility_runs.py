"""Checking a whole day: progress lives in an EligibilityRun row, so the page (web process) sees what the worker
(another process, another database connection) has done; the page polls it with htmx until the run ends."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.insurance.clearinghouse.local import LocalClearinghouse
from clinicdesk.insurance.models import EligibilityRun
from clinicdesk.insurance.services.eligibility import eligibility_check_day, eligibility_run_start
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import enrol, make_coverage

DAY = date(2026, 12, 1)


def _at(hour):
    return timezone.make_aware(datetime.combine(DAY, datetime.min.time()) + timedelta(hours=hour))


@pytest.fixture
def day_of_two(practice, clearinghouse, payer, plan, coverage):
    """Two confirmed appointments on DAY, both patients known to the clearinghouse's roster."""
    other = make_coverage(PatientFactory(organization=practice, first_name="Lee", last_name="Park",
                                         date_of_birth=date(1975, 1, 5)), payer, plan, member_id="W999")
    for n, cov in enumerate([coverage, other]):
        enrol(clearinghouse, cov)
        AppointmentFactory(organization=practice, patient=cov.patient, starts_at=_at(9 + n),
                           ends_at=_at(9 + n) + timedelta(minutes=20), status=AppointmentStatus.CONFIRMED)
    return practice


def page(client, **params) -> str:
    return client.get(reverse("insurance:eligibility_day"), {"day": DAY.isoformat(), **params},
                      **({"HTTP_HX_REQUEST": "true"} if "part" in params else {})).content.decode()


@pytest.mark.django_db
def test_a_run_counts_done_and_failed_and_ends(day_of_two, make_user, clearinghouse, settings):
    desk = make_user(Role.FRONT_DESK, username="desk")
    run = eligibility_run_start(organization=day_of_two, day=DAY, actor=desk)
    assert run.started_at is None and run.is_running
    counts = eligibility_check_day(organization=day_of_two, day=DAY, actor=desk, run=run)
    run.refresh_from_db()
    assert (run.total, run.done, run.failed, counts["active"]) == (2, 2, 0, 2)
    assert run.started_at and run.finished_at and not run.is_running
    # a clearinghouse that does not answer: every check is an error, counted as failed
    settings.CLEARINGHOUSE_ADAPTER = "clinicdesk.insurance.tests.test_eligibility_runs.SilentClearinghouse"
    eligibility_check_day(organization=day_of_two, day=DAY, actor=desk)
    latest = EligibilityRun.objects.order_by("-id").first()
    assert (latest.done, latest.failed) == (2, 2)


@pytest.mark.django_db
def test_the_page_polls_while_running_and_reloads_when_done(day_of_two, client_as, make_user):
    desk = make_user(Role.FRONT_DESK, username="desk")
    client = client_as(desk)
    assert "eligibility-progress" not in page(client)
    client.post(reverse("insurance:eligibility_run"), {"day": DAY.isoformat()})
    waiting = page(client)
    assert "waiting to start" in waiting and 'hx-trigger="every 2s"' in waiting
    run = EligibilityRun.objects.get()
    EligibilityRun.objects.filter(pk=run.pk).update(total=2, done=1, started_at=timezone.now())
    partial = page(client, part="progress", running="1")
    assert "Checking: 1 of 2 done" in partial and "<table" not in partial and "hx-get" in partial
    EligibilityRun.objects.filter(pk=run.pk).update(done=2, finished_at=timezone.now())
    finished = client.get(reverse("insurance:eligibility_day"), {"day": DAY.isoformat(), "part": "progress",
                                                                 "running": "1"}, HTTP_HX_REQUEST="true")
    assert finished["HX-Refresh"] == "true"
    done = page(client)
    assert "Checked 2 of 2 appointments" in done and "part=progress" not in done


class SilentClearinghouse(LocalClearinghouse):
    def send_270(self, content: str) -> str:
        raise TimeoutError("no answer")


class GatedClearinghouse(LocalClearinghouse):
    """Answers the first inquiry, then holds the second until the test has looked at the page."""

    calls = 0
    second_started = threading.Event()
    release = threading.Event()

    def send_270(self, content: str) -> str:
        type(self).calls += 1
        if type(self).calls == 2:
            type(self).second_started.set()
            type(self).release.wait(30)
        return super().send_270(content)


@pytest.mark.django_db(transaction=True)
def test_the_page_sees_the_progress_a_worker_on_another_connection_writes(day_of_two, client_as, make_user,
                                                                          settings):
    # given: a worker thread (its own database connection) halfway through the day
    settings.CLEARINGHOUSE_ADAPTER = "clinicdesk.insurance.tests.test_eligibility_runs.GatedClearinghouse"
    GatedClearinghouse.calls = 0
    GatedClearinghouse.second_started.clear()
    GatedClearinghouse.release.clear()
    desk = make_user(Role.FRONT_DESK, username="desk")
    run = eligibility_run_start(organization=day_of_two, day=DAY, actor=desk)
    failures: list[BaseException] = []

    def worker():
        try:
            eligibility_check_day(organization=day_of_two, day=DAY, run=run)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert GatedClearinghouse.second_started.wait(30)
        # when: the page is asked on the test's own connection
        client = client_as(desk)
        halfway = page(client, part="progress", running="1")
    finally:
        GatedClearinghouse.release.set()
        thread.join(60)
    # then
    assert not failures
    assert "Checking: 1 of 2 done" in halfway
    assert "Checked 2 of 2 appointments" in page(client)

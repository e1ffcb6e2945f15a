"""Fixtures the communications tests share: the front desk's small practice at a fixed moment, and a task
backend that stores background work instead of running it (what is queued is under test, not the sending)."""

import pytest
from freezegun import freeze_time

from clinicdesk.scheduling.tests.screens import NOW, Desk


@pytest.fixture
def stored_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def frozen_desk_time():
    with freeze_time(NOW):  # Wednesday 10 March 2027, 07:00 in New York
        yield


@pytest.fixture
def desk(org):
    return Desk.build(org)

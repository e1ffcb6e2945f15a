"""Settings for the `rqworker` subprocess in test_tasks: the real settings with REDIS_URL set, listening
only to the test's own queue so that it never runs another test run's jobs on a shared Redis."""

import os

from config.settings import *  # noqa: F403

# "default" stays configured because every @task is checked against its backend's queues at import.
RQ_QUEUES = {name: {"URL": os.environ["REDIS_URL"]} for name in ("default", os.environ["CLINICDESK_TEST_RQ_QUEUE"])}
TASKS = {"default": {"BACKEND": TASKS["default"]["BACKEND"], "QUEUES": list(RQ_QUEUES)}}  # noqa: F405

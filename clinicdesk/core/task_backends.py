"""A Redis (RQ) backend for Django's own `django.tasks`, so workers on several machines share one queue.

Why not django-tasks-rq as it is: version 0.12 is written against the `django_tasks` backport. Under
Django 6.1 with it as the default backend, `@django.tasks.task` builds the backport's Task class,
`enqueue()` returns the backport's TaskResult, and Django's task signals (and the logging hung on
them) never fire. The job runs, but the objects are not Django's. This adapter follows the same
design (an RQ job whose function path names a Task, the outcome read back from RQ's job and
results) and speaks Django's types throughout: Task, TaskResult, TaskError, TaskContext and the
`django.tasks.signals`. Queues and connections still come from django-rq's `RQ_QUEUES`.

Workers: `manage.py rqworker default --job-class clinicdesk.core.task_backends.RQJob`
(settings.RQ["JOB_CLASS"] makes that class the default, so the flag is optional).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import django_rq
from django.core.checks import Error
from django.core.exceptions import SuspiciousOperation
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import (
    DEFAULT_TASK_PRIORITY,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultStatus,
)
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils.crypto import get_random_string
from rq.defaults import UNSERIALIZABLE_RETURN_VALUE_PAYLOAD
from rq.exceptions import NoSuchJobError
from rq.job import Callback, JobStatus
from rq.job import Job as BaseJob
from rq.registry import ScheduledJobRegistry
from rq.results import Result

RQ_STATUS = {
    JobStatus.QUEUED: TaskResultStatus.READY,
    JobStatus.DEFERRED: TaskResultStatus.READY,
    JobStatus.SCHEDULED: TaskResultStatus.READY,
    JobStatus.STARTED: TaskResultStatus.RUNNING,
    JobStatus.FINISHED: TaskResultStatus.SUCCESSFUL,
    JobStatus.FAILED: TaskResultStatus.FAILED,
    JobStatus.STOPPED: TaskResultStatus.FAILED,
    JobStatus.CANCELED: TaskResultStatus.FAILED,
    None: TaskResultStatus.READY,
}
_EXCEPTIONS_META = "clinicdesk_exception_classes"


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class RQJob(BaseJob):
    """An RQ job that runs a django.tasks Task and reports itself as a Django TaskResult."""

    @property
    def func(self) -> Task:
        func = super().func
        # A queue entry may only name a Task, never an arbitrary importable callable.
        if not isinstance(func, Task):
            raise SuspiciousOperation(f"Job {self.id} does not point to a Task ({self.func_name})")
        return func

    def perform(self) -> Any:
        task_started.send(type(self.func.get_backend()), task_result=self.task_result)
        return super().perform()

    def _execute(self) -> Any:
        try:
            if self.func.takes_context:
                return self.func.call(TaskContext(task_result=self.task_result), *self.args, **self.kwargs)
            return self.func.call(*self.args, **self.kwargs)
        finally:
            self.__dict__.pop("task_result", None)  # its status has changed

    @cached_property
    def task_result(self) -> TaskResult:
        run_after = None
        if self.is_scheduled:
            run_after = ScheduledJobRegistry(queue=django_rq.get_queue(self.origin)).get_scheduled_time(self)
        result = TaskResult(
            task=self.func.using(
                priority=DEFAULT_TASK_PRIORITY, queue_name=self.origin, run_after=run_after, backend=self.meta["backend_name"]
            ),
            id=self.id,
            status=RQ_STATUS[self.get_status()],
            enqueued_at=self.enqueued_at,
            started_at=self.started_at,
            last_attempted_at=self.started_at,
            finished_at=self.ended_at,
            args=list(self.args),
            kwargs=self.kwargs,
            backend=self.meta["backend_name"],
            errors=[],
            worker_ids=[],
        )
        exception_classes = list(self.meta.get(_EXCEPTIONS_META, []))
        rq_results = self.results()
        for rq_result in rq_results:
            result.worker_ids.append(rq_result.worker_name)
            if rq_result.type == Result.Type.FAILED:
                path = exception_classes.pop() if exception_classes else _class_path(Exception)
                result.errors.append(TaskError(exception_class_path=path, traceback=rq_result.exc_string or ""))
        if self.worker_name and result.status == TaskResultStatus.RUNNING:
            result.worker_ids.append(self.worker_name)
        if rq_results:
            object.__setattr__(result, "last_attempted_at", rq_results[-1].created_at)
            value = rq_results[-1].return_value
            if value == UNSERIALIZABLE_RETURN_VALUE_PAYLOAD:
                # RQ could not store what the task returned: report a failure rather than a silent None.
                object.__setattr__(result, "status", TaskResultStatus.FAILED)
                result.errors.append(TaskError(exception_class_path=_class_path(TypeError), traceback=value))
            else:
                object.__setattr__(result, "_return_value", value)
        return result


def on_failure(job: RQJob, connection, exception_class: type[BaseException], exception_value, traceback) -> None:
    job.meta.setdefault(_EXCEPTIONS_META, []).append(_class_path(exception_class))
    job.save_meta()
    result = job.task_result
    object.__setattr__(result, "status", TaskResultStatus.FAILED)
    task_finished.send(type(result.task.get_backend()), task_result=result)


def on_success(job: RQJob, connection, value: Any) -> None:
    result = job.task_result
    object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
    task_finished.send(type(result.task.get_backend()), task_result=result)


class RQBackend(BaseTaskBackend):
    """Enqueue django.tasks Tasks on django-rq's queues (settings.RQ_QUEUES)."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        if not params.get("QUEUES"):
            self.queues = set(django_rq.settings.QUEUES)

    def enqueue(self, task: Task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        result = TaskResult(
            task=task,
            id=get_random_string(32),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        queue = django_rq.get_queue(task.queue_name, job_class=RQJob)
        job = queue.create_job(
            task.module_path,
            args=result.args,
            kwargs=result.kwargs,
            job_id=result.id,
            status=JobStatus.SCHEDULED if task.run_after else JobStatus.QUEUED,
            on_failure=Callback(on_failure),
            on_success=Callback(on_success),
            meta={"backend_name": self.alias},
        )
        job = queue.enqueue_job(job) if task.run_after is None else queue.schedule_job(job, task.run_after)
        object.__setattr__(result, "enqueued_at", job.enqueued_at)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        # Every queue of one backend lives on the same Redis (django_rq.get_queues insists on it).
        try:
            job = RQJob.fetch(result_id, connection=django_rq.get_connection(min(self.queues)))
        except NoSuchJobError:
            raise TaskResultDoesNotExist(result_id) from None
        return job.task_result

    def check(self, **kwargs):
        yield from super().check(**kwargs)
        for queue_name in sorted(self.queues):
            try:
                django_rq.get_queue(queue_name)
            except KeyError:
                yield Error(f"Task queue {queue_name!r} is not in RQ_QUEUES.", id="clinicdesk.E101")

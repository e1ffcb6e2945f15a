"""Work that recurs (the daily recall refresh, expiry sweeps): apps register a task and an interval here,
and `manage.py run_periodic` (started by `serve`) enqueues each one when its interval has passed.

Registered tasks must be idempotent: a restart enqueues every task once at start-up, and two schedulers
on two machines only repeat work, never double it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class PeriodicTask:
    task_path: str
    every: timedelta


_REGISTRY: dict[str, PeriodicTask] = {}


def register_periodic(task_path: str, *, every: timedelta) -> None:
    """Run the django.tasks task at `task_path` (no arguments) every `every`; called from AppConfig.ready."""
    if every < timedelta(minutes=1):
        raise ValueError("A periodic task runs at most once a minute.")
    _REGISTRY[task_path] = PeriodicTask(task_path=task_path, every=every)


def periodic_tasks() -> list[PeriodicTask]:
    return sorted(_REGISTRY.values(), key=lambda p: p.task_path)


def enqueue_due(*, last_enqueued: dict[str, float], now: float, tasks: list[PeriodicTask] | None = None) -> list[str]:
    """Enqueue every task whose interval has passed since `last_enqueued` (all of them the first time); returns their paths."""
    due = []
    for periodic in periodic_tasks() if tasks is None else tasks:
        last = last_enqueued.get(periodic.task_path)
        if last is None or now - last >= periodic.every.total_seconds():
            import_string(periodic.task_path).enqueue()
            last_enqueued[periodic.task_path] = now
            due.append(periodic.task_path)
    return due

"""Background work of the roster: solving runs in the worker, thin over the service."""

from __future__ import annotations

from django.tasks import task

from .services.solving import solve_run_execute


@task
def roster_solve(*, run_id: int) -> str:
    """Solve a queued roster run and store the best roster found; returns the run's status."""
    return solve_run_execute(run_id=run_id).status

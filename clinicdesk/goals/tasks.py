"""Background work of the goals app; each task is thin and calls a service."""

from __future__ import annotations

from django.tasks import task

from clinicdesk.core.models import Organization

from .services import key_result_snapshots_take


@task
def key_result_snapshots_daily() -> int:
    """Record each running key result's value and status for today, in every practice; returns how many."""
    return sum(key_result_snapshots_take(organization=org) for org in Organization.objects.order_by("pk"))

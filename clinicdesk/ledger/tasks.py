"""Background work of the ledger; each task is thin and calls a service."""

from __future__ import annotations

from django.tasks import task

from clinicdesk.core.models import Organization

from .budgets import budget_alerts_check


@task
def budget_alerts_daily() -> int:
    """Record budget threshold alerts for this month in every practice (run once a day); returns alerts made."""
    return sum(len(budget_alerts_check(organization=org)) for org in Organization.objects.order_by("pk"))


@task
def recurring_bills_daily() -> int:
    """Enter the recurring vendor bills whose day has come, in every practice (run once a day); returns bills made."""
    from .recurring import recurring_bills_run

    return sum(len(recurring_bills_run(organization=org)) for org in Organization.objects.order_by("pk"))

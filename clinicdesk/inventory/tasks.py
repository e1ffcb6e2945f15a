"""Background work of the inventory app; each task is thin and calls a service."""

from __future__ import annotations

from django.tasks import task

from clinicdesk.core.models import Organization

from .models import PurchaseOrder, StockBalance
from .services.alerts import stock_alerts_send


@task
def stock_alerts_daily() -> dict[str, int]:
    """Tell each practice's managers about low, expiring and expired stock and overdue orders; run once a day."""
    orgs = Organization.objects.filter(pk__in=StockBalance.objects.values("organization_id")) | Organization.objects.filter(
        pk__in=PurchaseOrder.objects.values("organization_id"))
    return {org.slug: stock_alerts_send(organization=org) for org in orgs.order_by("pk")}

"""Background work of the assets app; each task is thin and calls a service."""

from __future__ import annotations

from django.tasks import task

from clinicdesk.core.models import Organization

from .models import Asset
from .services.alerts import asset_alerts_send


@task
def asset_alerts_daily() -> dict[str, int]:
    """Raise the expiry (90, 60, 30 days, expired) and maintenance (30 days, overdue) alerts, each once; run daily."""
    orgs = Organization.objects.filter(pk__in=Asset.objects.values("organization_id"))
    return {org.slug: asset_alerts_send(organization=org) for org in orgs.order_by("pk")}

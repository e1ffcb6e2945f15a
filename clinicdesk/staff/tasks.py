"""Background work of the staff app; each task is thin and calls a service."""

from __future__ import annotations

from django.tasks import task

from clinicdesk.core.models import Organization

from .models import Credential
from .services.credentials import credential_alerts_send


@task
def credential_alerts_daily() -> dict[str, int]:
    """Send the 90, 60 and 30-day credential expiry alerts (each once); run once a day."""
    orgs = Organization.objects.filter(pk__in=Credential.objects.values("organization_id"))
    return {org.slug: credential_alerts_send(organization=org) for org in orgs.order_by("pk")}

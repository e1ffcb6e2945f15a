"""Background work of the schedule; each task is thin and calls a service."""

from __future__ import annotations

from datetime import datetime

from django.tasks import task

from clinicdesk.core.models import Organization

from .models import RecallRule
from .services import recalls, waitlist


@task
def waitlist_offer_freed_time(*, provider_id: int, location_id: int, starts_at: str, ends_at: str) -> int:
    """Offer time freed by a cancellation or a move to the best-matching waitlist entries; returns offers made."""
    offers = waitlist.waitlist_offer_freed_time(
        provider_id=provider_id, location_id=location_id,
        starts_at=datetime.fromisoformat(starts_at), ends_at=datetime.fromisoformat(ends_at),
    )
    return len(offers)


@task
def waitlist_expire_offers() -> dict[str, int]:
    """Close lapsed offers (their time goes to the next in line) and entries past their dates; run every few minutes."""
    return waitlist.waitlist_expire()


@task
def recalls_refresh_daily() -> dict[str, int]:
    """Add the recalls that became due, for every practice with active recall rules; run once a day."""
    orgs = Organization.objects.filter(pk__in=RecallRule.objects.filter(is_active=True).values("organization_id"))
    return {org.slug: recalls.recalls_refresh(organization=org) for org in orgs.order_by("pk")}


@task
def online_requests_expire() -> int:
    """Mark online booking requests nobody verified in time as expired; run every few minutes."""
    from .services.online import online_requests_expire as expire

    return expire()

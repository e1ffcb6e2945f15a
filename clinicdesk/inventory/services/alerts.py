"""The daily supply alerts: low stock, lots expiring soon, expired lots on the shelf, overdue purchase orders."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization

from ..selectors import stock_alerts
from ..signals import stock_alerts_found

EXPIRY_WINDOW_DAYS = 30


def stock_alerts_send(*, organization: Organization, today: date | None = None) -> int:
    """Find the practice's alerts and announce them once (a digest; communications turns it into a message to the
    managers). Returns how many alerts were found."""
    today = today or timezone.localdate()
    found = stock_alerts(organization_id=organization.pk, today=today, within_days=EXPIRY_WINDOW_DAYS)
    if found.count:
        stock_alerts_found.send(sender=Organization, organization=organization, alerts=found, today=today)
        audit_event(action="inventory.alerts_found", organization_id=organization.pk,
                    summary=(f"{len(found.low)} low, {len(found.expiring)} expiring within {EXPIRY_WINDOW_DAYS} days, "
                             f"{len(found.expired)} expired on the shelf, {len(found.overdue)} order(s) overdue"))
    return found.count

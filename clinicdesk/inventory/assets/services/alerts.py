"""The daily alerts: warranty, support contract and licence expiring within 90, 60 and 30 days (and expired), and
maintenance due within 30 days (and overdue). Each is recorded once and told to the office manager."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization

from ..choices import ALERT_THRESHOLDS, OUT_OF_SERVICE, AlertSubject
from ..models import Asset, AssetAlert, MaintenanceSchedule
from ..signals import asset_alert_raised

# Maintenance is told a month ahead, then when it is overdue.
MAINTENANCE_THRESHOLDS = (30,)


def threshold_reached(days_left: int, thresholds: tuple[int, ...]) -> int | None:
    """The smallest threshold reached (0 once the date has passed), or None while it is further out."""
    if days_left < 0:
        return 0
    reached = [t for t in thresholds if days_left <= t]
    return min(reached) if reached else None


@dataclass(frozen=True)
class DueAlert:
    asset: Asset
    subject: str
    key: str
    due_on: date
    threshold_days: int
    schedule: MaintenanceSchedule | None = None


def alerts_due(*, organization: Organization, today: date) -> list[DueAlert]:
    """Every alert an asset of the practice has reached today (whether or not it was already raised)."""
    horizon = today + timedelta(days=max(ALERT_THRESHOLDS))
    found: list[DueAlert] = []
    assets = Asset.objects.filter(organization=organization).exclude(status__in=OUT_OF_SERVICE)
    soon = (assets.filter(warranty_expires__lte=horizon) | assets.filter(support_expires__lte=horizon)
            | assets.filter(licence_expires__lte=horizon))
    for asset in soon.distinct().order_by("pk"):
        for subject, when in asset.expiries():
            threshold = threshold_reached((when - today).days, ALERT_THRESHOLDS)
            if threshold is not None:
                found.append(DueAlert(asset, subject, subject, when, threshold))
    schedules = (MaintenanceSchedule.objects.filter(organization=organization, active=True,
                                                    next_due_on__lte=today + timedelta(days=max(MAINTENANCE_THRESHOLDS)))
                 .exclude(asset__status__in=OUT_OF_SERVICE).select_related("asset").order_by("pk"))
    for schedule in schedules:
        threshold = threshold_reached((schedule.next_due_on - today).days, MAINTENANCE_THRESHOLDS)
        if threshold is not None:
            found.append(DueAlert(schedule.asset, AlertSubject.MAINTENANCE, f"maintenance:{schedule.pk}",
                                  schedule.next_due_on, threshold, schedule))
    return found


def asset_alerts_send(*, organization: Organization, today: date | None = None) -> int:
    """Record each alert once (per asset, subject, due date and threshold) and tell the office manager; a re-run the
    same day or the next raises nothing new, and a renewed date starts a new series."""
    today = today or timezone.localdate()
    raised_before = set(AssetAlert.objects.filter(organization=organization, due_on__gte=today - timedelta(days=3650))
                        .values_list("asset_id", "key", "due_on", "threshold_days"))
    raised = 0
    for due in alerts_due(organization=organization, today=today):
        if (due.asset.pk, due.key, due.due_on, due.threshold_days) in raised_before:
            continue
        try:
            with transaction.atomic():
                alert = AssetAlert.objects.create(
                    organization=organization, asset=due.asset, subject=due.subject, schedule=due.schedule,
                    key=due.key, due_on=due.due_on, threshold_days=due.threshold_days, raised_on=today)
                asset_alert_raised.send(sender=AssetAlert, alert=alert)
        except IntegrityError:
            continue  # another run recorded it a moment ago
        raised += 1
    if raised:
        audit_event(action="asset.alerts_raised", organization_id=organization.pk,
                    summary=f"Raised {raised} asset expiry or maintenance alert(s)")
    return raised

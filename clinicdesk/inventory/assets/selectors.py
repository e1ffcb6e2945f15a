"""Reads of the office's technology, each scoped to the acting user's practice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from clinicdesk.core.models import User

from .choices import OUT_OF_SERVICE, TICKET_ACTIVE
from .models import Asset, AssetAlert, MaintenanceSchedule, ServiceTicket


def asset_search(*, user: User, kind: str = "", status: str = "", location_id: int | None = None,
                 expiring_within: int | None = None, query: str = "", today: date | None = None) -> QuerySet[Asset]:
    """The register, filtered; `expiring_within` days keeps assets in service whose warranty, support contract or
    licence runs out by then (already lapsed included)."""
    rows = (Asset.objects.filter(organization_id=user.organization_id)
            .select_related("location", "department", "assigned_to", "vendor")
            .annotate(open_tickets=Count("tickets", filter=Q(tickets__status__in=TICKET_ACTIVE))))
    if kind:
        rows = rows.filter(kind=kind)
    if status:
        rows = rows.filter(status=status)
    if location_id:
        rows = rows.filter(location_id=location_id)
    if expiring_within is not None and today is not None:
        horizon = today + timedelta(days=expiring_within)
        rows = rows.exclude(status__in=OUT_OF_SERVICE).filter(
            Q(warranty_expires__lte=horizon) | Q(support_expires__lte=horizon) | Q(licence_expires__lte=horizon))
    if query:
        rows = rows.filter(Q(tag__icontains=query) | Q(name__icontains=query) | Q(serial_number__icontains=query)
                           | Q(make__icontains=query) | Q(model__icontains=query))
    return rows.order_by("tag")


def asset_get(*, user: User, asset_id: int) -> Asset:
    asset = (Asset.objects.filter(pk=asset_id, organization_id=user.organization_id)
             .select_related("location", "department", "assigned_to", "vendor").first())
    if asset is None:
        raise Http404("No such asset.")
    return asset


def asset_history(*, asset: Asset):
    """Who had the asset when, newest first: each row ends where the next newer one starts."""
    rows = list(asset.assignments.select_related("staff", "location", "department", "recorded_by")
                .order_by("-starts_on", "-pk"))
    ends_on = None
    for row in rows:
        row.ends_on = ends_on
        ends_on = row.starts_on
    return rows


def ticket_search(*, user: User, status: str = "", active_only: bool = False,
                  asset_id: int | None = None) -> QuerySet[ServiceTicket]:
    rows = (ServiceTicket.objects.filter(organization_id=user.organization_id)
            .select_related("asset", "vendor", "reported_by", "assigned_to"))
    if status:
        rows = rows.filter(status=status)
    elif active_only:
        rows = rows.filter(status__in=TICKET_ACTIVE)
    if asset_id:
        rows = rows.filter(asset_id=asset_id)
    return rows.order_by("-created_at", "-pk")


def ticket_get(*, user: User, ticket_id: int) -> ServiceTicket:
    ticket = (ServiceTicket.objects.filter(pk=ticket_id, organization_id=user.organization_id)
              .select_related("asset", "vendor", "reported_by", "assigned_to").first())
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


@dataclass(frozen=True)
class DueRow:
    schedule: MaintenanceSchedule
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def maintenance_due(*, user: User, today: date, within_days: int = 30) -> list[DueRow]:
    """Active maintenance of assets in service due within `within_days` (overdue first)."""
    schedules = (MaintenanceSchedule.objects.filter(organization_id=user.organization_id, active=True,
                                                    next_due_on__lte=today + timedelta(days=within_days))
                 .exclude(asset__status__in=OUT_OF_SERVICE)
                 .select_related("asset", "asset__location", "vendor").order_by("next_due_on", "pk"))
    return [DueRow(s, (s.next_due_on - today).days) for s in schedules]


def alert_list(*, user: User, subject: str = "") -> QuerySet[AssetAlert]:
    rows = (AssetAlert.objects.filter(organization_id=user.organization_id)
            .select_related("asset", "schedule").order_by("-raised_on", "due_on", "pk"))
    return rows.filter(subject=subject) if subject else rows

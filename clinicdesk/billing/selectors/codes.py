"""Reads of the procedure list and fee schedules, each scoped to the acting user's practice."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from ..models import Fee, FeeSchedule, ProcedureCode


def _terms(query: str) -> list[str]:
    return [t for t in (query or "").split() if t][:6]


def procedure_search(*, user, query: str = "", limit: int | None = None, include_inactive: bool = False) -> QuerySet[ProcedureCode]:
    """The practice's procedures whose code starts with, or whose description holds, every typed word."""
    rows = ProcedureCode.objects.filter(organization_id=user.organization_id)
    if not include_inactive:
        rows = rows.filter(is_active=True)
    for term in _terms(query):
        rows = rows.filter(Q(code__istartswith=term) | Q(description__icontains=term))
    rows = rows.order_by("code")
    return rows[:limit] if limit else rows


def fee_schedule_list(*, user) -> QuerySet[FeeSchedule]:
    """The practice's fee schedules, the default first, with how many prices each holds."""
    return FeeSchedule.objects.filter(organization_id=user.organization_id).annotate(fee_count=Count("fees"))


def fee_schedule_get(*, user, schedule_id: int) -> FeeSchedule:
    """One of the practice's fee schedules; another practice's is a 404."""
    return get_object_or_404(FeeSchedule, pk=schedule_id, organization_id=user.organization_id)


def fee_list(*, user, schedule: FeeSchedule, query: str = "") -> QuerySet[Fee]:
    """The prices of a schedule (of the user's practice), by code, modifiers and date; filtered by code or words."""
    rows = Fee.objects.filter(organization_id=user.organization_id, schedule_id=schedule.pk).select_related("procedure")
    for term in _terms(query):
        rows = rows.filter(Q(procedure__code__istartswith=term) | Q(procedure__description__icontains=term)
                           | Q(modifiers__icontains=term))
    return rows.order_by("procedure__code", "modifiers", "effective_from")

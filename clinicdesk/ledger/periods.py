"""Closing and reopening months of the books. A closed month takes no entry (the service and the database both
refuse one); a correction goes into an open month, or the month is reopened with a reason, which is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization

from .models import FiscalPeriod


def month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


@transaction.atomic
def period_close(*, organization: Organization, month: date, actor) -> FiscalPeriod:
    """Close a month: from now on no entry may be dated in it. A month not yet ended cannot be closed."""
    month = month_start(month)
    if _next_month(month) > timezone.localdate():
        raise ValidationError({"month": f"{month:%B %Y} has not ended yet: only past months can be closed."})
    period, _ = FiscalPeriod.objects.select_for_update().get_or_create(organization=organization, month=month)
    if period.is_closed:
        raise ValidationError({"month": f"{month:%B %Y} is already closed."})
    period.closed_at = timezone.now()
    period.closed_by = actor
    period.save(update_fields=["closed_at", "closed_by", "updated_at"])
    audit_event(action="ledger.period_closed", actor=actor, target=period, organization_id=organization.pk,
                summary=f"Books closed for {month:%B %Y}")
    return period


@transaction.atomic
def period_reopen(*, organization: Organization, month: date, reason: str, actor) -> FiscalPeriod:
    """Reopen a closed month so that entries may be dated in it again; the reason is kept and audited."""
    month = month_start(month)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the month is reopened."})
    period = FiscalPeriod.objects.select_for_update().filter(organization=organization, month=month).first()
    if period is None or not period.is_closed:
        raise ValidationError({"month": f"{month:%B %Y} is not closed."})
    period.closed_at = None
    period.reopen_reason = reason[:300]
    period.save(update_fields=["closed_at", "reopen_reason", "updated_at"])
    audit_event(action="ledger.period_reopened", actor=actor, target=period, organization_id=organization.pk,
                summary=f"Books reopened for {month:%B %Y}: {reason}"[:300])
    return period


@dataclass
class MonthRow:
    month: date
    period: FiscalPeriod | None

    @property
    def is_closed(self) -> bool:
        return self.period is not None and self.period.is_closed


def period_list(*, user, months: int = 12) -> list[MonthRow]:
    """The last `months` ended months and the current one, newest first, each with its period if it has one."""
    today = timezone.localdate()
    current = month_start(today)
    shown = [current]
    while len(shown) < months + 1:
        previous = shown[-1]
        shown.append(date(previous.year - (previous.month == 1), (previous.month - 2) % 12 + 1, 1))
    periods = {p.month: p for p in FiscalPeriod.objects.filter(organization_id=user.organization_id, month__in=shown)
               .select_related("closed_by")}
    return [MonthRow(month=m, period=periods.get(m)) for m in shown]


def is_closed(*, organization_id: int, day: date) -> bool:
    return FiscalPeriod.objects.filter(organization_id=organization_id, month=month_start(day),
                                       closed_at__isnull=False).exists()

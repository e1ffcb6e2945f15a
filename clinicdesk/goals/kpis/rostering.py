"""Overtime from the published rosters: hours over 40 in a week, as a share of rostered hours."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from clinicdesk.core.permissions import Perm
from clinicdesk.rostering.choices import PeriodStatus
from clinicdesk.rostering.models import RosterAssignment

from ..choices import Direction, KpiUnit
from .registry import Figure, Kpi, Rows, Scope, percent, register

WEEK_HOURS = Decimal(40)


def _assignments(org: int, start: date, end: date, scope: Scope):
    qs = RosterAssignment.objects.filter(period__organization_id=org, period__status=PeriodStatus.PUBLISHED,
                                         day__gte=start, day__lte=end, shift_type__isnull=False)
    if scope.department_id:
        qs = qs.filter(period__department_id=scope.department_id)
    if scope.location_id:
        qs = qs.filter(period__location_id=scope.location_id)
    return qs


def _weeks(org: int, start: date, end: date, scope: Scope) -> dict[tuple[int, date], Decimal]:
    """Rostered hours by (staff member, Monday of the week)."""
    hours: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    for staff_id, day, minutes in _assignments(org, start, end, scope).values_list("staff_id", "day",
                                                                                  "shift_type__length_minutes"):
        monday = date.fromordinal(day.toordinal() - day.weekday())
        hours[(staff_id, monday)] += Decimal(minutes) / 60
    return hours


def overtime(org: int, start: date, end: date, scope: Scope) -> Figure:
    weeks = _weeks(org, start, end, scope)
    total = sum(weeks.values(), Decimal(0))
    over = sum((max(h - WEEK_HOURS, Decimal(0)) for h in weeks.values()), Decimal(0))
    return Figure(value=percent(over, total), numerator=over, denominator=total)


def overtime_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    from clinicdesk.staff.models import StaffMember

    weeks = _weeks(org, start, end, scope)
    names = {m.pk: m.name for m in StaffMember.objects.filter(pk__in={s for s, _ in weeks})}
    items = sorted(([names.get(s, s), monday, hours.quantize(Decimal("0.01")),
                     max(hours - WEEK_HOURS, Decimal(0)).quantize(Decimal("0.01"))]
                    for (s, monday), hours in weeks.items()), key=lambda r: (r[1], str(r[0])))
    return Rows(columns=["Staff", "Week of", "Rostered hours", "Overtime hours"], items=items, cells=list)


register(Kpi(
    code="overtime", name="Overtime", unit=KpiUnit.PERCENT, source="rostering", perm=Perm.ROSTER_VIEW,
    better=Direction.AT_MOST, compute=overtime, rows=overtime_rows, scopes=frozenset({"department", "location"}),
    formula="Overtime hours ÷ rostered hours × 100, from published rosters. A person's week runs Monday to Sunday; "
            "overtime is the hours over 40 in that week, counting only the days inside the period. Excluded: "
            "draft and superseded rosters, days off."))

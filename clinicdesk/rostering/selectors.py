"""Reads of the roster, always scoped to the user's practice: the periods, the grid with its coverage row, a
person's own shifts, the requests, and the hours for payroll."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from clinicdesk.core.models import User
from clinicdesk.staff.models import StaffMember

from .checker import check
from .choices import ChangeStatus, PeriodStatus, RequestStatus
from .models import RosterAssignment, RosterPeriod, ShiftChangeRequest, ShiftType, SolveRun, TimeOffRequest
from .services.problem_build import BuiltProblem, current_assignment, holiday_days, problem_build

NIGHT_START = time(23, 0)
NIGHT_END = time(7, 0)
STEP = timedelta(minutes=15)


def periods_for(*, user: User) -> QuerySet[RosterPeriod]:
    return (RosterPeriod.objects.filter(organization_id=user.organization_id)
            .select_related("department", "location").annotate(shift_count=Count("assignments", filter=Q(assignments__shift_type__isnull=False)))
            .order_by("-start", "department__name", "-version"))


def period_get(*, user: User, period_id: int) -> RosterPeriod:
    period = (RosterPeriod.objects.select_related("department", "location", "organization")
              .filter(pk=period_id, organization_id=user.organization_id).first())
    if period is None:
        raise Http404("No such roster.")
    return period


@dataclass
class GridRow:
    staff: StaffMember
    cells: list[dict]
    hours: float = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class CoverageCell:
    assigned: int
    minimum: int
    preferred: int

    @property
    def state(self) -> str:
        if self.assigned < self.minimum:
            return "short"
        if self.assigned < self.preferred:
            return "under"
        return "ok"


@dataclass
class Grid:
    period: RosterPeriod
    days: list[dict]
    rows: list[GridRow]
    coverage: list[dict]
    shift_types: list[ShiftType]
    violations: list[str]
    objective: int
    cost_by_rule: dict[str, int]
    built: BuiltProblem


def roster_grid(*, user: User, period: RosterPeriod, lapses: bool = True) -> Grid:
    """The roster as a grid of people by days, with each cell's shift and lock, the coverage row per shift and skill,
    the rules it breaks and its cost by rule. A fixed number of queries, whatever the number of people or days."""
    if period.organization_id != user.organization_id:
        raise Http404("No such roster.")
    built = problem_build(period=period)
    dates = built.dates
    holidays = holiday_days(period)
    days = [{"date": d, "weekend": d.weekday() >= 5, "holiday": i in holidays} for i, d in enumerate(dates)]
    cells = {(a.staff_id, a.day): a for a in RosterAssignment.objects.filter(period=period).select_related("shift_type")}
    members = list(built.staff.values())
    extra_ids = {staff_id for staff_id, _ in cells} - {m.pk for m in members}
    if extra_ids:
        members += list(StaffMember.objects.filter(pk__in=extra_ids).prefetch_related("skills"))
    warnings: dict[int, list[str]] = {}
    if lapses:
        from .services.rosters import lapse_warnings

        on_roster = sorted({staff_id for (staff_id, _), a in cells.items() if a.shift_type_id})
        warnings = lapse_warnings(period=period, staff_ids=on_roster, start=period.start, end=period.end)
    rows = []
    for member in members:
        row_cells, minutes = [], 0
        for d in days:
            cell = cells.get((member.pk, d["date"]))
            kind = cell.shift_type if cell else None
            minutes += kind.length_minutes if kind else 0
            row_cells.append({"date": d["date"], "code": kind.code if kind else "", "locked": bool(cell and cell.locked),
                              "weekend": d["weekend"], "holiday": d["holiday"], "night": bool(kind and kind.is_night)})
        rows.append(GridRow(staff=member, cells=row_cells, hours=minutes / 60, warnings=warnings.get(member.pk, [])))
    roster = {(str(s), (d - period.start).days): a.shift_type.code for (s, d), a in cells.items() if a.shift_type_id}
    skills = {e.id: e.skills for e in built.problem.employees}
    coverage = []
    lines: dict[tuple[str, str | None], dict[int, CoverageCell]] = defaultdict(dict)
    for line in built.problem.cover:
        assigned = sum(1 for (emp, day), code in roster.items()
                       if day == line.day and code == line.shift and (line.skill is None or line.skill in skills.get(emp, ())))
        lines[(line.shift, line.skill)][line.day] = CoverageCell(assigned, line.minimum, line.preferred)
    for (code, skill), by_day in sorted(lines.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        kind = built.shift_types.get(code)
        coverage.append({"label": f"{kind.name if kind else code}{' · ' + skill if skill else ''}",
                         "cells": [by_day.get(i) for i in range(len(dates))]})
    report = check(built.problem, current_assignment(period)) if roster else None
    return Grid(period=period, days=days, rows=rows, coverage=coverage, shift_types=list(built.shift_types.values()),
                violations=list(report.hard_violations) if report else [], objective=report.objective if report else 0,
                cost_by_rule=dict(report.cost_by_rule) if report else {}, built=built)


def latest_run(*, period: RosterPeriod) -> SolveRun | None:
    return period.solve_runs.order_by("-created_at", "-id").first()


def my_staff_member(*, user: User) -> StaffMember | None:
    return StaffMember.objects.filter(user=user, organization_id=user.organization_id).first()


def my_shifts(*, user: User, start: date, end: date) -> list[RosterAssignment]:
    """The user's own published shifts between two dates."""
    return list(RosterAssignment.objects.filter(staff__user=user, staff__organization_id=user.organization_id,
                                                period__status=PeriodStatus.PUBLISHED, shift_type__isnull=False,
                                                day__gte=start, day__lte=end)
                .select_related("shift_type", "period", "period__location").order_by("day"))


def time_off_for(*, user: User, mine_only: bool) -> QuerySet[TimeOffRequest]:
    rows = TimeOffRequest.objects.filter(organization_id=user.organization_id).select_related("staff", "decided_by")
    if mine_only:
        rows = rows.filter(staff__user=user)
    return rows.order_by("status", "start", "id")


def changes_for(*, user: User, mine_only: bool) -> QuerySet[ShiftChangeRequest]:
    rows = ShiftChangeRequest.objects.filter(organization_id=user.organization_id).select_related(
        "requester", "colleague", "period", "decided_by")
    if mine_only:
        rows = rows.filter(Q(requester__user=user) | Q(colleague__user=user))
    return rows


def pending_counts(*, user: User) -> dict[str, int]:
    return {
        "time_off": TimeOffRequest.objects.filter(organization_id=user.organization_id, status=RequestStatus.PENDING).count(),
        "changes": ShiftChangeRequest.objects.filter(organization_id=user.organization_id, status=ChangeStatus.ACCEPTED).count(),
    }


def _split_hours(start: datetime, end: datetime, holidays: set[date]) -> tuple[int, int, int]:
    """Minutes of a shift that fall at night (23:00-07:00), on a weekend day and on a holiday."""
    night = weekend = holiday = 0
    moment = start
    while moment < end:
        step = int(min(STEP, end - moment).total_seconds() // 60)
        clock = moment.time()
        if clock >= NIGHT_START or clock < NIGHT_END:
            night += step
        if moment.weekday() >= 5:
            weekend += step
        if moment.date() in holidays:
            holiday += step
        moment += STEP
    return night, weekend, holiday


def hours_export_rows(*, user: User, period: RosterPeriod) -> list[list]:
    """Per person for payroll: shifts, hours, night hours, weekend hours and holiday hours (as clock time falls)."""
    if period.organization_id != user.organization_id:
        raise Http404("No such roster.")
    holidays = {period.start + timedelta(days=i) for i in holiday_days(period)}
    totals: dict[int, list] = {}
    for row in (RosterAssignment.objects.filter(period=period, shift_type__isnull=False)
                .select_related("shift_type", "staff").order_by("staff__last_name", "staff__first_name", "staff_id", "day")):
        start, end = row.shift_type.span_on(row.day)
        night, weekend, holiday = _split_hours(start, end, holidays)
        entry = totals.setdefault(row.staff_id, [row.staff, 0, 0, 0, 0, 0])
        entry[1] += 1
        entry[2] += row.shift_type.length_minutes
        entry[3] += night
        entry[4] += weekend
        entry[5] += holiday
    return [
        [staff.pk, staff.full_name, f"{period.start:%Y-%m-%d}", f"{period.end:%Y-%m-%d}", shifts,
         *(_hours(m) for m in (total, night, weekend, holiday))]
        for staff, shifts, total, night, weekend, holiday in totals.values()
    ]


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.01"))

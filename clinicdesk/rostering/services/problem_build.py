"""The practice's roster data as a `RosterProblem`: the one place where periods, shift types, coverage needs,
contracts, time off, preferences and locks become the plain data the solver and the checker read."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays as holiday_calendars
from django.db.models import Q

from clinicdesk.staff.choices import StaffStatus
from clinicdesk.staff.models import StaffMember

from ..choices import PeriodStatus, RequestStatus
from ..models import (
    Contract,
    CoverageNeed,
    RosterAssignment,
    RosterPeriod,
    ShiftPreference,
    ShiftType,
    TimeOffRequest,
    Unavailability,
)
from ..solver.problem import Assignment, Cover, EdgeRule, Employee, Fairness, RosterProblem
from ..solver.problem import ShiftRequest as SolverRequest
from ..solver.problem import ShiftType as SolverShiftType

HISTORY_DAYS = 7
PENDING_TIME_OFF_WEIGHT = 20  # a request not yet decided is still a wish the solver should try to keep
DEFAULT_CONTRACT = Contract(min_hours_per_week=0, max_hours_per_week=40, max_consecutive_shifts=5,
                            min_consecutive_shifts=1, min_consecutive_days_off=1, min_rest_hours=11)


@dataclass
class BuiltProblem:
    """A problem with the way back: which staff member, shift type and date each solver id stands for."""

    problem: RosterProblem
    period: RosterPeriod
    staff: dict[str, StaffMember]
    shift_types: dict[str, ShiftType]
    dates: list[date]
    min_rest_hours: int = 11
    notes: list[str] = field(default_factory=list)

    def day_index(self, day: date) -> int:
        return (day - self.period.start).days

    def employee_id(self, staff_id: int) -> str:
        return str(staff_id)

    def say(self, message: str) -> str:
        """A solver or checker message in the office's words: people by name, days as dates, minutes as hours."""

        def person(match: re.Match) -> str:
            member = self.staff.get(match.group(0))
            return member.full_name if member else match.group(0)

        def day(match: re.Match) -> str:
            index = int(match.group(1))
            return f"{self.dates[index]:%a %Y-%m-%d}" if 0 <= index < len(self.dates) else match.group(0)

        def hours(match: re.Match) -> str:
            return f"{int(match.group(1)) / 60:g} h, {match.group(2)} than the {match.group(3)} {int(match.group(4)) / 60:g} h"

        message = re.sub(r"^\d+(?=\b)|(?<=employee )\d+|(?<=but )\d+(?= is)|\d+(?='s)", person, message)
        message = re.sub(r"(\d+) minutes, (more|fewer) than the (maximum|minimum) (\d+)", hours, message)
        return re.sub(r"\bday (-?\d+)\b", day, message)


def roster_staff(period: RosterPeriod) -> list[StaffMember]:
    """The people a roster is for: the department's staff who work during the period."""
    return list(
        StaffMember.objects.filter(organization_id=period.organization_id, department_id=period.department_id,
                                   status__in=[StaffStatus.ACTIVE, StaffStatus.ONBOARDING])
        .exclude(end_date__lt=period.start)
        .prefetch_related("skills")
        .select_related("roster_contract", "user")
        .order_by("last_name", "first_name", "id")
    )


def period_shift_types(period: RosterPeriod) -> list[ShiftType]:
    return list(ShiftType.objects.filter(department_id=period.department_id, is_active=True)
                .prefetch_related("skills").order_by("start_time", "code"))


def rest_minutes(first: ShiftType, then: ShiftType) -> int:
    """Minutes between the end of `first` on one day and the start of `then` the next day."""
    return (then.start_minute + 24 * 60) - (first.start_minute + first.length_minutes)


def forbidden_successions(shift_types: list[ShiftType], min_rest_hours: int) -> dict[str, frozenset[str]]:
    """For each shift, the shifts that may not follow it next day because the rest between them is too short
    (a night 23:00-07:00 then a day at 07:00 leaves 0 h)."""
    return {
        first.code: frozenset(then.code for then in shift_types if rest_minutes(first, then) < min_rest_hours * 60)
        for first in shift_types
    }


def _scaled(per_four_weeks: int | None, days: int) -> int | None:
    return None if per_four_weeks is None else math.ceil(per_four_weeks * days / 28)


def _employee(member: StaffMember, contract: Contract, shift_types: list[ShiftType], days: int,
              history: tuple[str | None, ...]) -> Employee:
    skills = frozenset(skill.code for skill in member.skills.all())
    by_type = {}
    for kind in shift_types:
        required = {skill.code for skill in kind.skills.all()}
        if not required <= skills:
            by_type[kind.code] = 0
        elif kind.code in (contract.max_shifts_by_type or {}):
            by_type[kind.code] = _scaled(int(contract.max_shifts_by_type[kind.code]), days)
    weeks = days / 7
    return Employee(
        id=str(member.pk), skills=skills, max_shifts_by_type=by_type,
        min_minutes=int(float(contract.min_hours_per_week) * 60 * weeks),
        max_minutes=int(float(contract.max_hours_per_week) * 60 * weeks),
        max_consecutive_shifts=contract.max_consecutive_shifts,
        min_consecutive_shifts=contract.min_consecutive_shifts,
        min_consecutive_days_off=contract.min_consecutive_days_off,
        max_weekends=_scaled(contract.max_weekends, days),
        history=history,
    )


def _cover_lines(period: RosterPeriod, dates: list[date], codes: set[str]) -> list[Cover]:
    needs = list(
        CoverageNeed.objects.filter(department_id=period.department_id, shift_type__is_active=True)
        .filter(models_location_q(period)).select_related("shift_type", "skill")
    )
    lines = []
    for index, day in enumerate(dates):
        chosen: dict[tuple[str, str | None], CoverageNeed] = {}
        for need in needs:
            if need.shift_type.code not in codes or not need.applies_on(day):
                continue
            key = (need.shift_type.code, need.skill.code if need.skill else None)
            current = chosen.get(key)
            # a need for a date beats a weekday rule, which beats an every-day rule
            if current is None or _specificity(need) > _specificity(current):
                chosen[key] = need
        for (code, skill), need in sorted(chosen.items(), key=lambda item: (item[0][0], item[0][1] or "")):
            if need.preferred or need.minimum:
                lines.append(Cover(day=index, shift=code, preferred=need.preferred, minimum=need.minimum, skill=skill,
                                   weight_under=100, weight_over=5))
    return lines


def models_location_q(period: RosterPeriod) -> Q:
    return Q(location__isnull=True) | Q(location_id=period.location_id)


def _specificity(need: CoverageNeed) -> int:
    return 2 if need.on_date else (1 if need.weekday is not None else 0)


def _history(period: RosterPeriod, staff_ids: list[int]) -> dict[int, tuple[str | None, ...]] | None:
    """The last days of the previous published roster, per person, oldest first; None when there is none."""
    first = period.start - timedelta(days=HISTORY_DAYS)
    previous = (RosterPeriod.objects.filter(department_id=period.department_id, status=PeriodStatus.PUBLISHED,
                                            start__lt=period.start, end__gte=first)
                .exclude(pk=period.pk).order_by("-end").first())
    if previous is None:
        return None
    worked = {
        (row["staff_id"], row["day"]): row["shift_type__code"]
        for row in RosterAssignment.objects.filter(period=previous, day__gte=first, day__lt=period.start,
                                                   shift_type__isnull=False)
        .values("staff_id", "day", "shift_type__code")
    }
    days = [first + timedelta(days=n) for n in range(HISTORY_DAYS)]
    return {staff_id: tuple(worked.get((staff_id, d)) for d in days) for staff_id in staff_ids}


def holiday_days(period: RosterPeriod) -> frozenset[int]:
    state = (period.location.state or "").upper() or None
    try:
        calendar = holiday_calendars.country_holidays("US", subdiv=state, years={period.start.year, period.end.year})
    except NotImplementedError:
        calendar = holiday_calendars.country_holidays("US", years={period.start.year, period.end.year})
    return frozenset(i for i, d in enumerate(period.dates()) if d in calendar)


def problem_build(*, period: RosterPeriod, keep_locks: bool = True) -> BuiltProblem:
    """Everything the solver needs for `period`, read in a fixed number of queries."""
    dates = period.dates()
    days = len(dates)
    shift_types = period_shift_types(period)
    members = roster_staff(period)
    staff_ids = [m.pk for m in members]
    contracts = {m.pk: _contract_of(m) for m in members}
    min_rest = max((c.min_rest_hours for c in contracts.values()), default=11)
    successions = forbidden_successions(shift_types, min_rest)
    solver_types = [
        SolverShiftType(id=kind.code, length_minutes=kind.length_minutes, start_minute=kind.start_minute,
                        forbidden_next=successions[kind.code], is_night=kind.is_night)
        for kind in shift_types
    ]
    history = _history(period, staff_ids)
    employees = [
        _employee(m, contracts[m.pk], shift_types, days, history.get(m.pk, ()) if history else ())
        for m in members
    ]
    days_off: set[tuple[str, int]] = set()
    for start, end, staff_id in (
        list(TimeOffRequest.objects.filter(staff_id__in=staff_ids, status=RequestStatus.APPROVED, start__lte=period.end,
                                           end__gte=period.start).values_list("start", "end", "staff_id"))
        + list(Unavailability.objects.filter(staff_id__in=staff_ids, start__lte=period.end, end__gte=period.start)
               .values_list("start", "end", "staff_id"))
    ):
        for n in range(max(0, (start - period.start).days), min(days - 1, (end - period.start).days) + 1):
            days_off.add((str(staff_id), n))
    requests = [
        SolverRequest(employee=str(p.staff_id), day=(p.on_date - period.start).days,
                      shift=p.shift_type.code if p.shift_type_id else None, weight=p.weight, on=p.wants)
        for p in ShiftPreference.objects.filter(staff_id__in=staff_ids, on_date__gte=period.start, on_date__lte=period.end)
        .select_related("shift_type")
        if p.shift_type_id is None or p.shift_type.code in successions
    ]
    for start, end, staff_id in TimeOffRequest.objects.filter(
        staff_id__in=staff_ids, status=RequestStatus.PENDING, start__lte=period.end, end__gte=period.start
    ).values_list("start", "end", "staff_id"):
        for n in range(max(0, (start - period.start).days), min(days - 1, (end - period.start).days) + 1):
            requests.append(SolverRequest(employee=str(staff_id), day=n, shift=None, weight=PENDING_TIME_OFF_WEIGHT, on=False))
    locks = {}
    if keep_locks:
        for row in RosterAssignment.objects.filter(period=period, locked=True, staff_id__in=staff_ids).values(
            "staff_id", "day", "shift_type__code"
        ):
            locks[(str(row["staff_id"]), (row["day"] - period.start).days)] = row["shift_type__code"]
    problem = RosterProblem(
        days=days, shift_types=solver_types, employees=employees,
        cover=_cover_lines(period, dates, set(successions)), requests=requests, days_off=days_off, locks=locks,
        fairness=Fairness(night_weight=period.night_weight, weekend_weight=period.weekend_weight,
                          holiday_weight=period.holiday_weight, holidays=holiday_days(period)),
        start=period.start, edge_rule=EdgeRule.HISTORY if history else EdgeRule.LENIENT, name=str(period),
    )
    return BuiltProblem(problem=problem, period=period, staff={str(m.pk): m for m in members},
                        shift_types={k.code: k for k in shift_types}, dates=dates, min_rest_hours=min_rest)


def _contract_of(member: StaffMember) -> Contract:
    try:
        return member.roster_contract
    except Contract.DoesNotExist:
        return DEFAULT_CONTRACT


def current_assignment(period: RosterPeriod) -> Assignment:
    """The roster as the solver and the checker see it: (person, day index) -> shift code."""
    return {
        (str(row["staff_id"]), (row["day"] - period.start).days): row["shift_type__code"]
        for row in RosterAssignment.objects.filter(period=period, shift_type__isnull=False)
        .values("staff_id", "day", "shift_type__code")
    }

"""Test data for rosters: a small nursing unit (shift types, skills, cover, contracts) built in a few lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory, UserFactory
from clinicdesk.staff.tests.factories import SkillFactory, StaffMemberFactory

from ..choices import ChangeKind, PeriodStatus
from ..models import (
    Contract,
    CoverageNeed,
    RosterAssignment,
    RosterPeriod,
    ShiftChangeRequest,
    ShiftType,
    SolveRun,
    TimeOffRequest,
)


@dataclass
class Unit:
    org: object
    department: object
    location: object
    shifts: dict[str, ShiftType]
    rn: object
    charge: object
    nurses: list = field(default_factory=list)


def make_unit(org, *, nurses: int = 6, charge: int = 2, minimum: int = 1, preferred: int = 1, cover: bool = True,
              max_hours: int = 60) -> Unit:
    """A 24/7 unit: Day 07-15, Evening 15-23, Night 23-07; every nurse holds rn, the first `charge` also charge."""
    department = DepartmentFactory(organization=org, name="Nursing")
    location = LocationFactory(organization=org, time_zone="America/New_York", state="NY")
    shifts = {}
    for code, name, start, night in (("D", "Day", time(7), False), ("E", "Evening", time(15), False),
                                     ("N", "Night", time(23), True)):
        shifts[code] = ShiftType.objects.create(organization=org, department=department, code=code, name=name,
                                                start_time=start, length_minutes=480, is_night=night)
    rn = SkillFactory(organization=org, code=f"rn-{department.pk}", name="Registered nurse")
    charge_skill = SkillFactory(organization=org, code=f"charge-{department.pk}", name="Charge nurse")
    unit = Unit(org=org, department=department, location=location, shifts=shifts, rn=rn, charge=charge_skill)
    for n in range(nurses):
        member = StaffMemberFactory(organization=org, department=department, first_name=f"Nurse{n}", last_name=f"Unit{n:02d}",
                                    email=f"nurse{n}.{org.pk}@example.com", fte=Decimal("1.00"))
        member.skills.set([rn, charge_skill] if n < charge else [rn])
        Contract.objects.create(organization=org, staff=member, max_hours_per_week=max_hours, min_hours_per_week=0,
                                max_consecutive_shifts=6, min_rest_hours=11)
        unit.nurses.append(member)
    if cover:
        for kind in shifts.values():
            CoverageNeed.objects.create(organization=org, department=department, shift_type=kind, skill=None,
                                        minimum=minimum, preferred=preferred)
    return unit


def make_period(unit: Unit, *, start: date = date(2027, 3, 1), days: int = 7, status: str = PeriodStatus.DRAFT,
                name: str = "Nursing March") -> RosterPeriod:
    return RosterPeriod.objects.create(organization=unit.org, department=unit.department, location=unit.location, name=name,
                                       start=start, end=start + timedelta(days=days - 1), status=status)


def fill(period: RosterPeriod, rows: dict[tuple[int, int], str]) -> None:
    """Cells by (nurse index, day index) -> shift code, for the unit's nurses in order."""
    nurses = sorted(period.department.staff_members.all(), key=lambda m: (m.last_name, m.pk))
    kinds = {k.code: k for k in ShiftType.objects.filter(department=period.department)}
    RosterAssignment.objects.bulk_create([
        RosterAssignment(period=period, staff=nurses[i], day=period.start + timedelta(days=d), shift_type=kinds[code])
        for (i, d), code in rows.items()
    ])


def rotation(nurses: int, days: int) -> dict[tuple[int, int], str]:
    """A valid roster for a unit of `nurses` (at least 6): every shift covered once a day, rest rules kept."""
    cycle = ["D", "E", "N", None, None, None]  # forward rotation: 24 h or more between shifts
    rows = {}
    for i in range(nurses):
        for d in range(days):
            code = cycle[(d + i) % len(cycle)] if i < 6 else None
            if code:
                rows[(i, d)] = code
    return rows


def security_rosters(practice) -> dict:
    """For the permission matrix: a draft roster with a solver run, a time-off request, a swap, a shift type and a
    coverage need, once per practice."""
    made = getattr(practice, "_rostering", None)
    if made is not None:
        return made
    org = practice.org
    unit = make_unit(org, nurses=6)
    period = make_period(unit)
    run = SolveRun.objects.create(period=period, time_limit_seconds=5, status="done", result_status="feasible")
    published = make_period(unit, start=date(2027, 4, 1), status=PeriodStatus.PUBLISHED, name="Nursing April")
    fill(published, rotation(6, 7))
    time_off = TimeOffRequest.objects.create(organization=org, staff=unit.nurses[0], start=date(2027, 3, 3),
                                             end=date(2027, 3, 4))
    day = published.start
    giver = published.assignments.filter(day=day).first()
    colleague = next(n for n in unit.nurses if n.pk != giver.staff_id)
    change = ShiftChangeRequest.objects.create(organization=org, period=published, kind=ChangeKind.GIVEAWAY,
                                               requester=giver.staff, day=day, colleague=colleague)
    made = {"period_id": period.pk, "run_id": run.pk, "request_id": time_off.pk, "change_id": change.pk,
            "shift_type_id": unit.shifts["D"].pk,
            "need_id": CoverageNeed.objects.filter(department=unit.department).values_list("pk", flat=True).first()}
    practice._rostering = made
    return made


def manager(org, username: str = "priya-test"):
    return UserFactory(organization=org, role=Role.OFFICE_MANAGER, username=username)

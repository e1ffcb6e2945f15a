"""The demo practice's roster: the 24/7 nursing unit's Day, Evening and Night shifts, its cover with RN and charge
nurses, contracts by FTE, 23 time-off requests and some wishes for next month, this month's roster solved and
published, next month's in draft. Idempotent; the solve is short (10 s) so `make run` stays quick."""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.staff.models import Skill, StaffMember

from .choices import PeriodStatus, RequestStatus
from .models import Contract, CoverageNeed, RosterPeriod, ShiftPreference, ShiftType, TimeOffRequest
from .services.rosters import period_create, period_publish
from .services.solving import solve_run_execute, solve_run_start

DEMO_SOLVE_SECONDS = 10
TIME_OFF_REQUESTS = 23
SHIFTS = [("D", "Day", time(7, 0), False), ("E", "Evening", time(15, 0), False), ("N", "Night", time(23, 0), True)]
# shift code -> (RN minimum, RN preferred, charge minimum); a charge nurse is wanted on every shift, required at night
COVER = {"D": (5, 6, 0), "E": (4, 5, 0), "N": (3, 4, 1)}
REASONS = ["Vacation", "Family event", "Course", "Wedding", "Medical appointment", "Moving house"]


def _month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _setup(ctx, dept, rng: random.Random) -> int:
    org = ctx.organization
    added = 0
    kinds = {}
    for code, name, start, night in SHIFTS:
        kinds[code], created = ShiftType.objects.get_or_create(
            department=dept, code=code,
            defaults={"organization": org, "name": name, "start_time": start, "length_minutes": 480, "is_night": night})
        added += created
    rn = Skill.objects.filter(organization=org, code="rn").first()
    charge = Skill.objects.filter(organization=org, code="charge").first()
    if not CoverageNeed.objects.filter(department=dept).exists():
        needs = []
        for code, (minimum, preferred, charge_min) in COVER.items():
            needs.append(CoverageNeed(organization=org, department=dept, shift_type=kinds[code], skill=rn,
                                      minimum=minimum, preferred=preferred))
            if charge is not None:
                needs.append(CoverageNeed(organization=org, department=dept, shift_type=kinds[code], skill=charge,
                                          minimum=charge_min, preferred=1))
        CoverageNeed.objects.bulk_create(needs)
        added += len(needs)
    nurses = list(StaffMember.objects.filter(organization=org, department=dept).prefetch_related("skills").order_by("pk"))
    have = set(Contract.objects.filter(staff__in=nurses).values_list("staff_id", flat=True))
    contracts = []
    for n, nurse in enumerate(nurses):
        if nurse.pk in have:
            continue
        is_charge = any(skill.code == "charge" for skill in nurse.skills.all())
        weekly = (Decimal(40) * nurse.fte).quantize(Decimal("1"))
        contracts.append(Contract(
            organization=org, staff=nurse, max_hours_per_week=weekly,
            min_hours_per_week=(weekly * Decimal("0.6")).quantize(Decimal("1")),
            max_shifts_by_type={"N": 0} if n % 9 == 4 and not is_charge else {"N": 12}, max_consecutive_shifts=5, min_consecutive_shifts=1,
            min_consecutive_days_off=1, min_rest_hours=11, max_weekends=3,
        ))
    Contract.objects.bulk_create(contracts)
    return added + len(contracts)


def _requests(org, nurses: list[StaffMember], kinds: dict[str, ShiftType], start: date, end: date,
              rng: random.Random) -> int:
    if TimeOffRequest.objects.filter(staff__in=nurses, start__gte=start, start__lte=end).exists():
        return 0
    days = (end - start).days + 1
    rows = []
    for n, nurse in enumerate(rng.sample(nurses, k=TIME_OFF_REQUESTS)):
        first = start + timedelta(days=rng.randrange(days - 4))
        decided = n < 16
        rows.append(TimeOffRequest(organization=org, staff=nurse, start=first, end=first + timedelta(days=rng.randrange(1, 4)),
                                   reason=rng.choice(REASONS),
                                   status=RequestStatus.APPROVED if decided else RequestStatus.PENDING,
                                   decided_at=timezone.now() if decided else None))
    TimeOffRequest.objects.bulk_create(rows)
    wishes = []
    for nurse in rng.sample(nurses, k=12):
        day = start + timedelta(days=rng.randrange(days))
        if rng.random() < 0.5:
            wishes.append(ShiftPreference(organization=org, staff=nurse, on_date=day, shift_type=kinds["D"], wants=True, weight=5))
        else:
            wishes.append(ShiftPreference(organization=org, staff=nurse, on_date=day, shift_type=None, wants=False, weight=8))
    ShiftPreference.objects.bulk_create(wishes)
    return len(rows) + len(wishes)


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add the roster to the demo practice; a second run adds nothing."""
    return build(ctx, seed=seed, solve_seconds=DEMO_SOLVE_SECONDS, stdout=stdout)


def build(ctx, *, seed: int, solve_seconds: int | None, stdout=None) -> int:
    """The unit, its requests and the two months' rosters; with `solve_seconds` None nothing is solved or published."""
    dept = ctx.departments.get("nursing")
    manager = ctx.users.get("priya")
    if dept is None or manager is None or not StaffMember.objects.filter(department=dept).exists():
        return 0
    rng = random.Random(seed * 31 + 9)  # noqa: S311  (demo data, not secrets)
    today = timezone.localdate()
    this_start, this_end = _month_bounds(today)
    next_start, next_end = _month_bounds(this_end + timedelta(days=1))
    with transaction.atomic():
        added = _setup(ctx, dept, rng)
        nurses = list(StaffMember.objects.filter(organization=ctx.organization, department=dept).order_by("pk"))
        kinds = {k.code: k for k in ShiftType.objects.filter(department=dept)}
        added += _requests(ctx.organization, nurses, kinds, next_start, next_end, rng)
    location = ctx.locations[0]
    for start, end, publish in ((this_start, this_end, True), (next_start, next_end, False)):
        if RosterPeriod.objects.filter(department=dept, start=start).exists():
            continue
        period = period_create(actor=manager, department=dept, location=location, name=f"Nursing {start:%B %Y}",
                               start=start, end=end)
        added += 1
        if not publish or solve_seconds is None:
            continue
        try:
            run = solve_run_start(actor=manager, period=period, time_limit_seconds=solve_seconds, run_now=True)
            solve_run_execute(run_id=run.pk, live=False)
            period_publish(actor=manager, period=period)
        except ValidationError as exc:
            if stdout is not None:
                stdout.write(f"Roster {period} left in draft: {'; '.join(exc.messages)[:300]}")
    if stdout is not None:
        published = RosterPeriod.objects.filter(department=dept, status=PeriodStatus.PUBLISHED).count()
        stdout.write(f"Rosters: {published} published for Nursing; next month in draft with {TIME_OFF_REQUESTS} time-off requests.")
    return added

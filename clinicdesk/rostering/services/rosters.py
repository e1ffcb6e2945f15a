"""Roster periods and their cells: create a period, edit and lock cells (checked live against the rules),
publish (a frozen snapshot, and everyone is told), and start a new version of a published roster."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Department, Location, User
from clinicdesk.staff.models import StaffMember

from ..checker import check
from ..choices import PeriodStatus
from ..models import RosterAssignment, RosterPeriod, ShiftType
from ..signals import roster_published
from .feeds import feed_url, feeds_for
from .problem_build import BuiltProblem, current_assignment, problem_build
from .solving import solve_runs_reap


@transaction.atomic
def period_create(*, actor: User, department: Department, location: Location, name: str, start: date, end: date,
                  night_weight: int = 10, weekend_weight: int = 10, holiday_weight: int = 10) -> RosterPeriod:
    """A new draft roster for a department and a run of dates."""
    for obj, field_name in ((department, "department"), (location, "location")):
        if obj.organization_id != actor.organization_id:
            raise ValidationError({field_name: f"No such {field_name}."})
    version = (RosterPeriod.objects.filter(department=department, start=start).order_by("-version")
               .values_list("version", flat=True).first() or 0) + 1
    period = RosterPeriod(organization_id=actor.organization_id, department=department, location=location, name=name,
                          start=start, end=end, version=version, night_weight=night_weight,
                          weekend_weight=weekend_weight, holiday_weight=holiday_weight)
    period.full_clean()
    period.save()
    audit_event(action="roster.created", actor=actor, target=period, organization_id=period.organization_id,
                summary=f"Roster {period} created ({start} to {end})")
    return period


@dataclass
class CellCheck:
    """What an edit would do: the rules it breaks (then it is refused), the change in cost, and warnings."""

    violations: list[str] = field(default_factory=list)
    cost_before: int = 0
    cost_after: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def cost_change(self) -> int:
        return self.cost_after - self.cost_before



def _new_violations(built: BuiltProblem, before: dict, after: dict) -> tuple[list[str], int, int]:
    """Hard rules broken by `after` that `before` did not break, and both costs."""
    old, new = check(built.problem, before), check(built.problem, after)
    added = [v for v in new.hard_violations if v not in set(old.hard_violations)]
    return [built.say(v) for v in added], old.objective, new.objective


def lapse_warnings(*, period: RosterPeriod, staff_ids: list[int], start: date, end: date) -> dict[int, list[str]]:
    """Lapsed or lapsing credentials of people on the roster (staff's own rule of what is required)."""
    from clinicdesk.staff.selectors import credential_lapses

    if not staff_ids:
        return {}
    return credential_lapses(organization=period.organization, staff_ids=staff_ids, start=start, end=end)


def _editable(period: RosterPeriod) -> None:
    if not period.is_editable:
        raise ValidationError({"period": f"{period} is {period.get_status_display().lower()}: changes need a new "
                                         "version or an approved swap."})


@transaction.atomic
def assignment_set(*, actor: User, period: RosterPeriod, staff: StaffMember, day: date,
                   shift_type: ShiftType | None, dry_run: bool = False) -> CellCheck:
    """Put a person on a shift (or off) on a day. Refused, with the rules it would break, when the change breaks a
    hard rule the roster kept before; the soft cost change and lapsed credentials come back as information."""
    _editable(period)
    if staff.organization_id != period.organization_id or staff.department_id != period.department_id:
        raise ValidationError({"staff": f"{staff} is not on the {period.department} roster."})
    if not period.start <= day <= period.end:
        raise ValidationError({"day": f"{day} is outside {period} ({period.start} to {period.end})."})
    if shift_type is not None and shift_type.department_id != period.department_id:
        raise ValidationError({"shift_type": "No such shift for this department."})
    cell = RosterAssignment.objects.select_for_update().filter(period=period, staff=staff, day=day).first()
    if cell is not None and cell.locked:
        raise ValidationError({"day": f"{staff} on {day:%a %Y-%m-%d} is locked; unlock the cell first."})
    built = problem_build(period=period)
    before = current_assignment(period)
    after = dict(before)
    key = (str(staff.pk), built.day_index(day))
    after.pop(key, None)
    if shift_type is not None:
        after[key] = shift_type.code
    violations, cost_before, cost_after = _new_violations(built, before, after)
    result = CellCheck(violations=violations, cost_before=cost_before, cost_after=cost_after)
    if shift_type is not None:
        result.warnings = lapse_warnings(period=period, staff_ids=[staff.pk], start=day, end=day).get(staff.pk, [])
    if violations:
        raise ValidationError({"day": [f"{staff} on {day:%a %Y-%m-%d}: {v}" for v in violations]})
    if dry_run:
        return result
    if shift_type is None:
        if cell is not None:
            cell.delete()
    elif cell is None:
        RosterAssignment.objects.create(period=period, staff=staff, day=day, shift_type=shift_type)
    else:
        cell.shift_type = shift_type
        cell.save(update_fields=["shift_type", "updated_at"])
    audit_event(action="roster.cell_changed", actor=actor, target=period, organization_id=period.organization_id,
                summary=f"{staff} on {day}: {shift_type.code if shift_type else 'off'} (cost {result.cost_change:+d})")
    return result


@transaction.atomic
def assignment_lock(*, actor: User, period: RosterPeriod, staff: StaffMember, day: date, locked: bool) -> RosterAssignment | None:
    """Lock a cell (the shift, or the day off) so re-solving keeps it; unlocking an empty day drops the row."""
    _editable(period)
    if staff.organization_id != period.organization_id or staff.department_id != period.department_id:
        raise ValidationError({"staff": f"{staff} is not on the {period.department} roster."})
    if not period.start <= day <= period.end:
        raise ValidationError({"day": f"{day} is outside {period}."})
    cell = RosterAssignment.objects.select_for_update().filter(period=period, staff=staff, day=day).first()
    if cell is None and locked:
        cell = RosterAssignment.objects.create(period=period, staff=staff, day=day, shift_type=None, locked=True)
    elif cell is not None:
        if not locked and cell.shift_type_id is None:
            cell.delete()
            cell = None
        else:
            cell.locked = locked
            cell.save(update_fields=["locked", "updated_at"])
    audit_event(action="roster.cell_locked" if locked else "roster.cell_unlocked", actor=actor, target=period,
                organization_id=period.organization_id, summary=f"{staff} on {day} {'locked' if locked else 'unlocked'}")
    return cell


def snapshot_of(period: RosterPeriod) -> dict[str, dict[str, str]]:
    snapshot: dict[str, dict[str, str]] = {}
    for staff_id, day, code in RosterAssignment.objects.filter(period=period, shift_type__isnull=False).values_list(
        "staff_id", "day", "shift_type__code"
    ):
        snapshot.setdefault(str(staff_id), {})[day.isoformat()] = code
    return snapshot


@transaction.atomic
def period_publish(*, actor: User, period: RosterPeriod) -> RosterPeriod:
    """Publish a draft roster: refused with the broken rules when the roster breaks one; otherwise frozen as a
    snapshot, earlier versions superseded, and everyone on it told their shifts and their calendar link."""
    period = RosterPeriod.objects.select_for_update().get(pk=period.pk)
    _editable(period)
    solve_runs_reap(period=period)
    if period.solve_runs.filter(status__in=["queued", "running"]).exists():
        raise ValidationError({"period": "The solver is still working on this roster; wait for it or stop it."})
    built = problem_build(period=period)
    roster = current_assignment(period)
    if not roster:
        raise ValidationError({"period": "The roster is empty: solve it or fill it in before publishing."})
    report = check(built.problem, roster)
    if report.hard_violations:
        shown = [built.say(v) for v in report.hard_violations[:10]]
        more = len(report.hard_violations) - len(shown)
        raise ValidationError({"period": ["Not published: the roster breaks these rules."] + shown
                               + ([f"…and {more} more."] if more > 0 else [])})
    now = timezone.now()
    RosterPeriod.objects.filter(department=period.department, start=period.start, status=PeriodStatus.PUBLISHED).exclude(
        pk=period.pk).update(status=PeriodStatus.SUPERSEDED, updated_at=now)
    period.status = PeriodStatus.PUBLISHED
    period.published_at = now
    period.published_by = actor
    period.snapshot = snapshot_of(period)
    period.save(update_fields=["status", "published_at", "published_by", "snapshot", "updated_at"])
    audit_event(action="roster.published", actor=actor, target=period, organization_id=period.organization_id,
                summary=f"Roster {period} published: {len(roster)} shifts for {len(period.snapshot)} people")
    people = [built.staff[s] for s in period.snapshot if s in built.staff]
    feeds = feeds_for(staff=people)
    shifts: dict[int, list[tuple[date, str, str]]] = {}
    for row in RosterAssignment.objects.filter(period=period, shift_type__isnull=False).select_related("shift_type").order_by("day"):
        start, end = row.shift_type.span_on(row.day)
        shifts.setdefault(row.staff_id, []).append((row.day, row.shift_type.name, f"{start:%H:%M}-{end:%H:%M}"))
    feed_urls = {staff_id: feed_url(feed) for staff_id, feed in feeds.items()}
    transaction.on_commit(lambda: roster_published.send(sender=RosterPeriod, period=period, feed_urls=feed_urls,
                                                        shifts=shifts, actor=actor))
    return period


@transaction.atomic
def period_new_version(*, actor: User, period: RosterPeriod) -> RosterPeriod:
    """A draft copy of a published roster to change it (the published one stays as it is until the new one is)."""
    if period.status == PeriodStatus.DRAFT:
        raise ValidationError({"period": "This roster is still a draft: change it directly."})
    if RosterPeriod.objects.filter(department=period.department, start=period.start, status=PeriodStatus.DRAFT).exists():
        raise ValidationError({"period": "A draft version of this roster already exists."})
    copy = period_create(actor=actor, department=period.department, location=period.location, name=period.name,
                         start=period.start, end=period.end, night_weight=period.night_weight,
                         weekend_weight=period.weekend_weight, holiday_weight=period.holiday_weight)
    RosterAssignment.objects.bulk_create([
        RosterAssignment(period=copy, staff_id=row.staff_id, day=row.day, shift_type_id=row.shift_type_id, locked=row.locked)
        for row in period.assignments.all()
    ])
    return copy

"""Requests around the roster: time off (approved only if minimum cover can still be met), and give-aways and
swaps of published shifts (the colleague accepts, the manager approves once the rules still hold)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm
from clinicdesk.staff.models import StaffMember

from ..checker import check
from ..choices import ChangeKind, ChangeStatus, PeriodStatus, RequestStatus
from ..models import (
    CoverageNeed,
    RosterAssignment,
    RosterPeriod,
    ShiftChangeRequest,
    ShiftType,
    TimeOffRequest,
    Unavailability,
)
from .problem_build import current_assignment, problem_build, roster_staff


def _acts_for(actor: User, staff: StaffMember) -> bool:
    """A person acts for themselves; a roster manager acts for anyone in the practice."""
    if actor.organization_id != staff.organization_id:
        return False
    return staff.user_id == actor.pk or actor.has_perm_code(Perm.ROSTER_MANAGE)


@transaction.atomic
def time_off_request_create(*, actor: User, staff: StaffMember, start: date, end: date, reason: str = "") -> TimeOffRequest:
    """Ask for days off; a manager approves or refuses."""
    if not _acts_for(actor, staff):
        raise ValidationError({"staff": "You can ask for time off for yourself only."})
    request = TimeOffRequest(organization_id=staff.organization_id, staff=staff, start=start, end=end, reason=reason)
    request.full_clean()
    if TimeOffRequest.objects.filter(staff=staff, status__in=[RequestStatus.PENDING, RequestStatus.APPROVED],
                                     start__lte=end, end__gte=start).exists():
        raise ValidationError({"start": "These days overlap a time-off request already made."})
    request.save()
    audit_event(action="time_off.requested", actor=actor, target=request, organization_id=staff.organization_id,
                summary=f"{staff} asked for time off {start} to {end}")
    return request


def time_off_cover_problems(*, request: TimeOffRequest) -> list[str]:
    """The days and shifts whose minimum cover could no longer be met if `request` were approved.

    Counts, per day, the people of the department who could still work (holding the skills, not already off),
    against each shift's minimum and against the day's minimums together (one shift a day each).
    """
    staff = request.staff
    if staff.department_id is None:
        return []
    members = [m for m in roster_staff(RosterPeriod(organization_id=staff.organization_id, department_id=staff.department_id,
                                                    start=request.start, end=request.end)) if m.pk != staff.pk]
    off: dict[int, set[date]] = defaultdict(set)
    ranges = list(TimeOffRequest.objects.filter(staff__in=members, status=RequestStatus.APPROVED, start__lte=request.end,
                                                end__gte=request.start).values_list("staff_id", "start", "end"))
    ranges += list(Unavailability.objects.filter(staff__in=members, start__lte=request.end, end__gte=request.start)
                   .values_list("staff_id", "start", "end"))
    for staff_id, first, last in ranges:
        off[staff_id].update(d for d in request.days() if first <= d <= last)
    skills = {m.pk: {s.code for s in m.skills.all()} for m in members}
    needs = list(CoverageNeed.objects.filter(department_id=staff.department_id, shift_type__is_active=True, minimum__gt=0)
                 .select_related("shift_type", "skill").prefetch_related("shift_type__skills"))
    problems = []
    for day in request.days():
        present = [m.pk for m in members if day not in off[m.pk]]
        chosen: dict[tuple[int, int | None, int | None], CoverageNeed] = {}
        for need in needs:
            if need.applies_on(day):
                key = (need.shift_type_id, need.skill_id, need.location_id)
                current = chosen.get(key)
                if current is None or (need.on_date, need.weekday) > (current.on_date, current.weekday):
                    chosen[key] = need
        day_minimum: dict[int | None, int] = defaultdict(int)
        for need in sorted(chosen.values(), key=lambda n: (n.shift_type.start_time, n.skill_id or 0)):
            required = {s.code for s in need.shift_type.skills.all()} | ({need.skill.code} if need.skill else set())
            able = sum(1 for pk in present if required <= skills[pk])
            what = f"{need.shift_type.name} shift" + (f" ({need.skill.name})" if need.skill else "")
            if able < need.minimum:
                problems.append(f"{day:%a %Y-%m-%d} {what}: {able} could work, the minimum is {need.minimum}.")
            if need.skill is None:
                day_minimum[need.location_id] += need.minimum
        for total in day_minimum.values():
            if len(present) < total:
                problems.append(f"{day:%a %Y-%m-%d}: {len(present)} people could work, the day's shifts need {total}.")
    return problems


@transaction.atomic
def time_off_decide(*, actor: User, request: TimeOffRequest, approve: bool, note: str = "") -> TimeOffRequest:
    """Approve or refuse a pending request. Approval is refused, naming the day and shift, when it would leave a
    shift unable to reach its minimum cover."""
    request = TimeOffRequest.objects.select_for_update().select_related("staff").get(pk=request.pk)
    if request.organization_id != actor.organization_id:
        raise ValidationError({"request": "No such request."})
    if request.status != RequestStatus.PENDING:
        raise ValidationError({"request": f"This request is already {request.get_status_display().lower()}."})
    if approve:
        problems = time_off_cover_problems(request=request)
        if problems:
            raise ValidationError({"request": ["Cannot approve: minimum cover would be broken."] + problems})
        booked = RosterAssignment.objects.filter(staff=request.staff, day__gte=request.start, day__lte=request.end,
                                                 period__status=PeriodStatus.PUBLISHED, shift_type__isnull=False).first()
        if booked is not None:
            raise ValidationError({"request": f"{request.staff} is on the published roster on {booked.day:%a %Y-%m-%d}: "
                                              "arrange a give-away or a swap of that shift first."})
    _record_decision(request, RequestStatus.APPROVED if approve else RequestStatus.REFUSED, actor=actor, note=note)
    audit_event(action=f"time_off.{request.status}", actor=actor, target=request, organization_id=request.organization_id,
                summary=f"Time off of {request.staff} {request.start} to {request.end} {request.status}")
    return request


def _record_decision(row: TimeOffRequest | ShiftChangeRequest, status: str, *, actor: User, note: str) -> None:
    row.status = status
    row.decided_by = actor
    row.decided_at = timezone.now()
    row.decision_note = note[:300]
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])


def _shift_on(period: RosterPeriod, staff: StaffMember, day: date | None) -> RosterAssignment | None:
    if day is None:
        return None
    return RosterAssignment.objects.filter(period=period, staff=staff, day=day, shift_type__isnull=False).first()


@transaction.atomic
def change_offer(*, actor: User, period: RosterPeriod, requester: StaffMember, day: date, colleague: StaffMember,
                 kind: str, colleague_day: date | None = None, note: str = "") -> ShiftChangeRequest:
    """Offer my shift on `day` to a colleague (give-away) or ask to trade it for theirs on `colleague_day` (swap)."""
    if not _acts_for(actor, requester):
        raise ValidationError({"requester": "You can offer your own shifts only."})
    if period.status != PeriodStatus.PUBLISHED or period.organization_id != requester.organization_id:
        raise ValidationError({"period": "Shifts can be given away or swapped on a published roster only."})
    if colleague.pk == requester.pk or colleague.organization_id != requester.organization_id \
            or colleague.department_id != period.department_id:
        raise ValidationError({"colleague": "Choose a colleague on the same roster."})
    if kind not in ChangeKind.values:
        raise ValidationError({"kind": "Choose a give-away or a swap."})
    if _shift_on(period, requester, day) is None:
        raise ValidationError({"day": f"{requester} has no shift on {day:%a %Y-%m-%d} in {period}."})
    if _shift_on(period, colleague, day) is not None and not (kind == ChangeKind.SWAP and colleague_day == day):
        raise ValidationError({"colleague": f"{colleague} already works on {day:%a %Y-%m-%d}."})
    if kind == ChangeKind.SWAP:
        if colleague_day is None:
            raise ValidationError({"colleague_day": "Choose the colleague's shift you would take."})
        if _shift_on(period, colleague, colleague_day) is None:
            raise ValidationError({"colleague_day": f"{colleague} has no shift on {colleague_day:%a %Y-%m-%d}."})
        if colleague_day != day and _shift_on(period, requester, colleague_day) is not None:
            raise ValidationError({"colleague_day": f"{requester} already works on {colleague_day:%a %Y-%m-%d}."})
    else:
        colleague_day = None
    change = ShiftChangeRequest(organization_id=period.organization_id, period=period, kind=kind, requester=requester,
                                day=day, colleague=colleague, colleague_day=colleague_day, note=note[:200])
    change.full_clean()
    change.save()
    audit_event(action=f"roster_change.{kind}_offered", actor=actor, target=change, organization_id=change.organization_id,
                summary=f"{requester} offered {day} to {colleague} ({change.get_kind_display().lower()})")
    return change


def _locked_change(actor: User, change: ShiftChangeRequest) -> ShiftChangeRequest:
    change = ShiftChangeRequest.objects.select_for_update().select_related("period", "requester", "colleague").get(pk=change.pk)
    if change.organization_id != actor.organization_id:
        raise ValidationError({"request": "No such request."})
    return change


@transaction.atomic
def change_accept(*, actor: User, change: ShiftChangeRequest) -> ShiftChangeRequest:
    """The colleague agrees; the manager decides next."""
    change = _locked_change(actor, change)
    if not _acts_for(actor, change.colleague):
        raise ValidationError({"request": "Only the colleague asked can accept."})
    if change.status != ChangeStatus.OFFERED:
        raise ValidationError({"request": f"This request is {change.get_status_display().lower()}."})
    change.status = ChangeStatus.ACCEPTED
    change.save(update_fields=["status", "updated_at"])
    audit_event(action="roster_change.accepted", actor=actor, target=change, organization_id=change.organization_id,
                summary=f"{change.colleague} accepted the {change.get_kind_display().lower()} of {change.day}")
    return change


def _changed_roster(change: ShiftChangeRequest, roster: dict) -> dict:
    period = change.period
    mine = (str(change.requester_id), (change.day - period.start).days)
    after = dict(roster)
    shift = after.pop(mine)
    if change.kind == ChangeKind.GIVEAWAY:
        after[(str(change.colleague_id), mine[1])] = shift
    else:
        theirs = (str(change.colleague_id), (change.colleague_day - period.start).days)
        their_shift = after.pop(theirs)
        after[(str(change.colleague_id), mine[1])] = shift
        after[(str(change.requester_id), theirs[1])] = their_shift
    return after


@transaction.atomic
def change_decide(*, actor: User, change: ShiftChangeRequest, approve: bool, note: str = "") -> ShiftChangeRequest:
    """The manager approves (the roster is checked first: refused with the rule the change would break) or refuses."""
    change = _locked_change(actor, change)
    if change.status != ChangeStatus.ACCEPTED and approve:
        raise ValidationError({"request": "The colleague has not accepted yet."})
    if change.status not in (ChangeStatus.OFFERED, ChangeStatus.ACCEPTED):
        raise ValidationError({"request": f"This request is {change.get_status_display().lower()}."})
    period = change.period
    if approve:
        if period.status != PeriodStatus.PUBLISHED:
            raise ValidationError({"request": "The roster is no longer the published one."})
        roster = current_assignment(period)
        keys = [(str(change.requester_id), (change.day - period.start).days)]
        if change.kind == ChangeKind.SWAP:
            keys.append((str(change.colleague_id), (change.colleague_day - period.start).days))
        taken = [(str(change.colleague_id), keys[0][1])] if change.kind == ChangeKind.GIVEAWAY else []
        if change.kind == ChangeKind.SWAP and change.colleague_day != change.day:
            taken = [(str(change.colleague_id), keys[0][1]), (str(change.requester_id), keys[1][1])]
        if any(k not in roster for k in keys) or any(k in roster for k in taken):
            raise ValidationError({"request": "The shifts have changed since the request was made."})
        built = problem_build(period=period, keep_locks=False)
        after = _changed_roster(change, roster)
        old, new = check(built.problem, roster), check(built.problem, after)
        broken = [built.say(v) for v in new.hard_violations if v not in set(old.hard_violations)]
        if broken:
            raise ValidationError({"request": ["Cannot approve: the roster would break a rule."] + broken})
        _apply(change, after)
    _record_decision(change, ChangeStatus.APPROVED if approve else ChangeStatus.REFUSED, actor=actor, note=note)
    audit_event(action=f"roster_change.{change.status}", actor=actor, target=change, organization_id=change.organization_id,
                summary=f"{change.get_kind_display()} of {change.requester} on {change.day} with {change.colleague} {change.status}")
    return change


def _apply(change: ShiftChangeRequest, after: dict) -> None:
    period = change.period
    codes = {k.code: k for k in ShiftType.objects.filter(department_id=period.department_id)}
    touched = {(change.requester_id, change.day), (change.colleague_id, change.day)}
    if change.colleague_day:
        touched |= {(change.requester_id, change.colleague_day), (change.colleague_id, change.colleague_day)}
    for staff_id, day in touched:
        RosterAssignment.objects.filter(period=period, staff_id=staff_id, day=day).delete()
        code = after.get((str(staff_id), (day - period.start).days))
        if code:
            RosterAssignment.objects.create(period=period, staff_id=staff_id, day=day, shift_type=codes[code])
    # The published snapshot stays as it was; the approved change is the audit trail of the difference.
    RosterPeriod.objects.filter(pk=period.pk).update(updated_at=timezone.now())


@transaction.atomic
def change_cancel(*, actor: User, change: ShiftChangeRequest) -> ShiftChangeRequest:
    change = _locked_change(actor, change)
    if not _acts_for(actor, change.requester):
        raise ValidationError({"request": "Only the person who asked can withdraw it."})
    if change.status not in (ChangeStatus.OFFERED, ChangeStatus.ACCEPTED):
        raise ValidationError({"request": f"This request is {change.get_status_display().lower()}."})
    change.status = ChangeStatus.CANCELLED
    change.save(update_fields=["status", "updated_at"])
    audit_event(action="roster_change.cancelled", actor=actor, target=change, organization_id=change.organization_id,
                summary=f"{change.requester} withdrew the request for {change.day}")
    return change

"""The roster over REST: roster periods, their assignments (read and set one cell, checked like the grid), and
time-off and shift-change requests."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.permissions import Perm
from clinicdesk.staff.models import StaffMember

from . import selectors
from .models import RosterAssignment, RosterPeriod, ShiftType
from .services import requests as request_services
from .services import rosters as roster_services

router = Router(tags=["roster"])


class PeriodOut(Schema):
    id: str
    name: str
    department: str
    location: str
    start: dt.date
    end: dt.date
    version: int
    status: str
    published_at: dt.datetime | None


class GapOut(Schema):
    day: str
    shift: str
    skill: str
    needed: int
    possible: int
    reasons: list[str]


class RunOut(Schema):
    id: str
    status: str
    result_status: str
    time_limit_seconds: int
    seconds: float
    objective: int | None
    bound: int | None
    cost_by_rule: dict[str, int]
    gaps: list[GapOut]


class PeriodDetailOut(PeriodOut):
    latest_run: RunOut | None


class PeriodListOut(Schema):
    count: int
    items: list[PeriodOut]


class AssignmentOut(Schema):
    staff_id: str
    staff: str
    day: dt.date
    shift: str | None
    locked: bool


class AssignmentListOut(Schema):
    count: int
    items: list[AssignmentOut]


class CellIn(Strict):
    staff_id: str
    day: dt.date
    shift: str | None = None


class CellOut(Schema):
    cost_change: int
    cost: int
    warnings: list[str]


class TimeOffOut(Schema):
    id: str
    staff_id: str
    staff: str
    start: dt.date
    end: dt.date
    reason: str
    status: str


class ChangeOut(Schema):
    id: str
    kind: str
    period_id: str
    requester: str
    day: dt.date
    colleague: str
    colleague_day: dt.date | None
    status: str


class RequestsOut(Schema):
    time_off: list[TimeOffOut]
    changes: list[ChangeOut]


class TimeOffIn(Strict):
    start: dt.date
    end: dt.date
    reason: str = ""


def _period(p: RosterPeriod) -> dict:
    return {"id": str(p.pk), "name": p.name, "department": p.department.name, "location": p.location.name,
            "start": p.start, "end": p.end, "version": p.version, "status": p.status, "published_at": p.published_at}


def _pk(value: str, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: "Give the id as digits."}) from None


@router.get("/periods", response={200: PeriodListOut}, summary="List roster periods")
@api_requires(Perm.ROSTER_VIEW)
def list_periods(request: HttpRequest, limit: int = 50, offset: int = 0):
    if not 1 <= limit <= 200 or offset < 0:
        raise ValidationError({"limit": "Use a limit between 1 and 200 and an offset of 0 or more."})
    rows = selectors.periods_for(user=request.user)
    return {"count": rows.count(), "items": [_period(p) for p in rows[offset: offset + limit]]}


@router.get("/periods/{period_id}", response={200: PeriodDetailOut, 400: ErrorsOut, 404: DetailOut}, summary="One roster period")
@api_requires(Perm.ROSTER_VIEW)
def get_period(request: HttpRequest, period_id: str):
    period = selectors.period_get(user=request.user, period_id=_pk(period_id, "period_id"))
    run = selectors.latest_run(period=period)
    run_out = None if run is None else {
        "id": str(run.pk), "status": run.status, "result_status": run.result_status, "time_limit_seconds": run.time_limit_seconds,
        "seconds": run.seconds, "objective": run.objective, "bound": run.bound, "cost_by_rule": run.cost_by_rule or {},
        "gaps": [{k: g.get(k, "") for k in ("day", "shift", "skill", "needed", "possible", "reasons")} for g in run.gaps or []],
    }
    return {**_period(period), "latest_run": run_out}


@router.get("/periods/{period_id}/assignments", response={200: AssignmentListOut, 400: ErrorsOut, 404: DetailOut},
            summary="The shifts of a roster")
@api_requires(Perm.ROSTER_VIEW)
def list_assignments(request: HttpRequest, period_id: str):
    period = selectors.period_get(user=request.user, period_id=_pk(period_id, "period_id"))
    rows = list(RosterAssignment.objects.filter(period=period).select_related("staff", "shift_type").order_by("day", "staff_id"))
    audit_event(action="roster.listed", actor=request.user, target=period, organization_id=period.organization_id,
                channel=AuditChannel.API, summary=f"Roster {period} read through the API ({len(rows)} cells)")
    return {"count": len(rows), "items": [
        {"staff_id": str(a.staff_id), "staff": a.staff.full_name, "day": a.day,
         "shift": a.shift_type.code if a.shift_type_id else None, "locked": a.locked} for a in rows]}


@router.put("/periods/{period_id}/assignments", response={200: CellOut, 400: ErrorsOut, 404: DetailOut},
            summary="Set one cell (checked against the rules)")
@api_requires(Perm.ROSTER_VIEW, Perm.ROSTER_MANAGE)
def set_assignment(request: HttpRequest, period_id: str, payload: CellIn):
    period = selectors.period_get(user=request.user, period_id=_pk(period_id, "period_id"))
    staff = StaffMember.objects.filter(pk=_pk(payload.staff_id, "staff_id"), organization_id=period.organization_id).first()
    if staff is None:
        raise ValidationError({"staff_id": "No such staff member."})
    kind = None
    if payload.shift:
        kind = ShiftType.objects.filter(department_id=period.department_id, code=payload.shift).first()
        if kind is None:
            raise ValidationError({"shift": f"No shift '{payload.shift}' in {period.department}."})
    result = roster_services.assignment_set(actor=request.user, period=period, staff=staff, day=payload.day, shift_type=kind)
    return {"cost_change": result.cost_change, "cost": result.cost_after, "warnings": result.warnings}


@router.get("/requests", response={200: RequestsOut}, summary="Time-off and shift-change requests")
@api_requires(Perm.ROSTER_REQUEST)
def list_requests(request: HttpRequest):
    """A roster manager sees everyone's; anyone else their own."""
    mine = not request.user.has_perm_code(Perm.ROSTER_MANAGE)
    time_off = selectors.time_off_for(user=request.user, mine_only=mine)[:500]
    changes = selectors.changes_for(user=request.user, mine_only=mine)[:500]
    return {
        "time_off": [{"id": str(r.pk), "staff_id": str(r.staff_id), "staff": r.staff.full_name, "start": r.start, "end": r.end,
                      "reason": r.reason, "status": r.status} for r in time_off],
        "changes": [{"id": str(c.pk), "kind": c.kind, "period_id": str(c.period_id), "requester": c.requester.full_name,
                     "day": c.day, "colleague": c.colleague.full_name, "colleague_day": c.colleague_day, "status": c.status}
                    for c in changes],
    }


@router.post("/time-off", response={201: TimeOffOut, 400: ErrorsOut}, summary="Ask for time off")
@api_requires(Perm.ROSTER_REQUEST)
def create_time_off(request: HttpRequest, payload: TimeOffIn):
    member = selectors.my_staff_member(user=request.user)
    if member is None:
        raise ValidationError({"staff": "Your account has no staff record."})
    r = request_services.time_off_request_create(actor=request.user, staff=member, start=payload.start, end=payload.end,
                                                 reason=payload.reason)
    return Status(201, {"id": str(r.pk), "staff_id": str(r.staff_id), "staff": member.full_name, "start": r.start,
                        "end": r.end, "reason": r.reason, "status": r.status})

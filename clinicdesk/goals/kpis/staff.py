"""People KPIs: credential compliance and training compliance, from the staff records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q

from clinicdesk.core.permissions import Perm
from clinicdesk.staff.choices import AssignmentStatus, StaffStatus
from clinicdesk.staff.models import Credential, TrainingAssignment

from ..choices import Direction, KpiUnit
from .registry import Figure, Kpi, Rows, Scope, percent, register

SCOPES = frozenset({"department"})


def _working(qs, scope: Scope):
    qs = qs.exclude(staff__status=StaffStatus.OFFBOARDED)
    return qs.filter(staff__department_id=scope.department_id) if scope.department_id else qs


def _credentials(org: int, end: date, scope: Scope):
    return _working(Credential.objects.filter(organization_id=org, required=True), scope)


def _current(end: date) -> Q:
    return Q(verified_at__isnull=False) & (Q(expires_on__isnull=True) | Q(expires_on__gte=end))


def credential_compliance(org: int, start: date, end: date, scope: Scope) -> Figure:
    counts = _credentials(org, end, scope).aggregate(total=Count("id"), good=Count("id", filter=_current(end)))
    return Figure(value=percent(counts["good"], counts["total"]), numerator=Decimal(counts["good"]),
                  denominator=Decimal(counts["total"]))


def credential_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = (_credentials(org, end, scope).select_related("staff").annotate(ok=Count("id", filter=_current(end)))
             .order_by("staff__last_name", "staff__first_name", "name", "id"))
    return Rows(columns=["Staff", "Credential", "Expires", "Verified", "Current at period end"], items=items,
                cells=lambda c: [c.staff.name, c.name, c.expires_on or "", "yes" if c.verified_at else "no",
                                 "yes" if c.ok else "no"])


register(Kpi(
    code="credential_compliance", name="Credential compliance", unit=KpiUnit.PERCENT, source="staff",
    perm=Perm.STAFF_VIEW, better=Direction.AT_LEAST, compute=credential_compliance, rows=credential_rows,
    scopes=SCOPES,
    formula="Required credentials that are verified and not expired on the last day of the period ÷ required "
            "credentials × 100, over staff not offboarded. Excluded: credentials marked not required and "
            "offboarded staff."))


def _assignments(org: int, start: date, end: date, scope: Scope):
    return _working(TrainingAssignment.objects.filter(organization_id=org, due_date__gte=start, due_date__lte=end)
                    .exclude(status=AssignmentStatus.CANCELLED), scope)


ON_TIME = Q(status=AssignmentStatus.COMPLETED, completed_on__lte=F("due_date"))


def training_compliance(org: int, start: date, end: date, scope: Scope) -> Figure:
    counts = _assignments(org, start, end, scope).aggregate(total=Count("id"), good=Count("id", filter=ON_TIME))
    return Figure(value=percent(counts["good"], counts["total"]), numerator=Decimal(counts["good"]),
                  denominator=Decimal(counts["total"]))


def training_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = _assignments(org, start, end, scope).select_related("staff", "course").order_by("due_date", "id")
    return Rows(columns=["Staff", "Course", "Due", "Completed", "On time"], items=items,
                cells=lambda a: [a.staff.name, a.course.name, a.due_date, a.completed_on or "",
                                 "yes" if a.status == AssignmentStatus.COMPLETED and a.completed_on
                                 and a.completed_on <= a.due_date else "no"])


register(Kpi(
    code="training_compliance", name="Training compliance", unit=KpiUnit.PERCENT, source="staff",
    perm=Perm.STAFF_VIEW, better=Direction.AT_LEAST, compute=training_compliance, rows=training_rows, scopes=SCOPES,
    formula="Training assignments due in the period and completed on or before their due date ÷ assignments due in "
            "the period × 100. Excluded: cancelled assignments and offboarded staff."))

"""Reads of staff records, credentials, onboarding and training, each scoped to one organization."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from .choices import AssignmentStatus, StaffStatus, TaskStatus
from .models import (
    ChecklistItem,
    ChecklistTemplate,
    Course,
    Credential,
    OnboardingPlan,
    OnboardingTask,
    StaffMember,
    TrainingAssignment,
)


def _lapse_message(credential: Credential, *, start: date) -> str:
    label = credential.label
    if credential.expires_on < start:
        return f"{label} expired {credential.expires_on.isoformat()}"
    return f"{label} expires {credential.expires_on.isoformat()}"


def credential_lapses(*, organization, staff_ids: Iterable[int], start: date, end: date) -> dict[int, list[str]]:
    """For each staff id, a message per required credential that has expired or expires before `end`
    ("RN licence NY expired 2026-10-31"); staff with nothing lapsed are left out. One query."""
    ids = list(staff_ids)
    lapses: dict[int, list[str]] = {}
    if not ids:
        return lapses
    credentials = Credential.objects.filter(
        organization=organization, staff_id__in=ids, required=True, expires_on__lt=end
    ).order_by("staff_id", "expires_on", "name", "pk")
    for credential in credentials:
        lapses.setdefault(credential.staff_id, []).append(_lapse_message(credential, start=start))
    return lapses


def provider_credential_lapses(*, organization, user_ids: Iterable[int], start: date, end: date) -> dict[int, list[str]]:
    """credential_lapses keyed by sign-in (user id), for the schedule, whose providers are users. Two queries."""
    by_staff = dict(
        StaffMember.objects.filter(organization=organization, user_id__in=list(user_ids)).values_list("pk", "user_id")
    )
    lapses = credential_lapses(organization=organization, staff_ids=by_staff, start=start, end=end)
    return {by_staff[staff_id]: messages for staff_id, messages in lapses.items()}


# --- pages -------------------------------------------------------------------------------------------------


def staff_search(*, user, query: str = "", department_id: int | None = None, status: str = "",
                 employment_type: str = "", skill_id: int | None = None) -> QuerySet[StaffMember]:
    """The staff list: name, job title, e-mail or NPI contains the query; filters by department, status, kind and
    skill. The caller's organization only; related rows are joined or prefetched so the page costs the same at
    any size."""
    rows = StaffMember.objects.filter(organization_id=user.organization_id)
    for word in query.split()[:5]:
        rows = rows.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(job_title__icontains=word)
                           | Q(email__icontains=word) | Q(npi=word))
    if department_id:
        rows = rows.filter(department_id=department_id)
    if status:
        rows = rows.filter(status=status)
    if employment_type:
        rows = rows.filter(employment_type=employment_type)
    if skill_id:
        rows = rows.filter(skills__id=skill_id).distinct()
    return rows.select_related("department", "manager", "user").prefetch_related("skills")


def staff_get(*, user, staff_id: int) -> StaffMember:
    """One staff record of the caller's organization, or Http404."""
    member = (StaffMember.objects.filter(organization_id=user.organization_id, pk=staff_id)
              .select_related("department", "manager", "user").prefetch_related("skills", "locations").first())
    if member is None:
        raise Http404("No such staff member.")
    return member


def own_staff_record(*, user) -> StaffMember | None:
    """The signed-in user's own staff record, if the practice has one for them."""
    return StaffMember.objects.filter(organization_id=user.organization_id, user=user).select_related(
        "department", "manager"
    ).first()


@dataclass
class ComplianceRow:
    credential: Credential
    state: str  # expired / expiring
    days_left: int
    alerts: list[int]


def credential_compliance(*, user, today: date, department_id: int | None = None, within_days: int = 90
                          ) -> tuple[list[tuple[str, list[ComplianceRow]]], dict[str, int]]:
    """Required credentials of current staff that have expired or expire within `within_days`, grouped by
    department, with the alerts already sent; and the counts of expired and expiring."""
    horizon = today + timedelta(days=within_days)
    rows = (
        Credential.objects.filter(organization_id=user.organization_id, required=True, expires_on__lte=horizon)
        .exclude(staff__status=StaffStatus.OFFBOARDED)
        .select_related("staff", "staff__department")
        .prefetch_related("alerts")
        .order_by("staff__department__name", "expires_on", "staff__last_name", "pk")
    )
    if department_id:
        rows = rows.filter(staff__department_id=department_id)
    groups: dict[str, list[ComplianceRow]] = {}
    counts = {"expired": 0, "expiring": 0}
    for credential in rows:
        state = credential.status_on(today)
        counts[state] = counts.get(state, 0) + 1
        alerts = sorted({a.threshold_days for a in credential.alerts.all() if a.expires_on == credential.expires_on},
                        reverse=True)
        department = credential.staff.department.name if credential.staff.department else "No department"
        groups.setdefault(department, []).append(ComplianceRow(
            credential=credential, state=state, days_left=(credential.expires_on - today).days, alerts=alerts,
        ))
    return list(groups.items()), counts


@dataclass
class OnboardingProgress:
    plan: OnboardingPlan
    done: int
    total: int
    overdue: int
    next_task: OnboardingTask | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def onboarding_board(*, user, today: date, include_finished: bool = False) -> list[OnboardingProgress]:
    """Every new hire's checklist with its progress (done of all tasks), overdue count and next open task."""
    plans = (OnboardingPlan.objects.filter(organization_id=user.organization_id)
             .select_related("staff", "staff__department", "template")
             .prefetch_related(Prefetch("tasks", queryset=OnboardingTask.objects.select_related("owner")))
             .order_by("-start_date", "pk"))
    board = []
    for plan in plans:
        tasks = [t for t in plan.tasks.all() if t.status != TaskStatus.CANCELLED]
        done = sum(t.status == TaskStatus.DONE for t in tasks)
        open_tasks = sorted((t for t in tasks if t.status == TaskStatus.OPEN), key=lambda t: (t.due_date, t.position))
        if not include_finished and not open_tasks:
            continue
        board.append(OnboardingProgress(
            plan=plan, done=done, total=len(tasks), overdue=sum(t.due_date < today for t in open_tasks),
            next_task=open_tasks[0] if open_tasks else None,
        ))
    return board


def _latest_assignments(organization_id: int, *, department_id: int | None = None):
    """Per staff member and course, the assignment that counts now (the most recent due date), current staff only."""
    rows = (TrainingAssignment.objects.filter(organization_id=organization_id)
            .exclude(status=AssignmentStatus.CANCELLED).exclude(staff__status=StaffStatus.OFFBOARDED))
    if department_id:
        rows = rows.filter(staff__department_id=department_id)
    latest: dict[tuple[int, int], dict] = {}
    for row in rows.values("staff_id", "course_id", "status", "due_date", "staff__department__name").order_by(
        "due_date", "pk"
    ):
        latest[(row["staff_id"], row["course_id"])] = row
    return latest.values()


@dataclass
class DepartmentCompliance:
    department: str
    compliant: int
    total: int
    overdue: int

    @property
    def percent(self) -> float:
        return round(100 * self.compliant / self.total, 1) if self.total else 100.0


def training_compliance(*, user, today: date) -> list[DepartmentCompliance]:
    """Training compliance by department: of each person's current assignments, the share not overdue (done, or
    not yet due). One query."""
    by_department: dict[str, DepartmentCompliance] = {}
    for row in _latest_assignments(user.organization_id):
        name = row["staff__department__name"] or "No department"
        entry = by_department.setdefault(name, DepartmentCompliance(department=name, compliant=0, total=0, overdue=0))
        entry.total += 1
        overdue = row["status"] == AssignmentStatus.ASSIGNED and row["due_date"] < today
        entry.overdue += overdue
        entry.compliant += not overdue
    return sorted(by_department.values(), key=lambda d: d.department)


def training_assignments(*, user, status: str = "", course_id: int | None = None, department_id: int | None = None,
                         overdue_on: date | None = None, staff: StaffMember | None = None
                         ) -> QuerySet[TrainingAssignment]:
    """Training assignments of the caller's organization, filtered; each row's staff, course and evidence joined."""
    rows = TrainingAssignment.objects.filter(organization_id=user.organization_id)
    if staff is not None:
        rows = rows.filter(staff=staff)
    if status:
        rows = rows.filter(status=status)
    if course_id:
        rows = rows.filter(course_id=course_id)
    if department_id:
        rows = rows.filter(staff__department_id=department_id)
    if overdue_on is not None:
        rows = rows.filter(status=AssignmentStatus.ASSIGNED, due_date__lt=overdue_on)
    return rows.select_related("staff", "staff__department", "course", "evidence").order_by("due_date", "pk")


def course_list(*, user) -> QuerySet[Course]:
    """The practice's courses with how many open and completed assignments each has."""
    return Course.objects.filter(organization_id=user.organization_id).annotate(
        open_count=Count("assignments", filter=Q(assignments__status=AssignmentStatus.ASSIGNED)),
        done_count=Count("assignments", filter=Q(assignments__status=AssignmentStatus.COMPLETED)),
    ).order_by("name")


def checklist_templates(*, user) -> QuerySet[ChecklistTemplate]:
    """The practice's onboarding checklists with their items (and each item's course) prefetched."""
    return ChecklistTemplate.objects.filter(organization_id=user.organization_id).prefetch_related(
        Prefetch("items", queryset=ChecklistItem.objects.select_related("course").order_by("position", "pk"))
    ).order_by("name")

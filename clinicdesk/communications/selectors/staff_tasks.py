"""Reads of the staff task inbox. Scoped to the actor's practice and to people allowed to work on tasks,
so a view cannot forget to filter; each list loads what it shows in a fixed number of queries."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm, roles_with
from clinicdesk.patients.models import Patient

from ..choices import StaffTaskKind, StaffTaskStatus
from ..models import StaffTask, TaskNote

DUE_CHOICES = (("overdue", "Overdue"), ("today", "Due today"), ("week", "Due within a week"))


def staff_task_scope(*, actor: User) -> QuerySet[StaffTask]:
    """Every task of the actor's practice, or none without the task permission."""
    if actor is None or not actor.has_perm_code(Perm.STAFF_TASKS):
        return StaffTask.objects.none()
    return StaffTask.objects.filter(organization_id=actor.organization_id)


def _for_actor(actor: User, *, mine_only: bool) -> Q:
    if mine_only:
        return Q(assignee=actor)
    return Q(assignee=actor) | Q(assignee_role=actor.role)


def staff_task_inbox(
    *,
    actor: User,
    mine_only: bool = False,
    status: str = StaffTaskStatus.OPEN,
    kind: str = "",
    due: str = "",
    patient: Patient | None = None,
    today: date | None = None,
) -> QuerySet[StaffTask]:
    """Tasks for the actor or the actor's role, soonest due first (undated last). `status` "" is any status;
    `due` is overdue, today or week (the next seven days, today included)."""
    errors: dict[str, str] = {}
    if status and status not in StaffTaskStatus.values:
        errors["status"] = f"Unknown status '{status}'; use one of: {', '.join(StaffTaskStatus.values)}."
    if kind and kind not in StaffTaskKind.values:
        errors["kind"] = f"Unknown kind '{kind}'; use one of: {', '.join(StaffTaskKind.values)}."
    if due and due not in dict(DUE_CHOICES):
        errors["due"] = f"Unknown due filter '{due}'; use one of: {', '.join(dict(DUE_CHOICES))}."
    if patient is not None and patient.organization_id != getattr(actor, "organization_id", None):
        errors["patient"] = "No such patient."
    if errors:
        raise ValidationError(errors)
    today = today or timezone.localdate()
    qs = staff_task_scope(actor=actor).filter(_for_actor(actor, mine_only=mine_only))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if due == "overdue":
        qs = qs.filter(due_on__lt=today, status=StaffTaskStatus.OPEN)
    elif due == "today":
        qs = qs.filter(due_on=today)
    elif due == "week":
        qs = qs.filter(due_on__gte=today, due_on__lte=today + timedelta(days=6))
    if patient is not None:
        qs = qs.filter(patient=patient)
    return (
        qs.select_related("patient", "assignee", "appointment", "appointment__location", "completed_by")
        .annotate(note_count=Count("notes"))
        .order_by(F("due_on").asc(nulls_last=True), "created_at", "id")
    )


def staff_task_open_count(*, actor: User) -> int:
    """Open tasks in the actor's inbox (theirs or their role's): the number on the navigation badge."""
    return staff_task_scope(actor=actor).filter(_for_actor(actor, mine_only=False), status=StaffTaskStatus.OPEN).count()


def staff_task_counts(*, actor: User, today: date | None = None) -> dict[str, int]:
    """Open tasks in the inbox, the actor's own, and the overdue ones, in one query."""
    today = today or timezone.localdate()
    open_tasks = Q(status=StaffTaskStatus.OPEN)
    return staff_task_scope(actor=actor).filter(_for_actor(actor, mine_only=False)).aggregate(
        open=Count("id", filter=open_tasks),
        mine=Count("id", filter=open_tasks & Q(assignee=actor)),
        overdue=Count("id", filter=open_tasks & Q(due_on__lt=today)),
    )


def staff_task_get(*, actor: User, task_id: int) -> StaffTask:
    """One task of the actor's practice with its notes (any task there, not only the actor's inbox)."""
    task = (
        staff_task_scope(actor=actor)
        .select_related("patient", "assignee", "appointment", "appointment__location", "appointment__provider",
                        "appointment__appointment_type", "created_by", "completed_by")
        .prefetch_related(Prefetch("notes", queryset=TaskNote.objects.select_related("author").order_by("created_at", "id")))
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise Http404("No such task.")
    return task


def staff_task_assignees(*, actor: User) -> QuerySet[User]:
    """Colleagues a task can be given to: active staff of the practice whose role works on tasks."""
    return User.objects.filter(
        organization_id=actor.organization_id, is_active=True, role__in=roles_with(Perm.STAFF_TASKS)
    ).order_by("last_name", "first_name", "username")


def staff_task_roles() -> list[tuple[str, str]]:
    """The roles a task can be given to."""
    return [(value, label) for value, label in Role.choices if value in roles_with(Perm.STAFF_TASKS)]

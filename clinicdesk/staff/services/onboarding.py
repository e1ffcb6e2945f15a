"""Writes to onboarding: apply a role's checklist to a new hire, and tick its tasks off."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.patients.services.records import acting_as

from ..choices import StaffStatus, TaskStatus
from ..models import ChecklistTemplate, OnboardingPlan, OnboardingTask, StaffMember, TrainingAssignment
from .records import same_org
from .training import _assign


def _owner_for(*, role: str, member: StaffMember, organization_id: int) -> User | None:
    """The task's owner: the new hire for their own items, else the first active user with the role."""
    if not role:
        return member.user
    return User.objects.filter(organization_id=organization_id, role=role, is_active=True).order_by("pk").first()


@transaction.atomic
def checklist_apply(*, actor: User, member: StaffMember, template: ChecklistTemplate, start_date: date
                    ) -> OnboardingPlan:
    """Give a new hire the checklist's tasks with owners and due dates counted from the start date; training items
    become course assignments with the same due date."""
    same_org(actor, member, "staff")
    same_org(actor, template, "template")
    errors: dict = {}
    if not isinstance(start_date, date):
        errors["start_date"] = ["Give the start date as a date."]
    elif start_date < timezone.localdate() - timedelta(days=90):
        errors["start_date"] = ["The start date is more than 90 days ago; onboarding is for new hires."]
    if member.status == StaffStatus.OFFBOARDED:
        errors["staff"] = ["This person has been offboarded."]
    if not template.is_active:
        errors["template"] = ["This checklist is retired."]
    if OnboardingPlan.objects.filter(staff=member, template=template).exists():
        errors["template"] = [f"{member.full_name} already has the {template.name} checklist."]
    if errors:
        raise ValidationError(errors)
    plan = OnboardingPlan.objects.create(organization_id=member.organization_id, staff=member, template=template,
                                         start_date=start_date, created_by=actor)
    tasks = []
    with acting_as(actor):
        for item in template.items.select_related("course").order_by("position", "pk"):
            due = start_date + timedelta(days=item.due_offset_days)
            assignment = None
            if item.course is not None:
                assignment = _assign(actor=actor, member=member, course=item.course, due_date=max(due, start_date))
            tasks.append(OnboardingTask(
                plan=plan, position=item.position, title=item.title, category=item.category, due_date=due,
                owner=_owner_for(role=item.owner_role, member=member, organization_id=member.organization_id),
                assignment=assignment,
            ))
        OnboardingTask.objects.bulk_create(tasks)
    if member.status == StaffStatus.ACTIVE and (member.hire_date is None or member.hire_date >= timezone.localdate()):
        member.status = StaffStatus.ONBOARDING
    member.hire_date = member.hire_date or start_date
    member.save(update_fields=["status", "hire_date", "updated_at"])
    audit_event(action="onboarding.started", actor=actor, target=member,
                summary=f"Applied the {template.name} checklist to {member.full_name}: {len(tasks)} task(s) from "
                        f"{start_date.isoformat()}")
    return plan


def _plan_done(plan: OnboardingPlan) -> None:
    member = plan.staff
    if member.status == StaffStatus.ONBOARDING and not OnboardingTask.objects.filter(
        plan__staff=member, status=TaskStatus.OPEN
    ).exists():
        member.status = StaffStatus.ACTIVE
        member.save(update_fields=["status", "updated_at"])


@transaction.atomic
def onboarding_task_set(*, actor: User, task: OnboardingTask, done: bool) -> OnboardingTask:
    """Tick a task off (or back on); the new hire becomes active when the last open task is done."""
    same_org(actor, task.plan, "task")
    if task.status == TaskStatus.CANCELLED:
        raise ValidationError({"status": "This task was closed at offboarding."})
    task.status = TaskStatus.DONE if done else TaskStatus.OPEN
    task.completed_at, task.completed_by = (timezone.now(), actor) if done else (None, None)
    with acting_as(actor):
        task.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    audit_event(action="onboarding.task_done" if done else "onboarding.task_reopened", actor=actor, target=task.plan.staff,
                summary=f"{'Done' if done else 'Reopened'}: {task.title}")
    if done:
        _plan_done(task.plan)
    return task


def onboarding_tasks_follow_training(*, assignment: TrainingAssignment, actor: User) -> None:
    """A completed course ticks off the onboarding tasks that asked for it."""
    tasks = list(OnboardingTask.objects.filter(assignment=assignment, status=TaskStatus.OPEN).select_related("plan__staff"))
    for task in tasks:
        task.status, task.completed_at, task.completed_by = TaskStatus.DONE, timezone.now(), actor
        task.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    if tasks:
        _plan_done(tasks[0].plan)

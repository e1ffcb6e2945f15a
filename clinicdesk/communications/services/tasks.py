"""Staff tasks: the office's shared to-do list. Every write to a StaffTask or a TaskNote.

A task is for a person, for everyone in a role, or both (the role sees it until the person does it).
Changes to a task are recorded by django-auditlog (StaffTask is registered in CommunicationsConfig.ready)
under the service's own action name; notes are audited here.
"""

from __future__ import annotations

import zoneinfo
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_recorded_as
from clinicdesk.core.choices import Role
from clinicdesk.core.models import Location, User
from clinicdesk.core.permissions import Perm, role_has
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.models import Patient
from clinicdesk.patients.services.records import acting_as

from ..choices import StaffTaskKind, StaffTaskStatus
from ..models import StaffTask, TaskNote

NOTE_MAX = 4000
DETAILS_MAX = 4000


def _staff(actor) -> User | None:
    """The actor when a signed-in staff member acts; None when the system acts (a text reply, a link)."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _check_assignee(assignee: User | None, assignee_role: str, organization_id: int) -> dict[str, str]:
    errors: dict[str, str] = {}
    if assignee is not None and (
        assignee.organization_id != organization_id or not assignee.is_active or not assignee.has_perm_code(Perm.STAFF_TASKS)
    ):
        errors["assignee"] = "Choose a colleague of this practice who works on tasks."
    if assignee_role and (assignee_role not in Role.values or not role_has(assignee_role, Perm.STAFF_TASKS)):
        errors["assignee_role"] = "Choose a role that works on tasks."
    if assignee is None and not assignee_role and not errors:
        errors["assignee"] = "Give the task to a person or to a role."
    return errors


def _check_links(*, organization_id: int, patient: Patient | None, appointment) -> dict[str, str]:
    errors: dict[str, str] = {}
    if patient is not None and (patient.organization_id != organization_id or patient.merged_into_id):
        errors["patient"] = "No such patient."
    if appointment is not None:
        if appointment.organization_id != organization_id:
            errors["appointment"] = "No such appointment."
        elif patient is not None and appointment.patient_id != patient.pk:
            errors["appointment"] = "That appointment is another patient's."
    return errors


def _task_for_change(task: StaffTask, actor) -> StaffTask:
    staff = _staff(actor)
    if staff is None or task.organization_id != staff.organization_id:
        raise ValidationError({"task": "No such task."})
    return StaffTask.objects.select_for_update().get(pk=task.pk)


def _today_for(organization_id: int, appointment=None) -> date:
    """Today on the practice's wall clock (the appointment's location, else its first location)."""
    if appointment is not None:
        tz_name = appointment.location.time_zone
    else:
        tz_name = (
            Location.objects.filter(organization_id=organization_id, is_active=True).order_by("pk")
            .values_list("time_zone", flat=True).first()
        ) or settings.TIME_ZONE
    return timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(tz_name)).date()


def _describe(task: StaffTask) -> str:
    who = str(task.assignee) if task.assignee_id else ""
    if task.assignee_role:
        who = f"{who} / {Role(task.assignee_role).label}" if who else Role(task.assignee_role).label
    return f"{task.get_kind_display()} for {who}: {task.title}"[:300]


@transaction.atomic
def staff_task_create(
    *,
    actor,
    title: str,
    kind: str,
    assignee: User | None = None,
    assignee_role: str = "",
    due_on: date | None = None,
    patient: Patient | None = None,
    appointment=None,
    reference: str = "",
    details: str = "",
    organization_id: int | None = None,
) -> StaffTask:
    """Put a task in a person's or a role's inbox. `actor` None is the system acting for a patient (then
    the practice is the patient's or `organization_id`); the appointment's patient fills `patient`."""
    staff = _staff(actor)
    if staff is not None:
        organization_id = staff.organization_id
    elif organization_id is None:
        organization_id = getattr(patient, "organization_id", None) or getattr(appointment, "organization_id", None)
    if organization_id is None:
        raise ValidationError({"patient": "A task made by the system needs the patient it is about."})
    title, details, reference = (title or "").strip(), (details or "").strip(), (reference or "").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Say what is to be done."
    if kind not in StaffTaskKind.values:
        errors["kind"] = f"Choose one of: {', '.join(StaffTaskKind.labels)}."
    if len(details) > DETAILS_MAX:
        errors["details"] = f"Keep the details under {DETAILS_MAX} characters."
    if due_on is not None and not isinstance(due_on, date):
        errors["due_on"] = "Give the due date as a date."
    errors |= _check_assignee(assignee, assignee_role or "", organization_id)
    errors |= _check_links(organization_id=organization_id, patient=patient, appointment=appointment)
    if patient is None and appointment is not None and "appointment" not in errors:
        patient = appointment.patient
    task = StaffTask(
        organization_id=organization_id, title=title, details=details, kind=kind, status=StaffTaskStatus.OPEN,
        assignee=assignee if "assignee" not in errors else None, assignee_role=assignee_role or "", due_on=due_on,
        patient=patient if "patient" not in errors else None,
        appointment=appointment if "appointment" not in errors else None, reference=reference, created_by=staff,
    )
    full_clean_or_raise(task, errors, exclude=["organization", "assignee", "patient", "appointment", "created_by",
                                               "completed_by"])
    with acting_as(staff), audit_recorded_as(task, action="staff_task.created", actor=staff,
                                             summary=f"Task: {_describe(task)}"):
        task.save(force_insert=True)
    return task


@transaction.atomic
def call_task_create(*, patient: Patient, reason: str, appointment=None, actor=None, reference: str = "") -> StaffTask:
    """A call for the front desk, due today: a text reply, a reschedule request from a link, or a reminder
    for a patient who prefers a phone call. The same open call about the same thing is not made twice, and a
    call with a `reference` (a reminder step, an offer) is made once ever, even after it was done."""
    reason = (reason or "").strip()[:200]
    if reference:
        done_before = StaffTask.objects.filter(organization_id=patient.organization_id, kind=StaffTaskKind.CALL,
                                               reference=reference[:120]).first()
        if done_before is not None:
            return done_before
    existing = StaffTask.objects.filter(
        organization_id=patient.organization_id, patient=patient, appointment=appointment, kind=StaffTaskKind.CALL,
        status=StaffTaskStatus.OPEN, title=reason,
    ).first()
    if existing is not None:
        return existing
    return staff_task_create(
        actor=actor, title=reason, kind=StaffTaskKind.CALL, assignee_role=Role.FRONT_DESK,
        due_on=_today_for(patient.organization_id, appointment), patient=patient, appointment=appointment,
        organization_id=patient.organization_id, reference=reference[:120],
    )


@transaction.atomic
def staff_task_assign(*, actor: User, task: StaffTask, assignee: User | None = None, assignee_role: str = "") -> StaffTask:
    """Hand a task to a colleague or a role (or both)."""
    task = _task_for_change(task, actor)
    errors = _check_assignee(assignee, assignee_role or "", task.organization_id)
    if task.status != StaffTaskStatus.OPEN:
        errors["status"] = "Only an open task can be handed on."
    if errors:
        raise ValidationError(errors)
    task.assignee, task.assignee_role = assignee, assignee_role or ""
    with acting_as(actor), audit_recorded_as(task, action="staff_task.assigned", actor=actor,
                                             summary=f"Handed on: {_describe(task)}"):
        task.save(update_fields=["assignee", "assignee_role", "updated_at"])
    return task


def _add_note(*, actor: User, task: StaffTask, text: str) -> TaskNote:
    note = TaskNote(task=task, author=actor, text=text)
    full_clean_or_raise(note, exclude=["task", "author"])
    note.save(force_insert=True)
    return note


def _close(*, actor: User, task: StaffTask, status: str, action: str, label: str, text: str, field: str) -> StaffTask:
    """Done or cancelled: only an open task closes; the closing words, if any, are kept as a note."""
    task = _task_for_change(task, actor)
    if task.status != StaffTaskStatus.OPEN:
        raise ValidationError({"status": f"This task is already {task.get_status_display().lower()}."})
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise ValidationError({field: f"Keep the {field} under {NOTE_MAX} characters."})
    task.status, task.completed_by, task.completed_at = status, actor, timezone.now()
    with acting_as(actor), audit_recorded_as(task, action=action, actor=actor, summary=f"{label}: {task.title}"[:300]):
        task.save(update_fields=["status", "completed_by", "completed_at", "updated_at"])
    if text:
        _add_note(actor=actor, task=task, text=text if status == StaffTaskStatus.DONE else f"{label}: {text}")
    return task


@transaction.atomic
def staff_task_complete(*, actor: User, task: StaffTask, note: str = "") -> StaffTask:
    """Mark a task done, with an optional closing note."""
    return _close(actor=actor, task=task, status=StaffTaskStatus.DONE, action="staff_task.completed", label="Done",
                  text=note, field="note")


@transaction.atomic
def staff_task_reopen(*, actor: User, task: StaffTask) -> StaffTask:
    """Open a done or cancelled task again (it was not finished after all)."""
    task = _task_for_change(task, actor)
    if task.status == StaffTaskStatus.OPEN:
        raise ValidationError({"status": "This task is already open."})
    task.status, task.completed_by, task.completed_at = StaffTaskStatus.OPEN, None, None
    with acting_as(actor), audit_recorded_as(task, action="staff_task.reopened", actor=actor, summary=f"Reopened: {task.title}"[:300]):
        task.save(update_fields=["status", "completed_by", "completed_at", "updated_at"])
    return task


@transaction.atomic
def staff_task_cancel(*, actor: User, task: StaffTask, reason: str = "") -> StaffTask:
    """Drop a task that no longer needs doing; the reason, if given, is kept as a note."""
    return _close(actor=actor, task=task, status=StaffTaskStatus.CANCELLED, action="staff_task.cancelled",
                  label="Cancelled", text=reason, field="reason")


@transaction.atomic
def staff_task_note_add(*, actor: User, task: StaffTask, text: str) -> TaskNote:
    """A note on a task for the colleagues working on it."""
    staff = _staff(actor)
    if staff is None or task.organization_id != staff.organization_id:
        raise ValidationError({"task": "No such task."})
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the note."})
    if len(text) > NOTE_MAX:
        raise ValidationError({"text": f"Keep the note under {NOTE_MAX} characters."})
    note = _add_note(actor=staff, task=task, text=text)
    StaffTask.objects.filter(pk=task.pk).update(updated_at=timezone.now())
    audit_event(action="staff_task.note_added", actor=staff, target=task, patient=task.patient,
                summary=f"Note on '{task.title}'"[:300])
    return note

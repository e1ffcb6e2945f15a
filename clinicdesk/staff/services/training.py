"""Writes to training: courses, assignments with due dates, completion with evidence, and recurring renewals."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.services.records import acting_as

from ..choices import AssignmentStatus, StaffStatus
from ..models import Course, StaffMember, TrainingAssignment
from .records import reject_unknown, same_org, staff_document_check, staff_document_store

COURSE_FIELDS = ("code", "name", "description", "renewal_months", "days_to_complete", "is_active")


@transaction.atomic
def course_save(*, actor: User, course: Course | None = None, data: dict) -> Course:
    """Add a course or change one; the code is unique in the practice."""
    reject_unknown(data, COURSE_FIELDS)
    creating = course is None
    if creating:
        course = Course(organization_id=actor.organization_id)
    else:
        same_org(actor, course, "course")
    for name, value in data.items():
        setattr(course, name, value.strip() if isinstance(value, str) else value)
    errors: dict = {}
    if course.code and Course.objects.filter(organization_id=course.organization_id, code=course.code).exclude(
        pk=course.pk
    ).exists():
        errors["code"] = ["Another course already uses this code."]
    if course.renewal_months is not None and not 1 <= course.renewal_months <= 120:
        errors["renewal_months"] = ["Renewal is between 1 and 120 months, or empty for once only."]
    full_clean_or_raise(course, errors, exclude=["organization"])
    with acting_as(actor):
        course.save()
    audit_event(action="course.created" if creating else "course.changed", actor=actor, target=course,
                summary=f"{'Added' if creating else 'Changed'} the course {course.name}")
    return course


def _assign(*, actor: User | None, member: StaffMember, course: Course, due_date: date) -> TrainingAssignment:
    open_one = TrainingAssignment.objects.filter(staff=member, course=course, status=AssignmentStatus.ASSIGNED).first()
    if open_one is not None:
        return open_one
    assignment = TrainingAssignment(organization_id=member.organization_id, staff=member, course=course,
                                    due_date=due_date, assigned_by=actor)
    assignment.save()
    return assignment


@transaction.atomic
def training_assign(*, actor: User, members: list[StaffMember], course: Course, due_date: date | None = None
                    ) -> list[TrainingAssignment]:
    """Assign a course to staff members by a due date (default: the course's days to complete from today). Someone
    who already has it open keeps their existing assignment."""
    same_org(actor, course, "course")
    errors: dict = {}
    if not members:
        errors["staff"] = ["Choose at least one staff member."]
    elif any(m.organization_id != actor.organization_id for m in members):
        errors["staff"] = ["Choose staff of your own organization."]
    elif any(m.status == StaffStatus.OFFBOARDED for m in members):
        errors["staff"] = ["Offboarded staff cannot be assigned training."]
    if not course.is_active:
        errors["course"] = ["This course is retired."]
    today = timezone.localdate()
    due_date = due_date or today + timedelta(days=course.days_to_complete)
    if due_date < today:
        errors["due_date"] = ["The due date is in the past."]
    if errors:
        raise ValidationError(errors)
    with acting_as(actor):
        assignments = [_assign(actor=actor, member=m, course=course, due_date=due_date) for m in members]
    audit_event(action="training.assigned", actor=actor, target=course,
                summary=f"Assigned {course.name} to {len(members)} staff member(s), due {due_date.isoformat()}")
    return assignments


@transaction.atomic
def training_complete(
    *,
    actor: User,
    assignment: TrainingAssignment,
    completed_on: date | None = None,
    evidence_note: str = "",
    file: UploadedFile | None = None,
) -> TrainingAssignment:
    """Record a course as done with its evidence (a certificate file or a note); a recurring course is assigned
    again, due its renewal months after completion."""
    same_org(actor, assignment, "assignment")
    errors: dict = {}
    if assignment.status != AssignmentStatus.ASSIGNED:
        errors["status"] = [f"This assignment is already {assignment.get_status_display().lower()}."]
    today = timezone.localdate()
    completed_on = completed_on or today
    if completed_on > today:
        errors["completed_on"] = ["The completion date cannot be in the future."]
    evidence_note = (evidence_note or "").strip()
    if file is None and not evidence_note:
        errors["evidence"] = ["Attach the certificate or say where the evidence is (certificate number, score)."]
    content_type = staff_document_check(file, field="evidence", errors=errors)
    if len(evidence_note) > 200:
        errors["evidence_note"] = ["Keep the note under 200 characters."]
    if errors:
        raise ValidationError(errors)
    if file is not None:
        assignment.evidence = staff_document_store(
            actor=actor, member=assignment.staff, file=file, content_type=content_type,
            title=f"{assignment.course.name} certificate",
        )
    assignment.status, assignment.completed_on = AssignmentStatus.COMPLETED, completed_on
    assignment.evidence_note, assignment.completed_by = evidence_note, actor
    with acting_as(actor):
        assignment.save(update_fields=["status", "completed_on", "evidence", "evidence_note", "completed_by",
                                       "updated_at"])
        course = assignment.course
        if course.renewal_months and course.is_active:
            _assign(actor=actor, member=assignment.staff, course=course,
                    due_date=completed_on + relativedelta(months=course.renewal_months))
    from .onboarding import onboarding_tasks_follow_training

    onboarding_tasks_follow_training(assignment=assignment, actor=actor)
    audit_event(action="training.completed", actor=actor, target=assignment,
                summary=f"{assignment.staff.full_name} completed {course.name} on {completed_on.isoformat()}")
    return assignment

"""Writes to staff records: hire, change, offboard, and the documents filed with them."""

from __future__ import annotations

from datetime import date
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import ApiToken, Department, Location, User
from clinicdesk.core.services import user_sessions_end
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.services.documents import ALLOWED_TYPES, _digest, sniff_content_type
from clinicdesk.patients.services.records import acting_as

from ..choices import AssignmentStatus, StaffStatus, TaskStatus
from ..models import OnboardingTask, Skill, StaffDocument, StaffMember, TrainingAssignment

# The fields a staff form or the API may set directly; relations are checked one by one below.
RECORD_FIELDS = (
    "first_name", "last_name", "job_title", "role", "employment_type", "fte", "hire_date", "status", "email", "phone",
    "emergency_contact_name", "emergency_contact_relation", "emergency_contact_phone", "npi", "taxonomy_code",
    "dea_number",
)  # fmt: skip


def same_org(actor: User, obj, field: str) -> None:
    """A ValidationError on `field` when `obj` belongs to another organization than the actor's."""
    if obj is not None and obj.organization_id != actor.organization_id:
        raise ValidationError({field: f"No such {field.replace('_', ' ')} in your organization."})


def reject_unknown(data: dict, allowed: tuple[str, ...]) -> None:
    """A ValidationError naming every key of `data` that a form or the API may not set."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be set here."))


def _relations(member: StaffMember, *, actor: User, department, manager, user, errors: dict) -> None:
    for field, value in (("department", department), ("manager", manager), ("user", user)):
        try:
            same_org(actor, value, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if user is not None and "user" not in errors:
        taken = StaffMember.objects.filter(user=user).exclude(pk=member.pk).first()
        if taken is not None:
            errors["user"] = [f"This sign-in already belongs to {taken.full_name}."]


@transaction.atomic
def staff_save(
    *,
    actor: User,
    member: StaffMember | None = None,
    data: dict,
    department: Department | None = None,
    manager: StaffMember | None = None,
    user: User | None = None,
    locations: list[Location] | None = None,
    skills: list[Skill] | None = None,
) -> StaffMember:
    """Create a staff record (member None) or change one; every problem is reported by field, nothing is saved."""
    creating = member is None
    if creating:
        member = StaffMember(organization_id=actor.organization_id)
    else:
        same_org(actor, member, "staff")
    reject_unknown(data, RECORD_FIELDS)
    before = {name: getattr(member, name) for name in RECORD_FIELDS}
    for name, value in data.items():
        setattr(member, name, value.strip() if isinstance(value, str) else value)
    member.department, member.manager, member.user = department, manager, user
    errors: dict = {}
    _relations(member, actor=actor, department=department, manager=manager, user=user, errors=errors)
    for field, chosen in (("locations", locations), ("skills", skills)):
        if chosen and any(obj.organization_id != actor.organization_id for obj in chosen):
            errors[field] = [f"Choose {field} of your own organization."]
    if not creating and manager is not None and manager.pk == member.pk:
        errors["manager"] = ["A staff member cannot be their own manager."]
    full_clean_or_raise(member, errors, exclude=["organization", "user", "manager", "department"])
    with acting_as(actor):
        member.save()
    if locations is not None:
        member.locations.set(locations)
    if skills is not None:
        member.skills.set(skills)
    changes = {name: [str(before[name]), str(getattr(member, name))] for name in RECORD_FIELDS
               if not creating and before[name] != getattr(member, name)}
    audit_event(
        action="staff.created" if creating else "staff.changed", actor=actor, target=member,
        summary=f"{'Added' if creating else 'Changed'} the staff record of {member.full_name}", changes=changes or None,
    )
    return member


@transaction.atomic
def staff_offboard(*, actor: User, member: StaffMember, end_date: date, reason: str = "") -> StaffMember:
    """Offboard at once: sign-in turned off, sessions ended, API tokens revoked, open onboarding tasks and training
    closed; the record stays, marked offboarded with its end date."""
    same_org(actor, member, "staff")
    if member.status == StaffStatus.OFFBOARDED:
        raise ValidationError({"status": f"{member.full_name} is already offboarded."})
    if member.user_id and member.user_id == actor.pk:
        raise ValidationError({"staff": "You cannot offboard yourself."})
    if not isinstance(end_date, date):
        raise ValidationError({"end_date": "Give the last working day as a date."})
    if member.hire_date and end_date < member.hire_date:
        raise ValidationError({"end_date": "The end date is before the hire date."})
    sessions = tokens = 0
    user = member.user
    if user is not None:
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active", "updated_at"])
        sessions = user_sessions_end(user=user)
        tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    now = timezone.now()
    tasks = OnboardingTask.objects.filter(plan__staff=member, status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED, updated_at=now
    )
    training = TrainingAssignment.objects.filter(staff=member, status=AssignmentStatus.ASSIGNED).update(
        status=AssignmentStatus.CANCELLED, updated_at=now
    )
    member.status, member.end_date = StaffStatus.OFFBOARDED, end_date
    with acting_as(actor):
        member.save(update_fields=["status", "end_date", "updated_at"])
    audit_event(
        action="staff.offboarded", actor=actor, target=member,
        summary=(f"Offboarded {member.full_name} (last day {end_date.isoformat()}): sign-in "
                 f"{'turned off' if user else 'none'}, {sessions} session(s) ended, {tokens} API token(s) revoked, "
                 f"{tasks} onboarding task(s) and {training} training assignment(s) closed"
                 + (f"; {reason.strip()[:200]}" if reason and reason.strip() else "")),
    )
    return member


def staff_document_check(file: UploadedFile | None, *, field: str, errors: dict) -> str:
    """The upload's sniffed content type ("" when there is no file); a problem (empty, too large, not a document)
    goes into `errors` under `field`."""
    limit = settings.DOCUMENT_MAX_BYTES
    if file is None:
        return ""
    if not file.size:
        errors[field] = ["Choose a file to upload; this one is empty."]
    elif file.size > limit:
        errors[field] = [f"The file is {filesizeformat(file.size)}; the limit is {filesizeformat(limit)}."]
    else:
        try:
            return sniff_content_type(file)
        except ValidationError as exc:
            errors[field] = exc.message_dict["file"]
    return ""


def staff_document_store(*, actor: User, member: StaffMember, file: UploadedFile, content_type: str,
                         title: str = "") -> StaffDocument:
    """File a checked upload (see staff_document_check) under a random name; call inside the caller's transaction."""
    original = PurePosixPath(file.name or "upload").name[:255]
    document = StaffDocument(
        organization_id=member.organization_id, staff=member, title=(title or PurePosixPath(original).stem)[:200],
        original_name=original, content_type=content_type, size=file.size, sha256=_digest(file), uploaded_by=actor,
    )
    document.file.save("upload" + ALLOWED_TYPES[content_type].extensions[0], file, save=False)
    with acting_as(actor):
        document.save()
    audit_event(action="staff_document.uploaded", actor=actor, target=document,
                summary=f"Filed {document.title} for {member.full_name}")
    return document

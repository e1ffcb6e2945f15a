"""The people who work at the practice: staff records and the skills a roster asks for."""

import uuid
from datetime import date
from decimal import Decimal
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinicdesk.core.choices import Role

from .choices import (
    AssignmentStatus,
    ChecklistCategory,
    CredentialKind,
    EmploymentType,
    StaffStatus,
    TaskStatus,
)
from .identifiers import dea_problem, license_problem, npi_problem


class Skill(models.Model):
    """A skill a shift can require (RN, charge nurse, phlebotomy...); staff hold several."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="skills")
    code = models.SlugField(max_length=30)
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="staff_skill_code_unique")]

    def __str__(self) -> str:
        return self.name


class StaffMember(models.Model):
    """One person employed or contracted by the practice, with or without a sign-in account."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="staff_members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="staff_member"
    )
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    job_title = models.CharField(max_length=80, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True, help_text="The sign-in role this job gets.")
    department = models.ForeignKey(
        "core.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="staff_members"
    )
    locations = models.ManyToManyField("core.Location", blank=True, related_name="staff_members")
    skills = models.ManyToManyField(Skill, blank=True, related_name="staff_members")
    employment_type = models.CharField(max_length=20, choices=EmploymentType.choices, default=EmploymentType.FULL_TIME)
    fte = models.DecimalField(
        "FTE", max_digits=3, decimal_places=2, default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1.50"))],
    )
    hire_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    status = models.CharField(max_length=20, choices=StaffStatus.choices, default=StaffStatus.ACTIVE)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_relation = models.CharField(max_length=40, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    npi = models.CharField("NPI", max_length=10, blank=True)
    taxonomy_code = models.CharField(
        max_length=10, blank=True, help_text="The NUCC provider taxonomy code (163W00000X for a registered nurse)."
    )
    dea_number = models.CharField("DEA number", max_length=9, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [models.Index(fields=["organization", "status"], name="staff_member_org_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fte__gte=0) & models.Q(fte__lte=Decimal("1.50")), name="staff_member_fte_range"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_clinician(self) -> bool:
        return self.role in (Role.CLINICIAN, Role.NURSE) or bool(self.npi)

    def clean(self) -> None:
        errors = {}
        if self.npi and (problem := npi_problem(self.npi)):
            errors["npi"] = problem
        if self.dea_number:
            self.dea_number = self.dea_number.strip().upper()
            if problem := dea_problem(self.dea_number):
                errors["dea_number"] = problem
        if self.taxonomy_code and not (len(self.taxonomy_code) == 10 and self.taxonomy_code.isalnum()):
            errors["taxonomy_code"] = "A taxonomy code is 10 letters and digits (163W00000X)."
        if self.end_date and self.hire_date and self.end_date < self.hire_date:
            errors["end_date"] = "The end date is before the hire date."
        if self.manager_id and self.pk and self.manager_id == self.pk:
            errors["manager"] = "A staff member cannot be their own manager."
        if errors:
            raise ValidationError(errors)


def staff_document_path(instance: "StaffDocument", filename: str) -> str:
    """A random name under the organization's folder; the original name is kept only in the row."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"staff/{instance.organization_id}/{uuid.uuid4().hex}{suffix}"


class StaffDocument(models.Model):
    """A licence scan, certificate or training evidence; served only through an audited, permission-checked view."""

    organization = models.ForeignKey("core.Organization", on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="documents")
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=staff_document_path, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["staff", "-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(size__gt=0), name="staff_document_not_empty")]

    def __str__(self) -> str:
        return self.title


class Credential(models.Model):
    """A licence, certificate, registration, immunisation or insurance a staff member holds, with its dates."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=30, choices=CredentialKind.choices)
    name = models.CharField(max_length=120, help_text="How the office calls it: RN licence, BLS, Flu shot 2026.")
    number = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=2, blank=True, help_text="For a state licence: the issuing state (NY).")
    issuer = models.CharField(max_length=120, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    required = models.BooleanField(default=True, help_text="The job cannot be worked while this has lapsed.")
    document = models.ForeignKey(StaffDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verification_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expires_on", "name", "id"]
        indexes = [models.Index(fields=["organization", "expires_on"], name="staff_credential_org_expiry")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True) | models.Q(issued_on__isnull=True)
                | models.Q(expires_on__gte=models.F("issued_on")),
                name="staff_credential_expiry_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}{' ' + self.state if self.state else ''}"

    @property
    def label(self) -> str:
        return str(self)

    def clean(self) -> None:
        errors = {}
        self.state = (self.state or "").strip().upper()
        self.number = (self.number or "").strip()
        if self.kind in (CredentialKind.STATE_LICENSE, CredentialKind.DEA):
            self.number = self.number.upper()
        if self.kind == CredentialKind.STATE_LICENSE:
            if not self.state:
                errors["state"] = "A state licence needs its state (NY)."
            elif not self.number:
                errors["number"] = "A state licence needs its number."
            elif problem := license_problem(self.state, self.number):
                errors["state" if "not a US state" in problem else "number"] = problem
        if self.kind == CredentialKind.DEA and (problem := dea_problem(self.number)):
            errors["number"] = problem
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            errors["expires_on"] = "The expiry date is before the issue date."
        if errors:
            raise ValidationError(errors)

    def status_on(self, day: date) -> str:
        """'expired', 'expiring' (within 90 days) or 'current'."""
        if self.expires_on is None:
            return "current"
        if self.expires_on < day:
            return "expired"
        return "expiring" if (self.expires_on - day).days <= 90 else "current"


class CredentialAlert(models.Model):
    """One expiry alert sent for a credential at a threshold (90, 60, 30 days, 0 = expired); never repeated."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="alerts")
    threshold_days = models.PositiveSmallIntegerField()
    expires_on = models.DateField(help_text="The expiry date the alert was about; a renewal starts a new series.")
    sent_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sent_on", "credential"]
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "expires_on", "threshold_days"], name="staff_credential_alert_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credential}: {self.threshold_days} days"


class Course(models.Model):
    """A training course; with renewal months it recurs (annual HIPAA, OSHA)."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    renewal_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Months until it must be taken again; empty for once only."
    )
    days_to_complete = models.PositiveSmallIntegerField(default=30, help_text="Days a new assignment gives.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "code"], name="staff_course_code_unique")]

    def __str__(self) -> str:
        return self.name


class TrainingAssignment(models.Model):
    """A course a staff member must complete by a date; completion carries evidence."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="training")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="assignments")
    due_date = models.DateField()
    status = models.CharField(max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED)
    completed_on = models.DateField(null=True, blank=True)
    evidence = models.ForeignKey(StaffDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evidence_note = models.CharField(max_length=200, blank=True, help_text="Certificate number, score or where it is filed.")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["organization", "status", "due_date"], name="staff_training_org_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "course"], condition=models.Q(status="assigned"), name="staff_training_one_open"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="completed") | models.Q(completed_on__isnull=False),
                name="staff_training_completed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course} for {self.staff}"

    def is_overdue(self, day: date) -> bool:
        return self.status == AssignmentStatus.ASSIGNED and self.due_date < day


class ChecklistTemplate(models.Model):
    """An onboarding checklist for a job (Medical assistant, Registered nurse): the tasks every new hire gets."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True, help_text="The sign-in role it is for.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="staff_checklist_name_unique")]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    """One task of a checklist: who does it and how many days from the start date it is due."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=160)
    category = models.CharField(max_length=20, choices=ChecklistCategory.choices, default=ChecklistCategory.OTHER)
    owner_role = models.CharField(
        max_length=20, choices=Role.choices, blank=True, help_text="Who does it; empty for the new hire."
    )
    due_offset_days = models.SmallIntegerField(default=0, help_text="Days after the start date (negative: before).")
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.title


class OnboardingPlan(models.Model):
    """A checklist applied to one new hire, from a start date."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="onboarding_plans")
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="plans")
    start_date = models.DateField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "id"]
        constraints = [models.UniqueConstraint(fields=["staff", "template"], name="staff_onboarding_once")]

    def __str__(self) -> str:
        return f"{self.template} for {self.staff}"


class OnboardingTask(models.Model):
    """One task of a new hire's onboarding, with its owner and due date."""

    plan = models.ForeignKey(OnboardingPlan, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=160)
    category = models.CharField(max_length=20, choices=ChecklistCategory.choices, default=ChecklistCategory.OTHER)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    due_date = models.DateField()
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    assignment = models.ForeignKey(TrainingAssignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "position", "id"]
        indexes = [models.Index(fields=["plan", "status"], name="staff_onboarding_task_status")]

    def __str__(self) -> str:
        return self.title

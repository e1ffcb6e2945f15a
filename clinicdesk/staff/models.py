"""The people who work at the practice: staff records and the skills a roster asks for."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinicdesk.core.choices import Role

from .choices import EmploymentType, StaffStatus


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

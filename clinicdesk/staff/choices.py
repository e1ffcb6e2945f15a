from django.db import models


class EmploymentType(models.TextChoices):
    FULL_TIME = "full_time", "Full time"
    PART_TIME = "part_time", "Part time"
    PER_DIEM = "per_diem", "Per diem"
    CONTRACTOR = "contractor", "Contractor"


class StaffStatus(models.TextChoices):
    ONBOARDING = "onboarding", "Onboarding"
    ACTIVE = "active", "Active"
    ON_LEAVE = "on_leave", "On leave"
    OFFBOARDED = "offboarded", "Offboarded"

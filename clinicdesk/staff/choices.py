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


class CredentialKind(models.TextChoices):
    STATE_LICENSE = "state_license", "State licence"
    CPR_BLS = "cpr_bls", "CPR / BLS"
    BOARD_CERTIFICATION = "board_certification", "Board certification"
    DEA = "dea", "DEA registration"
    TB_TEST = "tb_test", "TB test"
    FLU_VACCINE = "flu_vaccine", "Flu vaccination"
    MALPRACTICE = "malpractice", "Malpractice cover"
    OTHER = "other", "Other"


class ChecklistCategory(models.TextChoices):
    ACCOUNT = "account", "Accounts and access"
    BADGE = "badge", "Badge and keys"
    TRAINING = "training", "Training"
    POLICY = "policy", "Policy sign-off"
    EQUIPMENT = "equipment", "Equipment"
    OTHER = "other", "Other"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# Days before expiry at which the staff member and their manager hear about a credential.
ALERT_THRESHOLDS = (90, 60, 30)

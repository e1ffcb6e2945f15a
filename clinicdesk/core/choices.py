from django.db import models


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    CLINICIAN = "clinician", "Clinician (provider)"
    NURSE = "nurse", "Nurse / medical assistant"
    BILLER = "biller", "Biller"
    OFFICE_MANAGER = "office_manager", "Office manager"
    ADMINISTRATOR = "administrator", "Practice administrator"
    AUDITOR = "auditor", "Auditor"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"


class AuditChannel(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API"
    EXPORT = "export", "Export"
    PRINT = "print", "Print"
    SYSTEM = "system", "System"
    ADMIN = "admin", "Admin"


class RoomKind(models.TextChoices):
    EXAM = "exam", "Exam room"
    PROCEDURE = "procedure", "Procedure room"
    TREATMENT = "treatment", "Treatment room"
    LAB = "lab", "Lab"
    OFFICE = "office", "Office"
    OTHER = "other", "Other"


class ImportOutcome(models.TextChoices):
    """What one row of an imported file does (or would do, in a dry run)."""

    NEW = "new", "New"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    ERROR = "error", "Error"

"""Choices of the billing app: every status and kind, one TextChoices each."""

from django.db import models

# --- code sets and fee schedules ---------------------------------------------------------------------------


class CodeSystem(models.TextChoices):
    """Procedure code sets a practice imports itself (CPT is licensed by the AMA; HCPCS Level II is CMS's)."""

    CPT = "CPT", "CPT"
    HCPCS = "HCPCS", "HCPCS Level II"


class ImportOutcome(models.TextChoices):
    """What one row of a fee schedule file does (or would do, in a dry run)."""

    NEW = "new", "New"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    ERROR = "error", "Error"

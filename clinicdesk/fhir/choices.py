from django.db import models


class BulkExportStatus(models.TextChoices):
    """Where an HTTP `$export` stands: queued, being written, done (its files can be downloaded), failed, or
    cancelled/deleted by its client."""

    ACCEPTED = "accepted", "Accepted"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

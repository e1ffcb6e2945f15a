"""Statuses and kinds of the roster: periods, solve runs, time off and swap requests."""

from django.db import models


class PeriodStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


class SolveStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    CANCELLED = "cancelled", "Cancelled"


class ChangeKind(models.TextChoices):
    GIVEAWAY = "giveaway", "Give-away"
    SWAP = "swap", "Swap"


class ChangeStatus(models.TextChoices):
    OFFERED = "offered", "Waiting for the colleague"
    ACCEPTED = "accepted", "Waiting for the manager"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    CANCELLED = "cancelled", "Cancelled"

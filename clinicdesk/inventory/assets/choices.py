"""Kinds and statuses of the office's technology: assets, maintenance, service tickets and alerts."""

from django.db import models


class AssetKind(models.TextChoices):
    COMPUTER = "computer", "Computer"
    PRINTER = "printer", "Printer"
    PHONE = "phone", "Phone"
    NETWORK = "network", "Network gear"
    MEDICAL_DEVICE = "medical_device", "Medical device"
    SOFTWARE_LICENCE = "software_licence", "Software licence"
    OTHER = "other", "Other"


class AssetStatus(models.TextChoices):
    IN_USE = "in_use", "In use"
    IN_STOCK = "in_stock", "In stock"
    IN_REPAIR = "in_repair", "In repair"
    RETIRED = "retired", "Retired"
    DISPOSED = "disposed", "Disposed"


# An asset that has left service carries the date it left.
OUT_OF_SERVICE = (AssetStatus.RETIRED, AssetStatus.DISPOSED)


class IntervalUnit(models.TextChoices):
    DAYS = "days", "Days"
    MONTHS = "months", "Months"


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_VENDOR = "waiting_vendor", "Waiting on vendor"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# The moves a ticket may make; anything else is refused with a message naming both statuses.
TICKET_MOVES: dict[str, tuple[str, ...]] = {
    TicketStatus.OPEN: (TicketStatus.IN_PROGRESS, TicketStatus.WAITING_VENDOR, TicketStatus.RESOLVED),
    TicketStatus.IN_PROGRESS: (TicketStatus.WAITING_VENDOR, TicketStatus.RESOLVED, TicketStatus.OPEN),
    TicketStatus.WAITING_VENDOR: (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
    TicketStatus.RESOLVED: (TicketStatus.CLOSED, TicketStatus.IN_PROGRESS),
    TicketStatus.CLOSED: (),
}
TICKET_ACTIVE = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_VENDOR)


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketEntryKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    STATUS = "status", "Status change"


class AlertSubject(models.TextChoices):
    WARRANTY = "warranty", "Warranty"
    SUPPORT = "support", "Support contract"
    LICENCE = "licence", "Licence"
    MAINTENANCE = "maintenance", "Maintenance"


# Days before an expiry at which the office manager is told (0: it has expired, or maintenance is overdue).
ALERT_THRESHOLDS = (90, 60, 30)

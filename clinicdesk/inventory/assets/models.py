"""The office's technology: the asset register, who had each asset when, maintenance schedules and records,
service tickets with their timeline, and the expiry and due-date alerts already raised."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from .choices import (
    OUT_OF_SERVICE,
    AlertSubject,
    AssetKind,
    AssetStatus,
    IntervalUnit,
    TicketEntryKind,
    TicketPriority,
    TicketStatus,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


class Asset(models.Model):
    """One piece of the practice's technology: a computer, printer, phone, network device, medical device or a
    software licence, with its tag, where it is, who has it and when its cover runs out."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    tag = models.CharField(max_length=40, help_text="The asset tag on the label, unique in the practice.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=AssetKind.choices)
    status = models.CharField(max_length=20, choices=AssetStatus.choices, default=AssetStatus.IN_USE)
    make = models.CharField(max_length=80, blank=True)
    model = models.CharField(max_length=80, blank=True)
    serial_number = models.CharField(max_length=80, blank=True)
    location = models.ForeignKey("core.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey(
        "core.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_to = models.ForeignKey(
        "staff.StaffMember", null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    vendor = models.ForeignKey("ledger.Vendor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    purchase_date = models.DateField(null=True, blank=True)
    purchase_cost = models.DecimalField(**MONEY, null=True, blank=True, validators=[MinValueValidator(0)])
    warranty_expires = models.DateField(null=True, blank=True)
    support_expires = models.DateField("Support contract expires", null=True, blank=True)
    licence_expires = models.DateField(null=True, blank=True)
    licence_seats = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    retired_on = models.DateField("Retired or disposed on", null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tag"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "tag"], name="assets_asset_tag_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=OUT_OF_SERVICE, retired_on__isnull=False)
                | (~models.Q(status__in=OUT_OF_SERVICE) & models.Q(retired_on__isnull=True)),
                name="assets_asset_retired_on_with_status",
            ),
            models.CheckConstraint(
                condition=models.Q(purchase_cost__isnull=True) | models.Q(purchase_cost__gte=0),
                name="assets_asset_cost_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["organization", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.tag} {self.name}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.status in OUT_OF_SERVICE and self.retired_on is None:
            errors["retired_on"] = f"A {self.get_status_display().lower()} asset needs the date it left service."
        if self.status not in OUT_OF_SERVICE and self.retired_on is not None:
            errors["retired_on"] = "Only a retired or disposed asset has a retirement date; clear it or change the status."
        if self.licence_seats and self.kind != AssetKind.SOFTWARE_LICENCE:
            errors["licence_seats"] = "Seats are for software licences only."
        if self.licence_expires and self.kind != AssetKind.SOFTWARE_LICENCE:
            errors["licence_expires"] = "Only a software licence has a licence expiry; use the warranty or support date."
        if self.purchase_date and self.retired_on and self.retired_on < self.purchase_date:
            errors["retired_on"] = "It cannot leave service before it was bought."
        if errors:
            raise ValidationError(errors)

    @property
    def in_service(self) -> bool:
        return self.status not in OUT_OF_SERVICE

    def expiries(self) -> list[tuple[str, date]]:
        """The cover dates this asset has: (subject, date), for the alerts and the register's "expiring" filter."""
        dates = [(AlertSubject.WARRANTY, self.warranty_expires), (AlertSubject.SUPPORT, self.support_expires),
                 (AlertSubject.LICENCE, self.licence_expires)]
        return [(subject, when) for subject, when in dates if when is not None]


class AssetAssignment(models.Model):
    """Append-only history of who had an asset and where: each row is "from this date, held by ..."; the row
    after it ends it. Rows are never changed or removed, so the history can be trusted."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="assignments")
    staff = models.ForeignKey("staff.StaffMember", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("core.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("core.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    starts_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["asset", "-starts_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.asset.tag} from {self.starts_on}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError("The assignment history is append-only: record a new assignment instead.")
        super().save(*args, **kwargs)


class MaintenanceSchedule(models.Model):
    """Recurring maintenance of an asset (a device calibration every 12 months, a UPS battery check every 90
    days); the next due date follows from the last completed maintenance, or from the start date before any."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=120)
    interval_count = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    interval_unit = models.CharField(max_length=10, choices=IntervalUnit.choices, default=IntervalUnit.MONTHS)
    starts_on = models.DateField(help_text="When it is first due, before any maintenance is recorded.")
    vendor = models.ForeignKey("ledger.Vendor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_done_on = models.DateField(null=True, blank=True)
    next_due_on = models.DateField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["next_due_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(interval_count__gte=1), name="assets_schedule_interval_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} of {self.asset.tag}"

    @property
    def interval_label(self) -> str:
        unit = self.get_interval_unit_display().lower()
        return f"every {self.interval_count} {unit[:-1] if self.interval_count == 1 else unit}"

    def due_after(self, done_on: date) -> date:
        """The next due date when maintenance was done on `done_on`."""
        if self.interval_unit == IntervalUnit.DAYS:
            return done_on + relativedelta(days=self.interval_count)
        return done_on + relativedelta(months=self.interval_count)


class MaintenanceRecord(models.Model):
    """Maintenance done on an asset: when, by whom, the vendor, what was done and what it cost (the bill itself
    is entered in the ledger's bills)."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="maintenance")
    schedule = models.ForeignKey(MaintenanceSchedule, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="records")
    performed_on = models.DateField()
    performed_by = models.CharField(max_length=120, help_text="Who did it: a colleague or the vendor's technician.")
    vendor = models.ForeignKey("ledger.Vendor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cost = models.DecimalField(**MONEY, null=True, blank=True, validators=[MinValueValidator(0)])
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-performed_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(cost__isnull=True) | models.Q(cost__gte=0),
                                   name="assets_maintenance_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.asset.tag} on {self.performed_on}"


class ServiceTicket(models.Model):
    """A problem with an asset, from report to resolution; its status moves only through the ticket services."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="tickets")
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN)
    priority = models.CharField(max_length=10, choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    vendor = models.ForeignKey("ledger.Vendor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    vendor_reference = models.CharField(max_length=60, blank=True, help_text="The vendor's case number.")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class TicketEntry(models.Model):
    """One line of a ticket's timeline: a comment, or a status change with its note. Never edited."""

    ticket = models.ForeignKey(ServiceTicket, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=TicketEntryKind.choices, default=TicketEntryKind.COMMENT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    from_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.kind}"


class AssetAlert(models.Model):
    """One alert raised about an asset at a threshold (90, 60, 30 days; 0 = expired or overdue), never repeated:
    the (asset, subject, due date, threshold) is unique, and a renewed date starts a new series."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=20, choices=AlertSubject.choices)
    schedule = models.ForeignKey(MaintenanceSchedule, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="alerts")
    key = models.CharField(max_length=40, help_text="The subject, and the schedule for maintenance.")
    due_on = models.DateField()
    threshold_days = models.PositiveSmallIntegerField()
    raised_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-raised_on", "due_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "key", "due_on", "threshold_days"], name="assets_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.asset.tag} {self.subject}: {self.threshold_days} days"

    @property
    def message(self) -> str:
        what = self.schedule.name if self.schedule_id else self.get_subject_display()
        if self.threshold_days == 0:
            verb = "was due" if self.subject == AlertSubject.MAINTENANCE else "expired"
            return f"{what} of {self.asset.tag} {self.asset.name} {verb} {self.due_on:%b %d, %Y}"
        verb = "is due" if self.subject == AlertSubject.MAINTENANCE else "expires"
        return f"{what} of {self.asset.tag} {self.asset.name} {verb} {self.due_on:%b %d, %Y} (within {self.threshold_days} days)"

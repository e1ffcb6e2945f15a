"""Writes to maintenance: set up a recurring schedule, and record maintenance done (which moves the schedule's
next due date on from the day it was done)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.services.records import acting_as
from clinicdesk.staff.services.records import reject_unknown, same_org

from ..models import Asset, MaintenanceRecord, MaintenanceSchedule
from .assets import related_in_org

SCHEDULE_FIELDS = ("name", "interval_count", "interval_unit", "starts_on", "vendor", "active")
RECORD_FIELDS = ("schedule", "performed_on", "performed_by", "vendor", "cost", "notes")


@transaction.atomic
def schedule_save(*, actor: User, asset: Asset, schedule: MaintenanceSchedule | None = None,
                  data: dict) -> MaintenanceSchedule:
    """Set up (or change) recurring maintenance of an asset; its next due date is the start date until some
    maintenance is recorded, then the last maintenance plus the interval."""
    same_org(actor, asset, "asset")
    reject_unknown(data, SCHEDULE_FIELDS)
    related_in_org(actor, data, ("vendor",))
    creating = schedule is None
    if creating:
        schedule = MaintenanceSchedule(organization_id=asset.organization_id, asset=asset)
    for name, value in data.items():
        setattr(schedule, name, value.strip() if isinstance(value, str) else value)
    errors: dict = {}
    if schedule.starts_on is None:
        errors["starts_on"] = "Give the date it is first due."
    else:
        schedule.next_due_on = schedule.due_after(schedule.last_done_on) if schedule.last_done_on and (
            schedule.interval_count or 0) >= 1 else schedule.starts_on
    full_clean_or_raise(schedule, errors, exclude=["organization", "asset", "next_due_on"])
    with acting_as(actor):
        schedule.save()
    audit_event(action="asset.maintenance_scheduled" if creating else "asset.maintenance_schedule_changed",
                actor=actor, target=asset,
                summary=f"{schedule.name} of {asset.tag} {schedule.interval_label}, next due {schedule.next_due_on}")
    return schedule


@transaction.atomic
def maintenance_record(*, actor: User, asset: Asset, data: dict) -> MaintenanceRecord:
    """Record maintenance done on an asset; done against a schedule, the schedule's next due date moves on from
    the latest maintenance recorded for it (an older record filed late does not move it back)."""
    same_org(actor, asset, "asset")
    reject_unknown(data, RECORD_FIELDS)
    related_in_org(actor, data, ("vendor",))
    schedule = data.get("schedule")
    if schedule is not None and schedule.asset_id != asset.pk:
        raise ValidationError({"schedule": "That schedule belongs to another asset."})
    record = MaintenanceRecord(organization_id=asset.organization_id, asset=asset, recorded_by=actor)
    for name, value in data.items():
        setattr(record, name, value.strip() if isinstance(value, str) else value)
    if schedule is not None and record.vendor is None:
        record.vendor = schedule.vendor
    full_clean_or_raise(record, exclude=["organization", "asset", "recorded_by"])
    with acting_as(actor):
        record.save()
        if schedule is not None and (schedule.last_done_on is None or record.performed_on > schedule.last_done_on):
            schedule = MaintenanceSchedule.objects.select_for_update().get(pk=schedule.pk)
            schedule.last_done_on = record.performed_on
            schedule.next_due_on = schedule.due_after(record.performed_on)
            schedule.save(update_fields=["last_done_on", "next_due_on", "updated_at"])
    audit_event(action="asset.maintained", actor=actor, target=asset,
                summary=f"Recorded maintenance of {asset.tag} on {record.performed_on} by {record.performed_by}"
                + (f"; {schedule.name} next due {schedule.next_due_on}" if schedule is not None else ""))
    return record

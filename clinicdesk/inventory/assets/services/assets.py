"""Writes to the asset register: record or change an asset, hand it to someone (an append-only history row),
and take it out of service."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.services.records import acting_as
from clinicdesk.staff.services.records import reject_unknown, same_org

from ..choices import OUT_OF_SERVICE, AssetStatus
from ..models import Asset, AssetAssignment

ASSET_FIELDS = (
    "tag", "name", "kind", "status", "make", "model", "serial_number", "location", "department", "vendor",
    "purchase_date", "purchase_cost", "warranty_expires", "support_expires", "licence_expires", "licence_seats",
    "retired_on", "notes",
)
# Who has it and where: changed only through asset_assign, so each change leaves a history row.
HOLDER_FIELDS = ("assigned_to", "location", "department")


def related_in_org(actor: User, data: dict, fields: tuple[str, ...]) -> None:
    """Every related record named in `data` belongs to the actor's practice; a ValidationError names each that does not."""
    errors: dict = {}
    for field in fields:
        try:
            same_org(actor, data.get(field), field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def asset_save(*, actor: User, asset: Asset | None = None, data: dict) -> Asset:
    """Record a new asset, or change one; a new asset's location, department and holder open its history."""
    reject_unknown(data, ASSET_FIELDS + ("assigned_to",) if asset is None else ASSET_FIELDS)
    related_in_org(actor, data, ("location", "department", "vendor", "assigned_to"))
    creating = asset is None
    if creating:
        asset = Asset(organization_id=actor.organization_id)
    before = {name: getattr(asset, name) for name in ASSET_FIELDS}
    moved = not creating and any(name in data and data[name] != before[name] for name in ("location", "department"))
    for name, value in data.items():
        setattr(asset, name, value.strip() if isinstance(value, str) else value)
    if asset.status not in OUT_OF_SERVICE and "status" in data and "retired_on" not in data:
        asset.retired_on = None
    full_clean_or_raise(asset, exclude=["organization"])
    try:
        with transaction.atomic(), acting_as(actor):
            asset.save()
    except IntegrityError as exc:
        raise ValidationError({"tag": f"Another asset already has the tag {asset.tag}."}) from exc
    if creating or moved:
        _history_row(asset, actor=actor, note="Recorded" if creating else "Moved")
    changed = [name for name in ASSET_FIELDS if before[name] != getattr(asset, name)]
    audit_event(
        action="asset.recorded" if creating else "asset.changed", actor=actor, target=asset,
        summary=f"{'Recorded' if creating else 'Changed'} asset {asset.tag} {asset.name}",
        changes=None if creating else {name: [str(before[name]), str(getattr(asset, name))] for name in changed},
    )
    return asset


def _history_row(asset: Asset, *, actor: User | None, note: str, starts_on: date | None = None) -> AssetAssignment:
    return AssetAssignment.objects.create(
        organization_id=asset.organization_id, asset=asset, staff=asset.assigned_to, location=asset.location,
        department=asset.department, starts_on=starts_on or timezone.localdate(), note=note[:200], recorded_by=actor,
    )


@transaction.atomic
def asset_assign(*, actor: User, asset: Asset, staff=None, location=None, department=None,
                 starts_on: date | None = None, note: str = "") -> AssetAssignment:
    """Hand an asset to a staff member (or take it back: `staff` None) at a location and department, from a date;
    the change is a new history row, never an edit of an old one."""
    same_org(actor, asset, "asset")
    related_in_org(actor, {"assigned_to": staff, "location": location, "department": department},
                   ("assigned_to", "location", "department"))
    if not asset.in_service:
        raise ValidationError({"assigned_to": f"{asset.tag} is {asset.get_status_display().lower()}: it cannot be "
                                              "handed to anyone."})
    starts_on = starts_on or timezone.localdate()
    last = asset.assignments.order_by("-starts_on", "-pk").first()
    if last is not None and starts_on < last.starts_on:
        raise ValidationError({"starts_on": f"The history already runs to {last.starts_on:%b %d, %Y}; "
                                            "a new holder starts on or after it."})
    before = (asset.assigned_to, asset.location, asset.department)
    asset.assigned_to, asset.location, asset.department = staff, location, department
    if staff is not None and asset.status == AssetStatus.IN_STOCK:
        asset.status = AssetStatus.IN_USE
    with acting_as(actor):
        asset.save(update_fields=["assigned_to", "location", "department", "status", "updated_at"])
    row = _history_row(asset, actor=actor, note=(note or "").strip() or "Reassigned", starts_on=starts_on)
    holder = staff.full_name if staff is not None else "nobody"
    audit_event(action="asset.assigned", actor=actor, target=asset,
                summary=f"Assigned {asset.tag} to {holder} from {starts_on:%b %d, %Y}",
                changes={"holder": [str(v) for v in before], "to": [str(staff), str(location), str(department)]})
    return row

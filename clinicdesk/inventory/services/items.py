"""Items, packs, stock locations and par levels: the catalogue the stock ledger counts against."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Department, Location, Organization

from ..codes import cvx_normalise, gtin_normalise, ndc_normalise
from ..models import Item, Pack, StockBalance, StockLevel, StockLocation

QUANTITY_LIMIT = Decimal("1e11")  # what a quantity column (14 digits, 3 decimals) holds
ITEM_FIELDS = ("name", "kind", "sku", "base_unit", "ndc", "cvx", "preferred_vendor", "price", "valuation",
               "allow_negative", "tracks_lots", "tracks_serials", "is_active")


@transaction.atomic
def item_save(*, organization: Organization, actor, data: dict, item: Item | None = None) -> Item:
    """Add an item or change one; its NDC and CVX are checked and normalised, the vendor must be the practice's.
    Serial tracking is switched on or off only while nothing is on hand (the shelf would hold stock of the other
    kind), and only for an item whose packs hold whole units."""
    item = item or Item(organization=organization)
    vendor = data.get("preferred_vendor")
    if vendor is not None and vendor.organization_id != organization.pk:
        raise ValidationError({"preferred_vendor": "This vendor belongs to another practice."})
    was_serial = (not item._state.adding
                  and Item.objects.filter(pk=item.pk).values_list("tracks_serials", flat=True).first())
    for name in ITEM_FIELDS:
        if name in data:
            setattr(item, name, data[name])
    adding = item._state.adding
    item.ndc, item.cvx = ndc_normalise(item.ndc), cvx_normalise(item.cvx)  # before the length checks
    if item.ndc and Item.objects.filter(organization=organization, ndc=item.ndc).exclude(pk=item.pk).exists():
        raise ValidationError({"ndc": f"Another item already has NDC {item.ndc}."})
    item.full_clean(exclude=["average_cost"])
    if not adding and bool(item.tracks_serials) != bool(was_serial) and StockBalance.objects.filter(
            item=item).exclude(on_hand=0).exists():
        raise ValidationError({"tracks_serials": f"{item.name} has stock on hand: use, remove or count it to zero "
                                                 f"before changing serial tracking."})
    if item.tracks_serials and not adding:
        odd = next((p for p in item.packs.all() if p.quantity != p.quantity.to_integral_value()), None)
        if odd is not None:
            raise ValidationError({"tracks_serials": f"The {odd.name} of {item.name} holds "
                                                     f"{quantity_text(odd.quantity)} {item.base_unit}: an item "
                                                     f"tracked by serial number comes in whole units."})
    if adding:
        item.average_cost = item.price
        item.save()
    else:
        item.save(update_fields=[*ITEM_FIELDS, "updated_at"])
    audit_event(action="inventory.item_added" if adding else "inventory.item_changed", actor=actor, target=item,
                organization_id=organization.pk, summary=f"Item {item.name}"[:300])
    return item


@transaction.atomic
def pack_add(*, item: Item, name: str, quantity: Decimal, actor, gtin: str = "") -> Pack:
    """A pack the item comes in (box of 100 = 100 base units), with its barcode, unique in the practice."""
    gtin = gtin_normalise(gtin)
    if gtin and Pack.objects.filter(organization_id=item.organization_id, gtin=gtin).exists():
        raise ValidationError({"gtin": f"GTIN {gtin} is already on another pack."})
    if Pack.objects.filter(item=item, name__iexact=name.strip()).exists():
        raise ValidationError({"name": f"{item.name} already has a pack called {name.strip()}."})
    if item.tracks_serials and quantity is not None and quantity != quantity.to_integral_value():
        raise ValidationError({"quantity": f"{item.name} is tracked by serial number: a pack holds whole units."})
    pack = Pack(organization_id=item.organization_id, item=item, name=name.strip(), quantity=quantity, gtin=gtin)
    pack.full_clean()
    pack.save()
    audit_event(action="inventory.pack_added", actor=actor, target=pack, organization_id=item.organization_id,
                summary=f"{item.name}: {pack}"[:300])
    return pack


@transaction.atomic
def stock_location_create(*, organization: Organization, name: str, location: Location, department: Department,
                          actor, kind: str = "") -> StockLocation:
    """A shelf, room or fridge where stock is kept, in one location and charged to one department."""
    place = StockLocation(organization=organization, name=name.strip(), location=location, department=department)
    if kind:
        place.kind = kind
    if StockLocation.objects.filter(organization=organization, name__iexact=place.name).exists():
        raise ValidationError({"name": f"Another stock location is called {place.name}."})
    place.full_clean()
    place.save()
    audit_event(action="inventory.stock_location_added", actor=actor, target=place, organization_id=organization.pk,
                summary=f"Stock location {place.name}"[:300])
    return place


@transaction.atomic
def stock_location_update(*, stock_location: StockLocation, actor, name: str, location: Location,
                          department: Department, kind: str, is_active: bool) -> StockLocation:
    """Rename a stock location, move it, charge it to another department, or close it (no new stock goes there)."""
    place = stock_location
    if StockLocation.objects.filter(organization_id=place.organization_id, name__iexact=name.strip()).exclude(
            pk=place.pk).exists():
        raise ValidationError({"name": f"Another stock location is called {name.strip()}."})
    place.name, place.location, place.department = name.strip(), location, department
    place.kind, place.is_active = kind or place.kind, is_active
    place.full_clean()
    place.save(update_fields=["name", "location", "department", "kind", "is_active", "updated_at"])
    audit_event(action="inventory.stock_location_changed", actor=actor, target=place,
                organization_id=place.organization_id, summary=f"Stock location {place.name}"[:300])
    return place


@transaction.atomic
def stock_level_set(*, item: Item, stock_location: StockLocation, par_level: Decimal, reorder_point: Decimal,
                    actor) -> StockLevel:
    """Set the par level and reorder point of an item in one stock location."""
    if stock_location.organization_id != item.organization_id:
        raise ValidationError({"stock_location": "This stock location belongs to another practice."})
    level = StockLevel.objects.filter(item=item, stock_location=stock_location).first() or StockLevel(
        organization_id=item.organization_id, item=item, stock_location=stock_location)
    level.par_level, level.reorder_point = par_level, reorder_point
    level.full_clean()
    level.save()
    audit_event(action="inventory.stock_level_set", actor=actor, target=level, organization_id=item.organization_id,
                summary=f"{item.name} in {stock_location}: par {par_level}, reorder at {reorder_point}"[:300])
    return level


def quantity_text(quantity: Decimal | None) -> str:
    """A quantity as people write it: 2.5, 100, never 1E+2 or 2.500 (empty for none)."""
    return "" if quantity is None else f"{quantity.normalize():f}"


def quantity_in_base(*, item: Item, quantity, unit: str = "", field: str = "quantity") -> Decimal:
    """A quantity in one of the item's packs (by name) or in its base unit, as base units. A unit the item does not
    come in is refused, naming the `unit` field."""
    try:
        amount = quantity if isinstance(quantity, Decimal) else Decimal(str(quantity).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"{quantity!r} is not a quantity."}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({field: "The quantity is more than zero."})
    if amount >= QUANTITY_LIMIT or amount != amount.quantize(Decimal("0.001")):
        raise ValidationError({field: "A quantity is below 100,000,000,000 with at most 3 decimals."})
    unit = (unit or "").strip()
    if not unit or unit.lower() == item.base_unit.lower():
        return _whole_if_serial(item, amount, field)
    pack = next((p for p in item.packs.all() if p.name.lower() == unit.lower()), None)
    if pack is None:
        units = ", ".join([item.base_unit, *(p.name for p in item.packs.all())])
        raise ValidationError({"unit": f"{item.name} does not come in '{unit}': use one of {units}."})
    base = amount * pack.quantity
    if base >= QUANTITY_LIMIT:
        raise ValidationError({field: "A quantity is below 100,000,000,000 with at most 3 decimals."})
    return _whole_if_serial(item, base, field)


def _whole_if_serial(item: Item, base: Decimal, field: str) -> Decimal:
    if item.tracks_serials and base != base.to_integral_value():
        raise ValidationError({field: f"{item.name} is counted in whole units, one per serial number."})
    return base

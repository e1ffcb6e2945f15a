"""API routes of the supplies app (/api/v1/inventory): items, on hand by stock location, and stock movements posted
through the same services as the pages. Quantities and amounts are strings; identifiers are strings."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field, StrictBool, StrictStr

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.permissions import Perm

from . import selectors
from .choices import ItemKind, MovementKind
from .codes import ndc_display
from .models import Item, Lot, StockLocation, StockMovement
from .services.items import quantity_in_base
from .services.stock import stock_consume, stock_receive, stock_remove

router = Router(tags=["inventory"])
LIST_MAX = 200


class ItemOut(Schema):
    id: str
    name: str
    kind: str
    sku: str
    base_unit: str
    ndc: str
    cvx: str
    price: str
    valuation: str
    on_hand: str
    packs: list[dict]


class ItemListOut(Schema):
    count: int
    limit: int
    offset: int
    items: list[ItemOut]


class ItemQuery(Strict):
    q: str = Field("", max_length=100)
    kind: ItemKind | None = None
    limit: int = Field(50, ge=1, le=LIST_MAX)
    offset: int = Field(0, ge=0)


class OnHandOut(Schema):
    item_id: str
    item: str
    stock_location_id: str
    stock_location: str
    on_hand: str
    base_unit: str
    par_level: str | None
    reorder_point: str | None


class OnHandQuery(Strict):
    stock_location: int | None = None
    limit: int = Field(50, ge=1, le=LIST_MAX)
    offset: int = Field(0, ge=0)


class MovementIn(Strict):
    kind: Literal["receipt", "consumption", "waste", "expiry", "return"]
    item_id: StrictStr = ""
    gtin: StrictStr = ""
    stock_location_id: StrictStr
    quantity: StrictStr
    unit: StrictStr = ""
    lot_number: StrictStr = ""
    expires_on: date | None = None
    unit_cost: StrictStr = ""
    confirm_expired: StrictBool = False
    patient_mrn: StrictStr = ""
    encounter_ref: StrictStr = Field("", max_length=64)
    reason: StrictStr = Field("", max_length=200)


class MovementOut(Schema):
    id: str
    kind: str
    item_id: str
    stock_location_id: str
    lot: str
    expires_on: date | None
    quantity: str
    value: str
    occurred_on: date


def _qty(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


@router.get("/items", response={200: ItemListOut}, summary="The practice's items with what is on hand")
@api_requires(Perm.INVENTORY_VIEW)
def inventory_item_list(request: HttpRequest, filters: Query[ItemQuery]):
    items = selectors.item_list(user=request.user, q=filters.q, kind=filters.kind or "").prefetch_related("packs")
    page = list(items[filters.offset:filters.offset + filters.limit])
    return {"count": items.count(), "limit": filters.limit, "offset": filters.offset, "items": [
        {"id": str(i.pk), "name": i.name, "kind": i.kind, "sku": i.sku, "base_unit": i.base_unit,
         "ndc": ndc_display(i.ndc), "cvx": i.cvx, "price": str(i.price), "valuation": i.valuation,
         "on_hand": _qty(i.on_hand), "packs": [{"name": p.name, "quantity": _qty(p.quantity), "gtin": p.gtin}
                                                for p in i.packs.all()]} for i in page]}


@router.get("/on-hand", response={200: list[OnHandOut]}, summary="On hand per item and stock location")
@api_requires(Perm.INVENTORY_VIEW)
def inventory_on_hand(request: HttpRequest, filters: Query[OnHandQuery]):
    rows = selectors.on_hand_by_location(user=request.user, stock_location_id=filters.stock_location)
    return [{"item_id": str(r["item_id"]), "item": r["item_name"], "stock_location_id": str(r["stock_location_id"]),
             "stock_location": r["stock_location_name"], "on_hand": _qty(r["on_hand"]), "base_unit": r["base_unit"],
             "par_level": _qty(r["par_level"]), "reorder_point": _qty(r["reorder_point"])}
            for r in selectors.with_levels(rows[filters.offset:filters.offset + filters.limit],
                                           organization_id=request.user.organization_id)]


def _one(model, org_id: int, raw: str, field: str, what: str):
    found = model.objects.filter(pk=int(raw), organization_id=org_id).first() if raw.isdigit() else None
    if found is None:
        raise ValidationError({field: f"No such {what}."})
    return found


def _movement_out(m: StockMovement) -> dict:
    return {"id": str(m.pk), "kind": m.kind, "item_id": str(m.item_id), "stock_location_id": str(m.stock_location_id),
            "lot": m.lot.number, "expires_on": m.lot.expires_on, "quantity": _qty(m.quantity), "value": str(m.value),
            "occurred_on": m.occurred_on}


@router.post("/movements", response={201: list[MovementOut], 400: ErrorsOut, 403: DetailOut},
             summary="Post a stock movement")
@api_requires(Perm.INVENTORY_USE)
def stock_movement_post(request: HttpRequest, payload: MovementIn):
    """Receive, use (FEFO when no lot is named), waste, expire or return stock. Name the item by `item_id` or
    `gtin`; `quantity` is a string in `unit` (a pack name, or the base unit when empty). A bad field is named and
    nothing is posted."""
    org_id = request.user.organization_id
    if payload.gtin:
        pack = selectors.pack_for_gtin(user=request.user, gtin=payload.gtin)
        if pack is None:
            raise ValidationError({"gtin": "No pack of ours has this GTIN."})
        item, unit = pack.item, payload.unit or pack.name
    else:
        item, unit = _one(Item, org_id, payload.item_id, "item_id", "item"), payload.unit
    place = _one(StockLocation, org_id, payload.stock_location_id, "stock_location_id", "stock location")
    with transaction.atomic():
        quantity = quantity_in_base(item=item, quantity=payload.quantity, unit=unit)
        lot = Lot.objects.filter(item=item, number=payload.lot_number.strip()).first() if payload.lot_number else None
        if payload.kind == MovementKind.RECEIPT:
            try:
                cost = Decimal(payload.unit_cost) if payload.unit_cost else None
            except InvalidOperation:
                raise ValidationError({"unit_cost": f"{payload.unit_cost!r} is not an amount."}) from None
            made = [stock_receive(item=item, stock_location=place, quantity=quantity, actor=request.user,
                                  lot_number=payload.lot_number, expires_on=payload.expires_on, unit_cost=cost,
                                  confirm_expired=payload.confirm_expired)]
        elif payload.kind == MovementKind.CONSUMPTION:
            patient = (selectors.patient_by_mrn(user=request.user, mrn=payload.patient_mrn)
                       if payload.patient_mrn else None)
            if payload.lot_number and lot is None:
                raise ValidationError({"lot_number": f"{item.name} has no lot {payload.lot_number}."})
            made = stock_consume(item=item, stock_location=place, quantity=quantity, actor=request.user, lot=lot,
                                 patient=patient, encounter_ref=payload.encounter_ref, reason=payload.reason)
        else:
            if lot is None:
                raise ValidationError({"lot_number": f"Name the lot of {item.name} to remove."})
            made = [stock_remove(item=item, stock_location=place, lot=lot, quantity=quantity, kind=payload.kind,
                                 reason=payload.reason, actor=request.user)]
    return Status(201, [_movement_out(m) for m in made])

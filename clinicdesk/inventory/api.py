"""API routes of the supplies app (/api/v1/inventory): items, on hand by stock location, stock movements and purchase
orders (suggested, drafted, approved, received) posted through the same services as the pages. Quantities and amounts are strings; identifiers are strings."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field, StrictBool, StrictStr

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.models import Vendor

from . import selectors
from .choices import ItemKind, MovementKind
from .codes import ndc_display
from .models import Item, Lot, StockLocation, StockMovement
from .services import purchasing as po
from .services.items import quantity_in_base, quantity_text
from .services.serials import stock_receive_tracked
from .services.stock import stock_consume, stock_remove

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
    tracks_lots: bool
    tracks_serials: bool
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
    lot_number: StrictStr = Field("", max_length=40)
    serials: list[StrictStr] = Field(default_factory=list, max_length=1000)
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
    is_serial: bool
    expires_on: date | None
    quantity: str
    value: str
    occurred_on: date


def _qty(value: Decimal | None) -> str | None:
    return quantity_text(value) if value is not None else None


@router.get("/items", response={200: ItemListOut}, summary="The practice's items with what is on hand")
@api_requires(Perm.INVENTORY_VIEW)
def inventory_item_list(request: HttpRequest, filters: Query[ItemQuery]):
    items = selectors.item_list(user=request.user, q=filters.q, kind=filters.kind or "").prefetch_related("packs")
    page = list(items[filters.offset:filters.offset + filters.limit])
    return {"count": items.count(), "limit": filters.limit, "offset": filters.offset, "items": [
        {"id": str(i.pk), "name": i.name, "kind": i.kind, "sku": i.sku, "base_unit": i.base_unit,
         "ndc": ndc_display(i.ndc), "cvx": i.cvx, "price": str(i.price), "valuation": i.valuation,
         "tracks_lots": i.tracks_lots, "tracks_serials": i.tracks_serials,
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
            "lot": m.lot.number, "is_serial": m.lot.is_serial, "expires_on": m.lot.expires_on, "quantity": _qty(m.quantity), "value": str(m.value),
            "occurred_on": m.occurred_on}


@router.post("/movements", response={201: list[MovementOut], 400: ErrorsOut, 403: DetailOut},
             summary="Post a stock movement")
@api_requires(Perm.INVENTORY_USE)
def stock_movement_post(request: HttpRequest, payload: MovementIn):
    """Receive, use (FEFO when no lot is named), waste, expire or return stock. Name the item by `item_id` or
    `gtin`; `quantity` is a string in `unit` (a pack name, or the base unit when empty). A serial-tracked item is
    received with `serials` (one per unit, their count the quantity) and used, wasted or returned by naming its
    serial in `lot_number`; one movement per serial. A bad field is named and nothing is posted."""
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
            made = stock_receive_tracked(item=item, stock_location=place, quantity=quantity, actor=request.user,
                                         lot_number=payload.lot_number, serials=payload.serials,
                                         expires_on=payload.expires_on, unit_cost=cost,
                                         confirm_expired=payload.confirm_expired)
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


# --- purchasing ----------------------------------------------------------------------------------------------------


class OrderLineOut(Schema):
    position: int
    item_id: str
    item: str
    quantity: str
    unit: str
    unit_price: str
    total: str
    received: str
    backorder: str


class OrderOut(Schema):
    id: str
    number: str
    vendor: str
    stock_location_id: str
    status: str
    ordered_on: date | None
    expected_on: date | None
    total: str
    override_reason: str
    lines: list[OrderLineOut] | None = None


class OrderListOut(Schema):
    count: int
    limit: int
    offset: int
    orders: list[OrderOut]


class OrderQuery(Strict):
    status: Literal["", "open", "backorder", "draft", "awaiting_approval", "approved", "sent", "partly_received",
                    "received", "closed", "cancelled"] = ""
    q: str = Field("", max_length=100)
    limit: int = Field(50, ge=1, le=LIST_MAX)
    offset: int = Field(0, ge=0)


class OrderLineIn(Strict):
    item_id: StrictStr
    quantity: StrictStr
    unit: StrictStr = Field("", max_length=40)
    unit_price: StrictStr = ""


class OrderIn(Strict):
    number: StrictStr = Field("", max_length=30)
    vendor_id: StrictStr
    stock_location_id: StrictStr
    expected_on: date | None = None
    vendor_email: StrictStr = Field("", max_length=254)
    notes: StrictStr = Field("", max_length=500)
    lines: list[OrderLineIn] = Field(..., max_length=200)


class ApproveIn(Strict):
    override_reason: StrictStr = Field("", max_length=300)


class ReceiptLineIn(Strict):
    position: int
    quantity: StrictStr
    unit: StrictStr | None = Field(None, max_length=40)
    lot_number: StrictStr = Field("", max_length=40)
    serials: list[StrictStr] = Field(default_factory=list, max_length=1000)
    expires_on: date | None = None
    confirm_expired: StrictBool = False


class ReceiveIn(Strict):
    lines: list[ReceiptLineIn] = Field(..., max_length=200)
    received_on: date | None = None
    expected_on: date | None = None


class SuggestionOut(Schema):
    item_id: str
    item: str
    stock_location_id: str
    vendor: str
    on_hand: str
    on_order: str
    used_30_days: str
    order_quantity: str
    unit: str
    total: str


def _amount(raw: str, field: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        raise ValidationError({field: f"{raw!r} is not a number."}) from None
    if not value.is_finite():
        raise ValidationError({field: f"{raw!r} is not a number."})
    return value


def _order_out(order, *, lines=None) -> dict:
    out = {"id": str(order.pk), "number": order.number, "vendor": order.vendor.name,
           "stock_location_id": str(order.stock_location_id), "status": order.status, "ordered_on": order.ordered_on,
           "expected_on": order.expected_on, "override_reason": order.override_reason,
           "total": str(order.total) if hasattr(order, "total") else "0"}
    if lines is not None:
        out["total"] = str(sum((ln.total for ln in lines), Decimal("0")))
        out["lines"] = [{"position": ln.position, "item_id": str(ln.item_id), "item": ln.item.name,
                         "quantity": _qty(ln.quantity), "unit": ln.unit or ln.item.base_unit,
                         "unit_price": str(ln.unit_price), "total": str(ln.total), "received": _qty(ln.received),
                         "backorder": _qty(ln.outstanding)} for ln in lines]
    return out


def _order_detail(request, purchase_order_id: int) -> dict:
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    return _order_out(order, lines=list(selectors.purchase_order_lines(order=order)))


@router.get("/orders", response={200: OrderListOut}, summary="The practice's purchase orders, newest first")
@api_requires(Perm.INVENTORY_MANAGE)
def purchase_order_list(request: HttpRequest, filters: Query[OrderQuery]):
    orders = selectors.purchase_order_list(user=request.user, status=filters.status, q=filters.q)
    page = list(orders[filters.offset:filters.offset + filters.limit])
    return {"count": orders.count(), "limit": filters.limit, "offset": filters.offset,
            "orders": [_order_out(o) | {"total": f"{o.total:.2f}"} for o in page]}


@router.get("/orders/{purchase_order_id}", response={200: OrderOut, 404: DetailOut}, summary="A purchase order")
@api_requires(Perm.INVENTORY_MANAGE)
def purchase_order_detail(request: HttpRequest, purchase_order_id: int):
    return _order_detail(request, purchase_order_id)


@router.post("/orders", response={201: OrderOut, 400: ErrorsOut, 403: DetailOut}, summary="Draft a purchase order")
@api_requires(Perm.INVENTORY_MANAGE)
def purchase_order_create(request: HttpRequest, payload: OrderIn):
    """A draft order (without `vendor_email`, the vendor's address); each line names its item, a quantity (string) in `unit` (a pack or the base unit) and
    optionally its price per unit. A duplicate number or a bad line is named (`line_<n>_<field>`)."""
    org_id = request.user.organization_id
    vendor = _one(Vendor, org_id, payload.vendor_id, "vendor_id", "vendor")
    place = _one(StockLocation, org_id, payload.stock_location_id, "stock_location_id", "stock location")
    lines = []
    for n, line in enumerate(payload.lines, start=1):
        item = _one(Item, org_id, line.item_id, f"line_{n}_item", "item")
        price = _amount(line.unit_price, f"line_{n}_unit_price") if line.unit_price else None
        lines.append(po.LineIn(item=item, quantity=_amount(line.quantity, f"line_{n}_quantity"), unit=line.unit,
                               unit_price=price))
    order = po.purchase_order_create(organization=request.user.organization, vendor=vendor, stock_location=place,
                                     lines=lines, actor=request.user, number=payload.number,
                                     expected_on=payload.expected_on, vendor_email=payload.vendor_email,
                                     notes=payload.notes)
    return Status(201, _order_detail(request, order.pk))


@router.post("/orders/{purchase_order_id}/submit", response={200: OrderOut, 400: ErrorsOut, 403: DetailOut,
                                                            404: DetailOut}, summary="Send a draft for approval")
@api_requires(Perm.INVENTORY_MANAGE)
def purchase_order_submit(request: HttpRequest, purchase_order_id: int):
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    po.purchase_order_submit(order=order, actor=request.user)
    return _order_detail(request, order.pk)


@router.post("/orders/{purchase_order_id}/approve", response={200: OrderOut, 400: ErrorsOut, 403: DetailOut,
                                                             404: DetailOut}, summary="Approve an order")
@api_requires(Perm.INVENTORY_MANAGE)
def purchase_order_approve(request: HttpRequest, purchase_order_id: int, payload: ApproveIn):
    """Approve an order awaiting approval, by someone other than who created or submitted it (`approved_by`);
    over the department's budget it needs `override_reason` (a manager)."""
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    po.purchase_order_approve(order=order, actor=request.user, override_reason=payload.override_reason)
    return _order_detail(request, order.pk)


@router.post("/orders/{purchase_order_id}/receive", response={200: OrderOut, 400: ErrorsOut, 403: DetailOut,
                                                             404: DetailOut}, summary="Receive what arrived")
@api_requires(Perm.INVENTORY_MANAGE)
def purchase_order_receive(request: HttpRequest, purchase_order_id: int, payload: ReceiveIn):
    """Receive lines by position: a quantity (string) in the line's unit unless `unit` is given, its lot and expiry
    (a serial-tracked item: `serials`, one per unit).
    More than is still to come, an expired lot without `confirm_expired`, or a unit that does not convert is named
    (`line_<n>_<field>`) and nothing is received."""
    order = selectors.purchase_order_get(user=request.user, purchase_order_id=purchase_order_id)
    lines = {ln.position: ln for ln in order.lines.select_related("item")}
    specs = []
    for row in payload.lines:
        line = lines.get(row.position)
        if line is None:
            raise ValidationError({"lines": f"Order {order.number} has no line {row.position}."})
        specs.append(po.ReceiptIn(line=line, quantity=_amount(row.quantity, f"line_{row.position}_quantity"),
                                  unit=row.unit, lot_number=row.lot_number, serials=tuple(row.serials),
                                  expires_on=row.expires_on, confirm_expired=row.confirm_expired))
    po.purchase_order_receive(order=order, receipts=specs, actor=request.user, received_on=payload.received_on,
                              expected_on=payload.expected_on)
    return _order_detail(request, order.pk)


@router.get("/suggested-orders", response={200: list[SuggestionOut]}, summary="What to order")
@api_requires(Perm.INVENTORY_MANAGE)
def suggested_order_list(request: HttpRequest):
    return [{"item_id": str(r.item.pk), "item": r.item.name, "stock_location_id": str(r.stock_location.pk),
             "vendor": r.vendor.name if r.vendor else "", "on_hand": _qty(r.on_hand), "on_order": _qty(r.on_order),
             "used_30_days": _qty(r.used), "order_quantity": _qty(r.order_quantity),
             "unit": r.order_unit or r.item.base_unit, "total": str(r.total)}
            for r in selectors.suggested_orders(user=request.user, today=timezone.localdate())]

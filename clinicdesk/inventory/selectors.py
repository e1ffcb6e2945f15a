"""Every read of the inventory app, scoped to the acting user's practice (or, for the goals KPI, an organization)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from clinicdesk.patients.models import Patient

from .choices import MovementKind, PurchaseOrderStatus
from .codes import gtin_normalise
from .models import (
    OPEN_ORDER_STATUSES,
    Item,
    Lot,
    Pack,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    StockBalance,
    StockLevel,
    StockLocation,
    StockMovement,
)

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=3))


def item_list(*, user, q: str = "", kind: str = "") -> QuerySet[Item]:
    """The practice's items with their total on hand, by name; `q` finds name, SKU, NDC or CVX."""
    items = Item.objects.filter(organization_id=user.organization_id).select_related("preferred_vendor")
    q = " ".join((q or "").split())
    if q:
        digits = q.replace("-", "")
        items = items.filter(Q(name__icontains=q) | Q(sku__iexact=q) | Q(ndc__icontains=digits) | Q(cvx=q))
    if kind:
        items = items.filter(kind=kind)
    on_hand = (StockBalance.objects.filter(item=OuterRef("pk")).order_by().values("item")
               .annotate(t=Sum("on_hand")).values("t"))
    return items.annotate(on_hand=Coalesce(Subquery(on_hand), ZERO)).order_by("name", "id")


def item_get(*, user, item_id: int) -> Item:
    item = Item.objects.filter(pk=item_id, organization_id=user.organization_id).select_related(
        "preferred_vendor").first()
    if item is None:
        raise Http404("No such item.")
    return item


def stock_location_list(*, user) -> QuerySet[StockLocation]:
    return StockLocation.objects.filter(organization_id=user.organization_id, is_active=True).select_related(
        "location", "department").order_by("name")


def stock_location_all(*, user) -> QuerySet[StockLocation]:
    """Every stock location of the practice, closed ones too (the setup page), by name."""
    return StockLocation.objects.filter(organization_id=user.organization_id).select_related(
        "location", "department").order_by("-is_active", "name")


def stock_location_get(*, user, stock_location_id: int) -> StockLocation:
    place = StockLocation.objects.filter(pk=stock_location_id, organization_id=user.organization_id).first()
    if place is None:
        raise Http404("No such stock location.")
    return place


def lot_get(*, user, lot_id: int) -> Lot:
    lot = Lot.objects.filter(pk=lot_id, organization_id=user.organization_id).select_related("item").first()
    if lot is None:
        raise Http404("No such lot.")
    return lot


def patient_by_mrn(*, user, mrn: str, field: str = "patient_mrn"):
    """The practice's patient with this MRN (a use for a patient names them so); a bad MRN names the field."""
    patient = Patient.objects.filter(organization_id=user.organization_id, mrn=(mrn or "").strip()).first()
    if patient is None:
        raise ValidationError({field: f"No patient has MRN {mrn}."})
    return patient


def pack_for_gtin(*, user, gtin: str) -> Pack | None:
    """The practice's pack with this barcode (a scanner types it into the form), or None."""
    code = gtin_normalise(gtin)
    if not code:
        return None
    return Pack.objects.filter(organization_id=user.organization_id, gtin=code).select_related("item").first()


class OnHandRows:
    """On hand per item and stock location (lots summed), as dictionaries, by location name then item name.

    Read one stock location at a time: the count is a count of items per location, and a page reads only the
    locations it spans, grouped and ordered over those locations' balances alone. Grouping and ordering every
    balance of the practice for each page grows with the whole stock (200,000 balances for 10,000 items in 20
    locations); this grows with one location. Django's paginator takes it like a queryset (`count`, slices);
    iterating reads every row in one grouped query (the CSV export)."""

    def __init__(self, *, organization_id: int, stock_location_id: int | None = None, q: str = ""):
        self.rows = StockBalance.objects.filter(organization_id=organization_id)
        if stock_location_id:
            self.rows = self.rows.filter(stock_location_id=stock_location_id)
        if q:
            self.rows = self.rows.filter(item__name__icontains=q)
        self._counts: list[tuple[int, int]] | None = None

    def _grouped(self, rows: QuerySet) -> QuerySet:
        return (rows.values("item_id", "stock_location_id").order_by()
                .annotate(on_hand=Sum("on_hand"), item_name=F("item__name"), base_unit=F("item__base_unit"),
                          stock_location_name=F("stock_location__name")))

    def counts(self) -> list[tuple[int, int]]:
        """(stock location id, items in it) in the order of the locations' names."""
        if self._counts is None:
            per_place = dict(self.rows.order_by().values("stock_location_id")
                             .annotate(n=Count("item_id", distinct=True)).values_list("stock_location_id", "n"))
            names = StockLocation.objects.filter(pk__in=list(per_place)).order_by("name", "pk").values_list("pk", flat=True)
            self._counts = [(pk, per_place[pk]) for pk in names]
        return self._counts

    def count(self) -> int:
        return sum(n for _, n in self.counts())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key):
        if isinstance(key, int):
            return self[key:key + 1][0]
        start, stop = key.start or 0, key.stop if key.stop is not None else self.count()
        if stop <= start:
            return []
        # The locations the slice spans are consecutive in name order: one query over their balances alone.
        spanned, offset, seen = [], 0, 0
        for place_id, n in self.counts():
            if seen + n > start and seen < stop:
                if not spanned:
                    offset = start - seen
                spanned.append(place_id)
            seen += n
        if not spanned:
            return []
        return list(self._grouped(self.rows.filter(stock_location_id__in=spanned))
                    .order_by("stock_location__name", "item__name", "item_id", "stock_location_id")
                    [offset:offset + stop - start])

    def __iter__(self):
        return iter(self._grouped(self.rows).order_by("stock_location__name", "item__name", "item_id",
                                                      "stock_location_id"))


def on_hand_by_location(*, user, stock_location_id: int | None = None, q: str = "") -> OnHandRows:
    """On hand per item and stock location, by location then item (see `OnHandRows`). The par level and reorder
    point are added to the rows shown with `with_levels`."""
    return OnHandRows(organization_id=user.organization_id, stock_location_id=stock_location_id, q=q)


def with_levels(rows, *, organization_id: int) -> list[dict]:
    """The rows of `on_hand_by_location` with their par level and reorder point (one query for the rows given)."""
    rows = list(rows)
    levels = StockLevel.objects.filter(organization_id=organization_id)
    if len(rows) <= 500:  # a page: only its items; an export: every level of the practice
        levels = levels.filter(item_id__in={r["item_id"] for r in rows})
    levels = {(lv.item_id, lv.stock_location_id): lv for lv in levels}
    for row in rows:
        level = levels.get((row["item_id"], row["stock_location_id"]))
        row["par_level"] = level.par_level if level else None
        row["reorder_point"] = level.reorder_point if level else None
    return rows


def item_lots(*, item: Item) -> QuerySet[StockBalance]:
    """The lots of an item with stock (or debt) in each location, first-expiring first."""
    return (StockBalance.objects.filter(item=item).exclude(on_hand=0).select_related("lot", "stock_location")
            .order_by("lot__expires_on", "lot__number", "stock_location__name"))


def item_movements(*, item: Item) -> QuerySet[StockMovement]:
    """An item's stock ledger, newest first, with who and where (patients are shown by the page that audits them)."""
    return (StockMovement.objects.filter(item=item).select_related("lot", "stock_location", "actor")
            .order_by("-created_at", "-id"))


@dataclass
class Alerts:
    low: list
    expiring: list
    expired: list
    overdue: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.low) + len(self.expiring) + len(self.expired) + len(self.overdue)


def stock_alerts(*, organization_id: int, today: date, within_days: int = 30) -> Alerts:
    """Low stock (at or below the reorder point), lots expiring within `within_days`, and expired lots still on
    the shelf."""
    totals = (StockBalance.objects.filter(item=OuterRef("item_id"), stock_location=OuterRef("stock_location_id"))
              .order_by().values("item").annotate(t=Sum("on_hand")).values("t"))
    low = list(StockLevel.objects.filter(organization_id=organization_id, item__is_active=True)
               .annotate(on_hand=Coalesce(Subquery(totals), ZERO)).filter(on_hand__lte=F("reorder_point"))
               .select_related("item", "stock_location").order_by("stock_location__name", "item__name"))
    shelf = (StockBalance.objects.filter(organization_id=organization_id, on_hand__gt=0, lot__expires_on__isnull=False)
             .select_related("item", "lot", "stock_location").order_by("lot__expires_on", "item__name"))
    expired = list(shelf.filter(lot__expires_on__lt=today))
    expiring = list(shelf.filter(lot__expires_on__gte=today, lot__expires_on__lte=today + timedelta(days=within_days)))
    return Alerts(low=low, expiring=expiring, expired=expired, overdue=list(overdue_orders(
        organization_id=organization_id, today=today)))


def overdue_orders(*, organization_id: int, today: date) -> QuerySet[PurchaseOrder]:
    """Orders whose expected date has passed and that are not fully received (approved, sent or partly received)."""
    return (PurchaseOrder.objects.filter(organization_id=organization_id, status__in=OPEN_ORDER_STATUSES,
                                         expected_on__lt=today)
            .select_related("vendor", "stock_location").order_by("expected_on", "number"))


def lot_recall(*, user, lot_number: str, item_id: int | None = None) -> QuerySet[StockMovement]:
    """Who received a lot: the uses of lots of this number that name a patient (an encounter's supplies name its
    patient), with the patient (the caller audits the read); uses returned to the shelf are left out."""
    number = (lot_number or "").strip()
    if not number:
        return StockMovement.objects.none()
    # A use put back on the shelf (its encounter was voided) was not given: the return names the same encounter.
    returned = StockMovement.objects.filter(lot=OuterRef("lot_id"), patient=OuterRef("patient_id"),
                                            encounter_ref=OuterRef("encounter_ref"), encounter_ref__gt="",
                                            kind=MovementKind.ADJUSTMENT, quantity__gt=0)
    uses = StockMovement.objects.filter(organization_id=user.organization_id, lot__number__iexact=number,
                                        kind=MovementKind.CONSUMPTION, patient__isnull=False).exclude(Exists(returned))
    if item_id:
        uses = uses.filter(item_id=item_id)
    return uses.select_related("patient", "item", "lot", "stock_location").order_by("occurred_on", "id")


def stockout_events(*, organization_id: int, start: date, end: date,
                    department_id: int | None = None, location_id: int | None = None) -> QuerySet[StockMovement]:
    """Stockouts in [start, end]: each movement that took an item's total in a stock location from above zero to
    zero or below, where the item has a par level above zero in that location."""
    has_par = StockLevel.objects.filter(item=OuterRef("item_id"), stock_location=OuterRef("stock_location_id"),
                                        par_level__gt=0)
    events = (StockMovement.objects.filter(organization_id=organization_id, occurred_on__gte=start,
                                           occurred_on__lte=end, quantity__lt=0, location_on_hand_after__lte=0)
              .filter(location_on_hand_after__gt=F("quantity"))
              .filter(Exists(has_par)))
    if department_id:
        events = events.filter(stock_location__department_id=department_id)
    if location_id:
        events = events.filter(stock_location__location_id=location_id)
    return events.select_related("item", "stock_location").order_by("occurred_on", "id")


def usable_balances_at(*, organization_id: int, location_id: int, item_ids, on: date) -> list[StockBalance]:
    """What can be used at one of the practice's locations: the lots with stock of these items in its open stock
    locations, first-expiring first (FEFO) for each item; expired lots are left out. One query."""
    rows = (StockBalance.objects.filter(organization_id=organization_id, item_id__in=item_ids, on_hand__gt=0,
                                        stock_location__location_id=location_id, stock_location__is_active=True)
            .filter(Q(lot__expires_on__isnull=True) | Q(lot__expires_on__gte=on))
            .select_related("item", "lot", "stock_location")
            .order_by("item__name", "item_id", F("lot__expires_on").asc(nulls_last=True), "lot__created_at", "lot_id",
                      "stock_location__name"))
    return list(rows)


def encounter_uses(*, organization_id: int, encounter_ref: str, used_on: date) -> QuerySet[StockMovement]:
    """The uses of stock recorded for one encounter (its public id) on its service date, oldest first (the date
    finds them through the practice's movements-by-day index)."""
    return (StockMovement.objects.filter(organization_id=organization_id, occurred_on=used_on,
                                         encounter_ref=encounter_ref, kind=MovementKind.CONSUMPTION)
            .select_related("item", "lot", "stock_location", "patient").order_by("created_at", "id"))


# --- purchasing ---------------------------------------------------------------------------------------------------

LEAD_DAYS = 7  # the use expected between ordering and delivery is added to what a suggestion orders
USE_WINDOW_DAYS = 30
ON_ORDER_STATUSES = (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.AWAITING_APPROVAL, *OPEN_ORDER_STATUSES)


@dataclass
class Suggestion:
    """An item at or below its reorder point in a stock location (counting what is already on order): how much to
    order to fill it to par plus the use expected until delivery, in the item's best-fitting pack."""

    level: StockLevel
    on_hand: Decimal
    on_order: Decimal
    used: Decimal
    order_base: Decimal
    order_unit: str
    order_quantity: Decimal
    unit_price: Decimal

    @property
    def item(self) -> Item:
        return self.level.item

    @property
    def stock_location(self) -> StockLocation:
        return self.level.stock_location

    @property
    def vendor(self):
        return self.level.item.preferred_vendor

    @property
    def total(self) -> Decimal:
        return (self.order_quantity * self.unit_price).quantize(Decimal("0.01"))


def _order_in_packs(item: Item, need: Decimal) -> tuple[str, Decimal, Decimal]:
    """(unit, how many, base units): the biggest pack not above the need (else the smallest), whole packs."""
    packs = sorted(item.packs.all(), key=lambda p: p.quantity)
    if not packs:
        return "", need.to_integral_value(rounding="ROUND_CEILING"), need.to_integral_value(rounding="ROUND_CEILING")
    pack = next((p for p in reversed(packs) if p.quantity <= need), packs[0])
    count = (need / pack.quantity).to_integral_value(rounding="ROUND_CEILING")
    return pack.name, count, count * pack.quantity


def suggested_orders(*, user, today: date, stock_location_id: int | None = None) -> list[Suggestion]:
    """What to order: each active item at or below its reorder point in an open stock location once the stock on
    open or draft orders is counted, by vendor then location then item. One query (and one for the packs)."""
    on_hand = (StockBalance.objects.filter(item=OuterRef("item_id"), stock_location=OuterRef("stock_location_id"))
               .order_by().values("item").annotate(t=Sum("on_hand")).values("t"))
    on_order = (PurchaseOrderLine.objects.filter(item=OuterRef("item_id"),
                                                 order__stock_location=OuterRef("stock_location_id"),
                                                 order__status__in=ON_ORDER_STATUSES)
                .order_by().values("item").annotate(t=Sum(F("base_quantity") - F("received"))).values("t"))
    used = (StockMovement.objects.filter(item=OuterRef("item_id"), stock_location=OuterRef("stock_location_id"),
                                         kind=MovementKind.CONSUMPTION,
                                         occurred_on__gt=today - timedelta(days=USE_WINDOW_DAYS))
            .order_by().values("item").annotate(t=Sum("quantity")).values("t"))
    levels = (StockLevel.objects.filter(organization_id=user.organization_id, item__is_active=True,
                                        stock_location__is_active=True)
              .annotate(on_hand=Coalesce(Subquery(on_hand), ZERO), on_order=Coalesce(Subquery(on_order), ZERO),
                        taken=Coalesce(Subquery(used), ZERO))
              .filter(reorder_point__gte=F("on_hand") + F("on_order"))
              .select_related("item__preferred_vendor", "stock_location")
              .prefetch_related(Prefetch("item__packs"))
              .order_by("item__preferred_vendor__name", "stock_location__name", "item__name", "pk"))
    if stock_location_id:
        levels = levels.filter(stock_location_id=stock_location_id)
    rows = []
    for level in levels:
        level.used = -level.taken if level.taken else Decimal("0")  # consumption is negative in the stock ledger
        lead_use = (level.used * LEAD_DAYS / USE_WINDOW_DAYS).to_integral_value(rounding="ROUND_CEILING")
        need = level.par_level - level.on_hand - level.on_order + lead_use
        if need <= 0:
            continue
        unit, count, base = _order_in_packs(level.item, need)
        per_unit = base / count
        rows.append(Suggestion(level=level, on_hand=level.on_hand, on_order=level.on_order, used=level.used,
                               order_base=base, order_unit=unit, order_quantity=count,
                               unit_price=(level.item.price * per_unit).quantize(Decimal("0.0001"))))
    return rows


def purchase_order_list(*, user, status: str = "", q: str = "") -> QuerySet[PurchaseOrder]:
    """The practice's orders, newest first, with their total; `status` (or "open": approved to partly received,
    "backorder": partly received) and `q` (number or vendor)."""
    totals = (PurchaseOrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order")
              .annotate(t=Sum(F("quantity") * F("unit_price"))).values("t"))
    orders = PurchaseOrder.objects.filter(organization_id=user.organization_id)
    if status == "open":
        orders = orders.filter(status__in=OPEN_ORDER_STATUSES)
    elif status == "backorder":
        orders = orders.filter(status=PurchaseOrderStatus.PARTLY_RECEIVED)
    elif status:
        orders = orders.filter(status=status)
    q = " ".join((q or "").split())
    if q:
        orders = orders.filter(Q(number__icontains=q) | Q(vendor__name__icontains=q))
    return (orders.annotate(total=Coalesce(Subquery(totals), Value(Decimal("0")), output_field=DecimalField()))
            .select_related("vendor", "stock_location").order_by("-created_at", "-id"))


def purchase_order_get(*, user, purchase_order_id: int) -> PurchaseOrder:
    order = (PurchaseOrder.objects.filter(pk=purchase_order_id, organization_id=user.organization_id)
             .select_related("vendor", "stock_location__department", "stock_location__location", "created_by",
                             "approved_by", "organization").first())
    if order is None:
        raise Http404("No such purchase order.")
    return order


def purchase_order_lines(*, order: PurchaseOrder):
    """The order's lines with their items and what was received on each (lot, expiry, bill)."""
    return order.lines.select_related("item").prefetch_related(
        Prefetch("receipts", queryset=PurchaseReceipt.objects.select_related("movement__lot", "bill")))

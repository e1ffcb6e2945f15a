"""Stock: items and their packs, stock locations with par levels, lots, the append-only stock ledger and the
per (item, location, lot) balances kept beside it in the same transaction; purchase orders, their lines and what
was received on them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from clinicdesk.core.models import Department, Location, Organization

from .choices import ItemKind, MovementKind, PurchaseOrderStatus, StockLocationKind, Valuation
from .codes import cvx_normalise, gtin_normalise, ndc_normalise

QTY = {"max_digits": 14, "decimal_places": 3}
MONEY = {"max_digits": 14, "decimal_places": 2}
UNIT_COST = {"max_digits": 14, "decimal_places": 4}
SERIAL_UNIT = "each"


class StockLocation(models.Model):
    """A place stock is kept (supply room, vaccine fridge): in one of the practice's locations, charged to one
    department when its stock is used."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=StockLocationKind.choices, default=StockLocationKind.SUPPLY_ROOM)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="inventory_stocklocation_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        for name in ("location", "department"):
            other = getattr(self, name, None) if getattr(self, f"{name}_id") else None
            if other is not None and other.organization_id != self.organization_id:
                raise ValidationError({name: f"This {name} belongs to another practice."})


class Item(models.Model):
    """Something the practice stocks, counted in its base unit (each, dose, mL); packs convert to it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ItemKind.choices, default=ItemKind.CLINICAL_SUPPLY)
    sku = models.CharField("SKU", max_length=40, blank=True)
    base_unit = models.CharField(max_length=20, default="each", help_text="The unit stock is counted in.")
    ndc = models.CharField("NDC", max_length=11, blank=True, help_text="11 digits (5-4-2).")
    cvx = models.CharField("CVX", max_length=3, blank=True)
    preferred_vendor = models.ForeignKey("ledger.Vendor", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+")
    price = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"),
                                help_text="The expected cost of one base unit.")
    valuation = models.CharField(max_length=20, choices=Valuation.choices, default=Valuation.FIFO)
    allow_negative = models.BooleanField(default=False, help_text="Stock may be used before its receipt is entered.")
    tracks_lots = models.BooleanField(default=False, help_text="Lot and expiry are recorded at receipt.")
    tracks_serials = models.BooleanField(
        "Tracks serial numbers", default=False,
        help_text="Each unit has its own serial number, recorded at receipt and named when it is used, moved or "
                  "removed (devices, implants, monitors lent to patients). Counted in each; expiry is optional.")
    # Moving average: the item's quantity and average cost over every location (FIFO keeps cost layers instead).
    average_cost = models.DecimalField(**UNIT_COST, default=Decimal("0"))
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "ndc"], condition=~Q(ndc=""), name="inventory_item_ndc"),
            models.CheckConstraint(condition=Q(price__gte=0), name="inventory_item_price_not_negative"),
        ]
        indexes = [models.Index(fields=["organization", "kind"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.ndc = ndc_normalise(self.ndc)
        self.cvx = cvx_normalise(self.cvx)
        if self.ndc and self.kind not in (ItemKind.MEDICATION, ItemKind.VACCINE):
            raise ValidationError({"ndc": "Only medications and vaccines carry an NDC."})
        if self.cvx and self.kind != ItemKind.VACCINE:
            raise ValidationError({"cvx": "Only vaccines carry a CVX code."})
        if self.kind == ItemKind.VACCINE and not self.tracks_lots:
            raise ValidationError({"tracks_lots": "Vaccines are tracked by lot (recalls name a lot)."})
        if self.tracks_serials:
            if self.allow_negative:
                raise ValidationError({"allow_negative": "An item tracked by serial number cannot go below zero: "
                                                         "untick “allow negative” or serial tracking."})
            if self.tracks_lots:
                raise ValidationError({"tracks_serials": "An item is tracked by lot or by serial number, not both."})
            if (self.base_unit or "").strip().lower() != SERIAL_UNIT:
                raise ValidationError({"base_unit": f"An item tracked by serial number is counted in "
                                                    f"“{SERIAL_UNIT}” (one serial number per unit)."})


class Pack(models.Model):
    """A way the item comes (box of 100): how many base units it holds, and the barcode printed on it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="packs")
    name = models.CharField(max_length=40)
    quantity = models.DecimalField(**QTY, help_text="Base units in one pack.")
    gtin = models.CharField("GTIN", max_length=14, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "quantity"]
        constraints = [
            models.UniqueConstraint(fields=["item", "name"], name="inventory_pack_name"),
            models.UniqueConstraint(fields=["organization", "gtin"], condition=~Q(gtin=""), name="inventory_pack_gtin"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="inventory_pack_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} of {self.quantity.normalize():f}"

    def clean(self) -> None:
        self.gtin = gtin_normalise(self.gtin)


class StockLevel(models.Model):
    """The par level (what the shelf is filled to) and reorder point of an item in one stock location."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="levels")
    stock_location = models.ForeignKey(StockLocation, on_delete=models.CASCADE, related_name="levels")
    par_level = models.DecimalField(**QTY)
    reorder_point = models.DecimalField(**QTY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item", "stock_location"]
        constraints = [
            models.UniqueConstraint(fields=["item", "stock_location"], name="inventory_stocklevel_unique"),
            models.CheckConstraint(condition=Q(reorder_point__gte=0) & Q(par_level__gte=models.F("reorder_point")),
                                   name="inventory_stocklevel_par_above_reorder"),
        ]

    def __str__(self) -> str:
        return f"{self.item} in {self.stock_location}: par {self.par_level}"

    def clean(self) -> None:
        if self.par_level is not None and self.reorder_point is not None and self.par_level < self.reorder_point:
            raise ValidationError({"par_level": "The par level is at least the reorder point."})


class Lot(models.Model):
    """A manufacturer's lot (or a serial number, quantity one) with its expiry; items not tracked by lot keep their
    stock in one lot with no number."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="lots")
    number = models.CharField(max_length=40, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    is_serial = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "expires_on", "number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="inventory_lot_number"),
            models.CheckConstraint(condition=Q(is_serial=False) | ~Q(number=""), name="inventory_lot_serial_numbered"),
        ]

    def __str__(self) -> str:
        return self.number or "(no lot)"

    @property
    def label(self) -> str:
        """How people name it: "serial SN-1", "lot A1" or "(no lot)"."""
        if not self.number:
            return "(no lot)"
        return f"{'serial' if self.is_serial else 'lot'} {self.number}"


class StockBalance(models.Model):
    """On hand of one lot of an item in one stock location: derived from the stock ledger and updated in the same
    transaction as each movement, under a row lock. The database refuses a negative balance unless the item
    allows one."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="balances")
    stock_location = models.ForeignKey(StockLocation, on_delete=models.CASCADE, related_name="balances")
    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="balances")
    on_hand = models.DecimalField(**QTY, default=Decimal("0"))
    allow_negative = models.BooleanField(default=False)
    is_serial = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item", "stock_location", "lot"]
        constraints = [
            models.UniqueConstraint(fields=["item", "stock_location", "lot"], name="inventory_balance_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0) | Q(allow_negative=True),
                                   name="inventory_balance_not_negative"),
            models.CheckConstraint(condition=Q(is_serial=False) | Q(on_hand__lte=1),
                                   name="inventory_balance_serial_at_most_one"),
        ]
        indexes = [models.Index(fields=["organization", "stock_location", "item"])]

    def __str__(self) -> str:
        return f"{self.item} {self.lot} in {self.stock_location}: {self.on_hand}"


class CostLayer(models.Model):
    """FIFO: what is left of one receipt at its unit cost; consumption takes from the oldest layers first."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="cost_layers")
    unit_cost = models.DecimalField(**UNIT_COST)
    remaining = models.DecimalField(**QTY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(remaining__gte=0), name="inventory_costlayer_not_negative")]
        indexes = [models.Index(fields=["item", "remaining"])]

    def __str__(self) -> str:
        return f"{self.item}: {self.remaining} at {self.unit_cost}"


class StockMovement(models.Model):
    """One row of the stock ledger: never changed or deleted (a mistake is corrected by another movement).
    `location_on_hand_after` is the item's total in the stock location right after it, for stockout counts."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="movements")
    stock_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="movements")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.DecimalField(**QTY, help_text="Base units; negative takes stock away.")
    value = models.DecimalField(**MONEY, default=Decimal("0"), help_text="At cost; negative takes value away.")
    location_on_hand_after = models.DecimalField(**QTY)
    occurred_on = models.DateField()
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    encounter_ref = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    journal_entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(quantity=0), name="inventory_movement_not_zero")]
        indexes = [
            models.Index(fields=["organization", "item", "-created_at"]),
            models.Index(fields=["organization", "occurred_on"]),
            models.Index(fields=["lot", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} {self.item}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Stock movements are never changed: post a correcting movement.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Stock movements are never deleted: post a correcting movement.")


class PurchaseOrder(models.Model):
    """An order to a vendor for stock delivered to one stock location (whose department's budget it is checked
    against at approval). Its number is unique in the practice."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=30)
    vendor = models.ForeignKey("ledger.Vendor", on_delete=models.PROTECT, related_name="+")
    stock_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT)
    expected_on = models.DateField(null=True, blank=True, help_text="When the vendor is to deliver.")
    ordered_on = models.DateField(null=True, blank=True)
    vendor_email = models.EmailField(blank=True, help_text="Where the order is e-mailed.")
    notes = models.CharField(max_length=500, blank=True)
    budget_note = models.CharField(max_length=300, blank=True, help_text="The budget check at approval.")
    override_reason = models.CharField(max_length=300, blank=True, help_text="Why an order over budget was approved.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+",
                                     help_text="Who sent it for approval (and so may not approve it).")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "number"], name="inventory_po_number")]
        indexes = [models.Index(fields=["organization", "status", "expected_on"])]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        """Approved and not yet fully received, closed or cancelled: stock is on its way."""
        return self.status in OPEN_ORDER_STATUSES


OPEN_ORDER_STATUSES = (PurchaseOrderStatus.APPROVED, PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED)


class PurchaseOrderLine(models.Model):
    """One item on an order: a quantity in a unit (a pack name or the base unit) at a price per that unit;
    `base_quantity` and `received` are in base units, so what is still to come (a backorder) is their difference."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    unit = models.CharField(max_length=40, blank=True, help_text="A pack name, or empty for the base unit.")
    quantity = models.DecimalField(**QTY)
    unit_price = models.DecimalField(**UNIT_COST, help_text="The price of one unit as ordered.")
    base_quantity = models.DecimalField(**QTY)
    received = models.DecimalField(**QTY, default=Decimal("0"))

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="inventory_poline_position"),
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(base_quantity__gt=0), name="inventory_poline_qty"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="inventory_poline_price"),
            models.CheckConstraint(condition=Q(received__gte=0) & Q(received__lte=models.F("base_quantity")),
                                   name="inventory_poline_received"),
        ]

    def __str__(self) -> str:
        return f"{self.order} line {self.position}: {self.item}"

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))

    @property
    def outstanding(self) -> Decimal:
        return self.base_quantity - self.received

    @property
    def base_unit_cost(self) -> Decimal:
        return (self.unit_price * self.quantity / self.base_quantity).quantize(Decimal("0.0001"))


class PurchaseReceipt(models.Model):
    """What arrived against an order line: its stock ledger receipt, and the vendor bill that paid for it (once)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipts")
    movement = models.OneToOneField(StockMovement, on_delete=models.PROTECT, related_name="purchase_receipt")
    quantity = models.DecimalField(**QTY)
    value = models.DecimalField(**MONEY)
    received_on = models.DateField()
    bill = models.ForeignKey("ledger.Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["line", "created_at", "id"]
        indexes = [models.Index(fields=["organization", "bill"])]

    def __str__(self) -> str:
        return f"{self.line}: {self.quantity} received {self.received_on}"

"""Kinds and statuses of the inventory app."""

from django.db import models


class ItemKind(models.TextChoices):
    CLINICAL_SUPPLY = "clinical_supply", "Clinical supply"
    MEDICATION = "medication", "Medication"
    VACCINE = "vaccine", "Vaccine"
    OFFICE_SUPPLY = "office_supply", "Office supply"


class Valuation(models.TextChoices):
    """How consumption is costed: the oldest receipts first, or the running average cost."""

    FIFO = "fifo", "FIFO (first in, first out)"
    MOVING_AVERAGE = "moving_average", "Moving average"


class StockLocationKind(models.TextChoices):
    SUPPLY_ROOM = "supply_room", "Supply room"
    FRIDGE = "fridge", "Vaccine fridge"
    FREEZER = "freezer", "Freezer"
    CABINET = "cabinet", "Locked cabinet"


class MovementKind(models.TextChoices):
    """What a stock ledger row records. Quantities are signed: receipts add, consumption takes away."""

    RECEIPT = "receipt", "Receipt"
    CONSUMPTION = "consumption", "Use"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    ADJUSTMENT = "adjustment", "Adjustment"
    CYCLE_COUNT = "cycle_count", "Cycle count variance"
    WASTE = "waste", "Waste"
    EXPIRY = "expiry", "Expired, removed"
    RETURN = "return", "Return to vendor"



class PurchaseOrderStatus(models.TextChoices):
    """Where a purchase order is: written, waiting for a manager, approved, sent to the vendor, arriving, done."""

    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent to vendor"
    PARTLY_RECEIVED = "partly_received", "Partly received"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"

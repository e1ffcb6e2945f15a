"""Serial numbers: an item tracked by serial (a hinged knee brace, a Holter monitor, an implant) is received one
serial number per unit, each its own lot of quantity one (`Lot.is_serial`), so using, moving, removing, counting and
recalling it name the very unit. A serial number is received once per item: one on hand, or received before, is
refused by name."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Upper

from clinicdesk.ledger.choices import AccountRole

from ..choices import MovementKind
from ..models import Item, Lot, StockBalance, StockLocation, StockMovement
from .items import quantity_text
from .stock import _audit, _locked, _move, _today, receipt_checked, stock_receive

SERIAL_MAX = 40  # what Lot.number holds
SERIALS_MAX = 1000  # serial numbers in one receipt
_SEPARATORS = re.compile(r"[\r\n,;]+")


def serial_numbers_parse(text: str) -> list[str]:
    """Serial numbers as typed or scanned: one per line, or separated by commas (or semicolons); blanks dropped."""
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


def _serials_checked(item: Item, serials: Sequence[str], quantity: Decimal | None) -> list[str]:
    """The serial numbers of a receipt, trimmed: present, short enough, none twice, one per unit received."""
    numbers = [(s or "").strip() for s in serials if (s or "").strip()]
    if not numbers:
        raise ValidationError({"serials": f"{item.name} is tracked by serial number: enter the serial number of "
                                          f"each {item.base_unit} received."})
    if len(numbers) > SERIALS_MAX:
        raise ValidationError({"serials": f"At most {SERIALS_MAX} serial numbers in one receipt."})
    seen: set[str] = set()
    for number in numbers:
        if len(number) > SERIAL_MAX:
            raise ValidationError({"serials": f"Serial {number[:SERIAL_MAX]}… is longer than {SERIAL_MAX} characters."})
        if number.upper() in seen:
            raise ValidationError({"serials": f"Serial {number} is entered twice."})
        seen.add(number.upper())
    if quantity is not None:
        if quantity != quantity.to_integral_value():
            raise ValidationError({"quantity": f"{item.name} is counted in whole units, one per serial number."})
        if quantity != len(numbers):
            raise ValidationError({"serials": f"{len(numbers)} serial number{'s' if len(numbers) != 1 else ''} for a "
                                              f"quantity of {quantity_text(quantity)}: enter one serial number per "
                                              f"{item.base_unit} received."})
    return numbers


def _never_received(item: Item, numbers: list[str]) -> None:
    """Refuse a serial number the item already has (on hand somewhere, or received before), by name."""
    known = {lot.upper_number: lot for lot in Lot.objects.filter(item=item).annotate(upper_number=Upper("number"))
             .filter(upper_number__in=[n.upper() for n in numbers])}
    if not known:
        return
    first = next(known[n.upper()] for n in numbers if n.upper() in known)
    where = (StockBalance.objects.filter(lot=first, on_hand__gt=0).select_related("stock_location")
             .order_by("stock_location__name").first())
    if where is not None:
        raise ValidationError({"serials": f"Serial {first.number} is already on hand in {where.stock_location.name}."})
    raise ValidationError({"serials": f"Serial {first.number} of {item.name} was received before "
                                      f"(on {first.created_at:%m/%d/%Y}): a serial number is received once."})


@transaction.atomic
def stock_receive_serials(*, item: Item, stock_location: StockLocation, serials: Sequence[str], actor,
                          quantity: Decimal | None = None, expires_on: date | None = None,
                          unit_cost: Decimal | None = None, received_on: date | None = None,
                          confirm_expired: bool = False,
                          credit: str = AccountRole.ACCOUNTS_PAYABLE) -> list[StockMovement]:
    """Receive units of a serial-tracked item by their serial numbers: each a lot of one, on hand in the location,
    with the receipt's expiry (if any), at a unit cost (the item's price unless given), Dr Inventory / Cr accounts
    payable, one movement each. Their count must equal `quantity` when given; a serial number the item already has
    is refused by name, and nothing is received."""
    on = _today(received_on)
    if not item.tracks_serials:
        raise ValidationError({"serials": f"{item.name} is not tracked by serial number: leave the serial numbers "
                                          f"empty."})
    numbers = _serials_checked(item, serials, quantity)
    receipt_checked(item=item, stock_location=stock_location, quantity=Decimal(len(numbers)), unit_cost=unit_cost,
                    expires_on=expires_on, on=on, confirm_expired=confirm_expired, what="These serials")
    item = _locked(item)
    _never_received(item, numbers)
    movements = []
    for number in numbers:
        lot = Lot(organization_id=item.organization_id, item=item, number=number, expires_on=expires_on,
                  is_serial=True)
        lot.save()
        movement = _move(item=item, place=stock_location, lot=lot, kind=MovementKind.RECEIPT, quantity=Decimal(1),
                         actor=actor, on=on, unit_cost=unit_cost, credit=credit)
        _audit(movement, actor, "received")
        movements.append(movement)
    return movements


def stock_receive_tracked(*, item: Item, stock_location: StockLocation, quantity: Decimal, actor,
                          lot_number: str = "", serials: Sequence[str] = (), expires_on: date | None = None,
                          unit_cost: Decimal | None = None, received_on: date | None = None,
                          confirm_expired: bool = False) -> list[StockMovement]:
    """Receive stock as the item is tracked: a serial-tracked item by its serial numbers, any other by lot (or none).
    A lot number for a serial-tracked item, or serial numbers for another, is refused naming the field."""
    if item.tracks_serials:
        if (lot_number or "").strip():
            raise ValidationError({"lot_number": f"{item.name} is tracked by serial number: enter the serial "
                                                 f"numbers, not a lot."})
        return stock_receive_serials(item=item, stock_location=stock_location, serials=serials, actor=actor,
                                     quantity=quantity, expires_on=expires_on, unit_cost=unit_cost,
                                     received_on=received_on, confirm_expired=confirm_expired)
    if any((s or "").strip() for s in serials):
        raise ValidationError({"serials": f"{item.name} is not tracked by serial number: leave the serial numbers "
                                          f"empty."})
    return [stock_receive(item=item, stock_location=stock_location, quantity=quantity, actor=actor,
                          lot_number=lot_number, expires_on=expires_on, unit_cost=unit_cost, received_on=received_on,
                          confirm_expired=confirm_expired)]

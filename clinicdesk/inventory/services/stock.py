"""The stock ledger: every movement is a new row, the (item, location, lot) balance changes in the same transaction
under row locks, and its value is posted to the books at cost.

Locks are always taken in one order (the item rows, by id, then their balances, then their cost layers), so two
movements of the same item wait for each other instead of overselling or deadlocking; a batch of uses takes all its
items' locks before any balance. An item's lock is its own row only, never its practice's. The database refuses a
negative balance unless the item allows one (a CheckConstraint), the last line of defence if a caller skips this.

Postings (ledger services, balanced, Decimal): a receipt is Dr Inventory / Cr accounts payable; use, waste and
expiry are Dr supplies expense (the stock location's department) / Cr Inventory; an adjustment or count variance
goes between the two; a return to the vendor is Dr accounts payable / Cr Inventory. Transfers move no value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_event_rows
from clinicdesk.core.batch_sql import column_set, rows_insert
from clinicdesk.core.money import round_money
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.services import EntrySpec, LineSpec, entries_post, entry_post

from ..choices import MovementKind, Valuation
from ..models import CostLayer, Item, Lot, StockBalance, StockLocation, StockMovement
from .items import quantity_text

ZERO = Decimal("0")


def _check_same_practice(item: Item, *places: StockLocation) -> None:
    for place in places:
        if place.organization_id != item.organization_id:
            raise ValidationError({"stock_location": "This stock location belongs to another practice."})
        if not place.is_active:
            raise ValidationError({"stock_location": f"{place.name} is closed."})


def _lot_for(*, item: Item, number: str, expires_on: date | None) -> Lot:
    """The item's lot of that number, made on first receipt; a second receipt must agree on its expiry."""
    number = (number or "").strip()
    if item.tracks_serials:
        raise ValidationError({"serials": f"{item.name} is tracked by serial number: enter the serial numbers "
                                          f"received, one per {item.base_unit}."})
    if item.tracks_lots and not number:
        raise ValidationError({"lot_number": f"{item.name} is tracked by lot: enter the lot number."})
    if item.tracks_lots and expires_on is None:
        raise ValidationError({"expires_on": f"{item.name} is tracked by lot: enter its expiry date."})
    lot, created = Lot.objects.get_or_create(item=item, number=number, defaults={
        "organization_id": item.organization_id, "expires_on": expires_on})
    if not created and lot.is_serial:
        raise ValidationError({"lot_number": f"{number} is a serial number of {item.name}, not a lot."})
    if not created and expires_on is not None and lot.expires_on not in (None, expires_on):
        raise ValidationError({"expires_on": f"Lot {number} was received before with expiry {lot.expires_on:%m/%d/%Y}."})
    return lot


@dataclass
class _Cost:
    value: Decimal  # signed, in cents


def _value_in(item: Item, quantity: Decimal, unit_cost: Decimal, on_hand_before: Decimal) -> _Cost:
    """Value coming in: a FIFO layer, or a new moving average."""
    value = round_money(quantity * unit_cost)
    if item.valuation == Valuation.FIFO:
        CostLayer.objects.create(organization_id=item.organization_id, item=item, unit_cost=unit_cost, remaining=quantity)
    else:
        total = on_hand_before + quantity
        if on_hand_before <= 0 or total <= 0:
            item.average_cost = unit_cost
        else:
            item.average_cost = ((on_hand_before * item.average_cost + quantity * unit_cost) / total).quantize(
                Decimal("0.0001"))
        item.save(update_fields=["average_cost", "updated_at"])
    return _Cost(value)


def _value_out(item: Item, quantity: Decimal) -> _Cost:
    """Value going out (quantity > 0 taken away): the oldest FIFO layers first, or the moving average. Stock used
    beyond every layer (an item that may go negative) is costed at the item's price."""
    if item.valuation == Valuation.MOVING_AVERAGE:
        return _Cost(-round_money(quantity * item.average_cost))
    left, value = quantity, ZERO
    for layer in CostLayer.objects.select_for_update().filter(item=item, remaining__gt=0).order_by("created_at", "id"):
        take = min(left, layer.remaining)
        layer.remaining -= take
        layer.save(update_fields=["remaining"])
        value += take * layer.unit_cost
        left -= take
        if left == 0:
            break
    value += left * item.price
    return _Cost(-round_money(value))


def _entry_lines(kind: str, value: Decimal, place: StockLocation, credit: str) -> list[LineSpec]:
    """The two lines of a movement's posting; `value` is signed as the inventory moves."""
    department = place.department_id
    if kind == MovementKind.RECEIPT:
        other = LineSpec(account=credit, amount=-value)
    elif kind == MovementKind.RETURN:
        other = LineSpec(account=AccountRole.ACCOUNTS_PAYABLE, amount=-value)
    else:  # use, waste, expiry, adjustments and count variances: against the department's supplies expense
        other = LineSpec(account=AccountRole.SUPPLIES_EXPENSE, amount=-value, department=department)
    return [LineSpec(account=AccountRole.INVENTORY, amount=value), other]


def _move(*, item: Item, place: StockLocation, lot: Lot, kind: str, quantity: Decimal, actor, on: date,
          unit_cost: Decimal | None = None, patient=None, encounter_ref: str = "", reason: str = "",
          credit: str = AccountRole.ACCOUNTS_PAYABLE, post: bool = True) -> StockMovement:
    """Add one row to the stock ledger, change its balance under lock, value it and post it. `item` must be locked."""
    balance, _ = StockBalance.objects.get_or_create(item=item, stock_location=place, lot=lot, defaults={
        "organization_id": item.organization_id, "allow_negative": item.allow_negative, "is_serial": lot.is_serial})
    rows = list(StockBalance.objects.select_for_update().filter(item=item, stock_location=place).order_by("pk"))
    balance = next(b for b in rows if b.pk == balance.pk)
    _serial_checked(item, place, lot, quantity, balance.on_hand)
    if quantity < 0 and not item.allow_negative and balance.on_hand + quantity < 0:
        lot_text = f" of {lot.label}" if lot.number else ""
        raise ValidationError({"quantity": f"Only {quantity_text(balance.on_hand)} {item.base_unit}{lot_text} of {item.name} "
                                           f"on hand in {place.name}; {quantity_text(-quantity)} cannot be taken."})
    if balance.allow_negative != item.allow_negative:
        balance.allow_negative = item.allow_negative
    item_on_hand_before = None
    if quantity > 0 and item.valuation == Valuation.MOVING_AVERAGE:
        item_on_hand_before = StockBalance.objects.filter(item=item).aggregate(t=Sum("on_hand"))["t"] or ZERO
    balance.on_hand += quantity
    balance.save(update_fields=["on_hand", "allow_negative", "updated_at"])
    location_after = sum((b.on_hand if b.pk != balance.pk else balance.on_hand) for b in rows)
    if kind in (MovementKind.TRANSFER_IN, MovementKind.TRANSFER_OUT):
        cost = _Cost(ZERO)
    elif quantity > 0:
        cost = _value_in(item, quantity, unit_cost if unit_cost is not None else (
            item.average_cost if item.valuation == Valuation.MOVING_AVERAGE else item.price), item_on_hand_before or ZERO)
    else:
        cost = _value_out(item, -quantity)
    entry = None
    if post and cost.value != 0:
        entry = entry_post(organization=item.organization, entry_date=on, kind=EntryKind.INVENTORY,
                           memo=f"{MovementKind(kind).label}: {quantity_text(abs(quantity))} {item.base_unit} {item.name}"[:300],
                           lines=_entry_lines(kind, cost.value, place, credit), actor=actor)
    movement = StockMovement(
        organization_id=item.organization_id, item=item, stock_location=place, lot=lot, kind=kind, quantity=quantity,
        value=cost.value, location_on_hand_after=location_after, occurred_on=on, patient=patient,
        encounter_ref=(encounter_ref or "")[:64], reason=(reason or "")[:200], journal_entry=entry, actor=actor)
    movement.save()
    return movement


def _serial_checked(item: Item, place: StockLocation, lot: Lot, quantity: Decimal, on_hand: Decimal) -> None:
    """A serial-tracked item moves by its serial numbers, one unit each: never a fraction of one, never a serial
    twice on the shelf (the balance's CheckConstraint is the last line of defence in one place; this also looks at
    the others)."""
    if not (item.tracks_serials or lot.is_serial):
        return
    if not lot.is_serial:
        raise ValidationError({"lot": f"{item.name} is tracked by serial number: name the serial."})
    if quantity != quantity.to_integral_value():
        raise ValidationError({"quantity": f"{item.name} is counted in whole units, one per serial number."})
    if quantity <= 0:
        return
    if quantity > 1:
        raise ValidationError({"quantity": f"Serial {lot.number} is one {item.base_unit}: "
                                           f"{quantity_text(quantity)} cannot be added."})
    if on_hand > 0:
        raise ValidationError({"lot": f"Serial {lot.number} is already on hand in {place.name}."})
    elsewhere = (StockBalance.objects.filter(lot=lot, on_hand__gt=0).exclude(stock_location=place)
                 .select_related("stock_location").first())
    if elsewhere is not None:
        raise ValidationError({"lot": f"Serial {lot.number} is already on hand in {elsewhere.stock_location.name}."})


def receipt_checked(*, item: Item, stock_location: StockLocation, quantity: Decimal, unit_cost: Decimal | None,
                    expires_on: date | None, on: date, confirm_expired: bool, what: str = "This lot") -> None:
    """The checks of a receipt that need no lock: the practice, a quantity, a cost, an expiry not passed (unless
    confirmed)."""
    _check_same_practice(item, stock_location)
    if quantity is None or quantity <= 0:
        raise ValidationError({"quantity": "The quantity received is more than zero."})
    if unit_cost is not None and unit_cost < 0:
        raise ValidationError({"unit_cost": "A unit cost is not negative."})
    if expires_on is not None and expires_on < on and not confirm_expired:
        raise ValidationError({"expires_on": f"{what} expired on {expires_on:%m/%d/%Y}: confirm to receive it anyway."})


def _locked(item: Item) -> Item:
    return Item.objects.select_for_update(of=("self",)).select_related("organization").get(pk=item.pk)


def _audit_fields(movement: StockMovement, actor, verb: str) -> dict:
    lot = f" {movement.lot.label}" if movement.lot.number else ""
    return {"action": f"inventory.{verb}", "actor": actor, "target": movement, "patient": movement.patient,
            "organization_id": movement.organization_id,
            "summary": (f"{MovementKind(movement.kind).label} {quantity_text(movement.quantity)} "
                        f"{movement.item.base_unit} {movement.item.name}{lot} in {movement.stock_location.name}")[:300]}


def _audit(movement: StockMovement, actor, verb: str) -> None:
    audit_event(**_audit_fields(movement, actor, verb))


def _today(on: date | None) -> date:
    return on or timezone.localdate()


@transaction.atomic
def stock_receive(*, item: Item, stock_location: StockLocation, quantity: Decimal, actor, lot_number: str = "",
                  expires_on: date | None = None, unit_cost: Decimal | None = None, received_on: date | None = None,
                  confirm_expired: bool = False, credit: str = AccountRole.ACCOUNTS_PAYABLE) -> StockMovement:
    """Receive stock into a location (base units) at a unit cost (the item's price unless given): Dr Inventory,
    Cr accounts payable. An expired lot is refused unless `confirm_expired`. A serial-tracked item is received by
    its serial numbers instead (`stock_receive_serials`)."""
    on = _today(received_on)
    receipt_checked(item=item, stock_location=stock_location, quantity=quantity, unit_cost=unit_cost,
                    expires_on=expires_on, on=on, confirm_expired=confirm_expired)
    item = _locked(item)
    lot = _lot_for(item=item, number=lot_number, expires_on=expires_on)
    movement = _move(item=item, place=stock_location, lot=lot, kind=MovementKind.RECEIPT, quantity=quantity,
                     actor=actor, on=on, unit_cost=unit_cost, credit=credit)
    _audit(movement, actor, "received")
    return movement


def _fefo_key(balance: StockBalance):
    """First-expiring first; lots that never expire last; then the older lot."""
    lot = balance.lot
    return (lot.expires_on is None, lot.expires_on or date.min, lot.created_at, lot.pk)


def fefo_balances(*, item: Item, stock_location: StockLocation, on: date | None = None) -> list[StockBalance]:
    """The lots of an item on hand in a location, first-expiring first (FEFO); expired lots are left out."""
    on = _today(on)
    rows = StockBalance.objects.filter(item=item, stock_location=stock_location, on_hand__gt=0).select_related("lot")
    return sorted((b for b in rows if b.lot.expires_on is None or b.lot.expires_on >= on), key=_fefo_key)


@dataclass(frozen=True)
class StockUse:
    """One use of stock for `stock_consume_batch`: base units of an item in a stock location, from a given lot or the
    first-expiring lots, for a patient's encounter or not."""

    item: Item
    stock_location: StockLocation
    quantity: Decimal
    lot: Lot | None = None
    patient: object | None = None
    encounter_ref: str = ""
    used_on: date | None = None
    reason: str = ""


def stock_consume(*, item: Item, stock_location: StockLocation, quantity: Decimal, actor, lot: Lot | None = None,
                  patient=None, encounter_ref: str = "", used_on: date | None = None,
                  reason: str = "") -> list[StockMovement]:
    """Use stock (base units), for a patient's encounter or not: Dr supplies expense (the location's department),
    Cr Inventory. Without a lot, the first-expiring lots are used (FEFO). More than is on hand is refused unless
    the item allows negative stock; an expired lot is refused."""
    return stock_consume_batch(uses=[StockUse(item=item, stock_location=stock_location, quantity=quantity, lot=lot,
                                              patient=patient, encounter_ref=encounter_ref, used_on=used_on,
                                              reason=reason)], actor=actor)


class _Refused(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _use_checked(use: StockUse, on: date) -> None:
    """The checks of one use that need no lock (raised as `_Refused`)."""
    try:
        _check_same_practice(use.item, use.stock_location)
    except ValidationError as exc:
        raise _Refused("stock_location", exc.messages[0]) from None
    if use.quantity is None or not use.quantity.is_finite() or use.quantity <= 0:
        raise _Refused("quantity", "The quantity used is more than zero.")
    if use.patient is not None and use.patient.organization_id != use.item.organization_id:
        raise _Refused("patient", "This patient belongs to another practice.")
    lot = use.lot
    if use.item.tracks_serials:
        if use.quantity != use.quantity.to_integral_value():
            raise _Refused("quantity", f"{use.item.name} is counted in whole units, one per serial number.")
        if lot is not None and not lot.is_serial:
            raise _Refused("lot", f"{use.item.name} is tracked by serial number: name the serial.")
    if lot is not None:
        if lot.item_id != use.item.pk:
            raise _Refused("lot", f"Lot {lot} is not a lot of {use.item.name}.")
        if lot.expires_on is not None and lot.expires_on < on:
            raise _Refused("lot", f"{'Serial' if lot.is_serial else 'Lot'} {lot.number} expired on "
                                  f"{lot.expires_on:%m/%d/%Y}: record it as expired.")


class _Shelf:
    """The locked state of a batch: items, their balances in the batch's stock locations, their FIFO cost layers."""

    def __init__(self, uses: Sequence[StockUse]):
        item_ids = sorted({u.item.pk for u in uses})
        # Locks in one order, as every stock service takes them: items, then their balances, then cost layers.
        self.items = {i.pk: i for i in Item.objects.select_for_update(of=("self",)).select_related("organization")
                      .filter(pk__in=item_ids).order_by("pk")}
        self.rows: dict[tuple[int, int], list[StockBalance]] = defaultdict(list)
        # only the (item, place) pairs used: per place, the items used there
        items_at: dict[int, set[int]] = defaultdict(set)
        for use in uses:
            items_at[use.stock_location.pk].add(use.item.pk)
        pairs = Q()
        for place_id, ids in items_at.items():
            pairs |= Q(stock_location_id=place_id, item_id__in=sorted(ids))
        for balance in StockBalance.objects.select_for_update().filter(pairs).select_related("lot").order_by("pk"):
            self.rows[balance.item_id, balance.stock_location_id].append(balance)
        fifo = [pk for pk, i in self.items.items() if i.valuation == Valuation.FIFO]
        self.layers: dict[int, list[CostLayer]] = defaultdict(list)
        for layer in (CostLayer.objects.select_for_update().filter(item_id__in=fifo, remaining__gt=0)
                      .order_by("created_at", "id")):
            self.layers[layer.item_id].append(layer)
        self.changed_balances: dict[int, StockBalance] = {}
        self.changed_layers: dict[int, CostLayer] = {}

    def balance(self, item: Item, place: StockLocation, lot: Lot) -> StockBalance:
        rows = self.rows[item.pk, place.pk]
        found = next((b for b in rows if b.lot_id == lot.pk), None)
        if found is None:
            found, _ = StockBalance.objects.get_or_create(item=item, stock_location=place, lot=lot, defaults={
                "organization_id": item.organization_id, "allow_negative": item.allow_negative,
                "is_serial": lot.is_serial})
            found = StockBalance.objects.select_for_update().select_related("lot").get(pk=found.pk)
            rows.append(found)
        return found

    def plan(self, use: StockUse, item: Item, on: date) -> list[tuple[Lot, Decimal]]:
        """The lots to take from: the one given, or the first-expiring usable lots (FEFO)."""
        place, quantity = use.stock_location, use.quantity
        if use.lot is not None:
            balance = self.balance(item, place, use.lot)
            if not item.allow_negative and balance.on_hand - quantity < 0:
                lot_text = f" of {use.lot.label}" if use.lot.number else ""
                raise _Refused("quantity", f"Only {quantity_text(balance.on_hand)} {item.base_unit}{lot_text} of "
                                           f"{item.name} on hand in {place.name}; {quantity_text(quantity)} cannot be taken.")
            return [(balance.lot, quantity)]
        usable = sorted((b for b in self.rows[item.pk, place.pk] if b.on_hand > 0
                         and (b.lot.expires_on is None or b.lot.expires_on >= on)), key=_fefo_key)
        plan, left = [], quantity
        for balance in usable:
            take = min(left, balance.on_hand)
            plan.append((balance.lot, take))
            left -= take
            if left == 0:
                return plan
        if not item.allow_negative:
            raise _Refused("quantity", f"Only {quantity_text(quantity - left)} {item.base_unit} of {item.name} usable "
                                       f"in {place.name}; {quantity_text(quantity)} cannot be used.")
        if plan:
            plan[-1] = (plan[-1][0], plan[-1][1] + left)
        else:
            plan.append((Lot.objects.get_or_create(item=item, number="", defaults={
                "organization_id": item.organization_id})[0], left))
        return plan

    def take(self, item: Item, place: StockLocation, lot: Lot, amount: Decimal) -> Decimal:
        """Lower the lot's balance by `amount`; returns the location's on hand after."""
        balance = self.balance(item, place, lot)
        balance.on_hand -= amount
        balance.allow_negative = item.allow_negative
        self.changed_balances[balance.pk] = balance
        return sum((b.on_hand for b in self.rows[item.pk, place.pk]), ZERO)

    def value_out(self, item: Item, amount: Decimal) -> Decimal:
        """The cost taken away (negative): the oldest FIFO layers first, or the moving average; beyond every layer
        (an item that may go negative) at the item's price."""
        if item.valuation == Valuation.MOVING_AVERAGE:
            return -round_money(amount * item.average_cost)
        left, value = amount, ZERO
        for layer in self.layers[item.pk]:
            if left == 0:
                break
            if layer.remaining <= 0:
                continue
            take = min(left, layer.remaining)
            layer.remaining -= take
            self.changed_layers[layer.pk] = layer
            value += take * layer.unit_cost
            left -= take
        value += left * item.price
        return -round_money(value)

    def save(self) -> None:
        """Each changed balance and layer in one statement (a list of (id, value) pairs, not Django's CASE)."""
        now = timezone.now()
        balances = list(self.changed_balances.values())
        for allow in (False, True):
            column_set(StockBalance, "on_hand", [(b.pk, b.on_hand) for b in balances if b.allow_negative is allow],
                       allow_negative=allow, updated_at=now)
        column_set(CostLayer, "remaining", [(layer.pk, layer.remaining) for layer in self.changed_layers.values()])


@transaction.atomic
def stock_consume_batch(*, uses: Sequence[StockUse], actor) -> list[StockMovement]:
    """Use stock many times in one transaction (a day's uses from a scanner, a batch of encounters): the same rules
    and postings as `stock_consume`, one movement and one balanced journal entry for each lot taken from, with locks,
    balances, cost layers, entries, movements and audit rows each written in one go.

    Every use is checked before anything is written; one refused use refuses the batch, naming it ("Use 3: ...").
    The uses of one batch belong to one practice.
    """
    if not uses:
        return []
    many = len(uses) > 1
    today = timezone.localdate()

    def refused(n: int, exc: _Refused) -> ValidationError:
        return ValidationError({exc.field: f"Use {n}: {exc.message}" if many else exc.message})

    org_id = uses[0].item.organization_id
    for n, use in enumerate(uses, start=1):
        if use.item.organization_id != org_id:
            raise ValidationError({"uses": f"Use {n}: the uses of one batch belong to one practice."})
        try:
            _use_checked(use, use.used_on or today)
        except _Refused as exc:
            raise refused(n, exc) from None
    shelf = _Shelf(uses)
    organization = shelf.items[uses[0].item.pk].organization
    movements: list[StockMovement] = []
    entries: list[EntrySpec] = []
    posted: list[int] = []  # index of the movement each entry belongs to
    for n, use in enumerate(uses, start=1):
        item, place, on = shelf.items[use.item.pk], use.stock_location, use.used_on or today
        try:
            plan = shelf.plan(use, item, on)
        except _Refused as exc:
            raise refused(n, exc) from None
        for lot, amount in plan:
            after = shelf.take(item, place, lot, amount)
            value = shelf.value_out(item, amount)
            if value != 0:
                posted.append(len(movements))
                entries.append(EntrySpec(
                    entry_date=on, kind=EntryKind.INVENTORY,
                    memo=f"{MovementKind.CONSUMPTION.label}: {quantity_text(amount)} {item.base_unit} {item.name}"[:300],
                    lines=_entry_lines(MovementKind.CONSUMPTION, value, place, AccountRole.ACCOUNTS_PAYABLE)))
            movements.append(StockMovement(
                organization_id=org_id, item=item, stock_location=place, lot=lot, kind=MovementKind.CONSUMPTION,
                quantity=-amount, value=value, location_on_hand_after=after, occurred_on=on, patient=use.patient,
                encounter_ref=(use.encounter_ref or "")[:64], reason=(use.reason or "")[:200], actor=actor))
    shelf.save()
    for index, entry in zip(posted, entries_post(organization=organization, entries=entries, actor=actor) if entries
                            else [], strict=True):
        movements[index].journal_entry = entry
    rows_insert(StockMovement, movements)
    audit_event_rows([_audit_fields(m, actor, "used") for m in movements])
    return movements


@transaction.atomic
def stock_use_return(*, use: StockMovement, actor, reason: str, on: date | None = None) -> StockMovement:
    """Put back on the shelf what a use took (its encounter was voided): the same lot into the same place at the cost
    the use took away (Dr Inventory, Cr supplies expense), naming the same patient and encounter."""
    if use.kind != MovementKind.CONSUMPTION or use.quantity >= 0:
        raise ValidationError({"use": "Only a use of stock can be put back."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the stock is put back."})
    item = _locked(use.item)
    unit_cost = (use.value / use.quantity).quantize(Decimal("0.0001")) if use.value else ZERO
    movement = _move(item=item, place=use.stock_location, lot=use.lot, kind=MovementKind.ADJUSTMENT,
                     quantity=-use.quantity, actor=actor, on=_today(on), unit_cost=unit_cost, patient=use.patient,
                     encounter_ref=use.encounter_ref, reason=reason.strip())
    _audit(movement, actor, "returned_from_use")
    return movement


@transaction.atomic
def stock_transfer(*, item: Item, from_location: StockLocation, to_location: StockLocation, lot: Lot,
                   quantity: Decimal, actor, moved_on: date | None = None) -> tuple[StockMovement, StockMovement]:
    """Move a lot from one stock location to another: two movements, no change of value."""
    _check_same_practice(item, from_location, to_location)
    if from_location.pk == to_location.pk:
        raise ValidationError({"to_location": "Choose a different stock location to move to."})
    if quantity <= 0:
        raise ValidationError({"quantity": "The quantity moved is more than zero."})
    if lot.item_id != item.pk:
        raise ValidationError({"lot": f"Lot {lot} is not a lot of {item.name}."})
    on = _today(moved_on)
    item = _locked(item)
    out = _move(item=item, place=from_location, lot=lot, kind=MovementKind.TRANSFER_OUT, quantity=-quantity,
                actor=actor, on=on, reason=f"To {to_location.name}")
    into = _move(item=item, place=to_location, lot=lot, kind=MovementKind.TRANSFER_IN, quantity=quantity,
                 actor=actor, on=on, reason=f"From {from_location.name}")
    _audit(out, actor, "transferred")
    return out, into


_OUT_KINDS = {MovementKind.WASTE: "wasted", MovementKind.EXPIRY: "expired", MovementKind.RETURN: "returned"}


@transaction.atomic
def stock_remove(*, item: Item, stock_location: StockLocation, lot: Lot, quantity: Decimal, kind: str, reason: str,
                 actor, on: date | None = None) -> StockMovement:
    """Take stock off the shelf as waste, as expired, or back to the vendor (Dr accounts payable); a reason is
    required."""
    _check_same_practice(item, stock_location)
    if kind not in _OUT_KINDS:
        raise ValidationError({"kind": "Choose waste, expired or return to vendor."})
    if quantity <= 0:
        raise ValidationError({"quantity": "The quantity is more than zero."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the stock is removed."})
    if lot.item_id != item.pk:
        raise ValidationError({"lot": f"Lot {lot} is not a lot of {item.name}."})
    item = _locked(item)
    movement = _move(item=item, place=stock_location, lot=lot, kind=kind, quantity=-quantity, actor=actor,
                     on=_today(on), reason=reason.strip())
    _audit(movement, actor, _OUT_KINDS[kind])
    return movement


@transaction.atomic
def stock_adjust(*, item: Item, stock_location: StockLocation, lot: Lot, quantity: Decimal, reason: str, actor,
                 on: date | None = None, kind: str = MovementKind.ADJUSTMENT) -> StockMovement:
    """Correct a balance by a signed quantity (found or lost stock), against supplies expense; a reason is required."""
    _check_same_practice(item, stock_location)
    if quantity == 0:
        raise ValidationError({"quantity": "An adjustment of zero changes nothing."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the stock is adjusted."})
    if lot.item_id != item.pk:
        raise ValidationError({"lot": f"Lot {lot} is not a lot of {item.name}."})
    item = _locked(item)
    movement = _move(item=item, place=stock_location, lot=lot, kind=kind, quantity=quantity, actor=actor,
                     on=_today(on), reason=reason.strip())
    _audit(movement, actor, "adjusted")
    return movement


@transaction.atomic
def cycle_count_post(*, stock_location: StockLocation, counts: list[tuple[Lot, Decimal]], actor,
                     on: date | None = None) -> list[StockMovement]:
    """Post a count of a stock location: each counted lot whose balance differs gets a variance adjustment. A
    negative count is refused, naming its row."""
    movements = []
    for row, (lot, counted) in enumerate(counts, start=1):
        if counted is None or counted < 0:
            raise ValidationError({"counts": f"Row {row} ({lot.item.name} {lot}): a count is zero or more."})
        if lot.organization_id != stock_location.organization_id:
            raise ValidationError({"counts": f"Row {row}: this lot belongs to another practice."})
        balance = StockBalance.objects.filter(item_id=lot.item_id, stock_location=stock_location, lot=lot).first()
        variance = counted - (balance.on_hand if balance else ZERO)
        if variance:
            movements.append(stock_adjust(item=lot.item, stock_location=stock_location, lot=lot, quantity=variance,
                                          reason=f"Cycle count: counted {quantity_text(counted)}", actor=actor, on=on,
                                          kind=MovementKind.CYCLE_COUNT))
    return movements

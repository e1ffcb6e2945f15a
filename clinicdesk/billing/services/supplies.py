"""Supplies used in care: what an encounter's services took from the shelf (a vaccine dose of a lot, a splint).

Coding records them (item, lot, quantity in the item's unit, for service n); posting the encounter uses them through
inventory's stock service at the encounter's location, for the patient, in the posting's transaction; voiding puts
them back. Each problem is refused naming its supply row or, when posting, the encounter, service and item.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from clinicdesk.inventory.codes import gtin_normalise
from clinicdesk.inventory.models import Item, Lot, Pack, StockLocation
from clinicdesk.inventory.selectors import encounter_uses, usable_balances_at
from clinicdesk.inventory.services.stock import StockUse, stock_consume_batch, stock_use_return

from ..models import Encounter, EncounterSupply

MAX_SUPPLIES = 24
_USE_NUMBER = re.compile(r"Use (\d+): ")  # how a batch of uses names the refused one
MAX_QUANTITY = Decimal("99999")


@dataclass(frozen=True)
class SupplyInput:
    """One supply as the coder enters it: for service `line`, an item (or a scanned pack barcode), a lot or serial
    (empty: the first-expiring on the shelf is suggested) and a quantity in the item's unit (one for a serial)."""

    line: int | None
    item_id: int | None = None
    lot_id: int | None = None
    quantity: Decimal | str = Decimal("1")
    gtin: str = ""


def _quantity(raw) -> Decimal | None:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value <= 0 or value > MAX_QUANTITY or value != value.quantize(Decimal("0.001")):
        return None
    return value


def supplies_build(*, encounter: Encounter, supplies: Sequence[SupplyInput], line_count: int,
                   errors: dict[str, list[str]]) -> list[EncounterSupply]:
    """The encounter's supply rows from what was entered (not saved); problems go to errors["supplies"] as
    'Supply n: …'. A lot left empty is the first-expiring lot of the item in stock at the encounter's location."""
    problems = errors.setdefault("supplies", [])
    if len(supplies) > MAX_SUPPLIES:
        problems.append(f"At most {MAX_SUPPLIES} supplies on one encounter.")
        return []
    org_id = encounter.organization_id
    items = {i.pk: i for i in Item.objects.filter(
        organization_id=org_id, is_active=True, pk__in=[s.item_id for s in supplies if isinstance(s.item_id, int)])}
    lots = {lot.pk: lot for lot in Lot.objects.filter(
        organization_id=org_id, pk__in=[s.lot_id for s in supplies if isinstance(s.lot_id, int)])}
    chosen_items: list[Item | None] = []
    scan_errors: dict[int, str] = {}
    for n, s in enumerate(supplies, start=1):
        item = items.get(s.item_id) if isinstance(s.item_id, int) else None
        if (s.gtin or "").strip():
            try:
                code = gtin_normalise(s.gtin)
            except ValidationError as exc:
                scan_errors[n] = " ".join(exc.messages)
                code = ""
            pack = Pack.objects.filter(organization_id=org_id, gtin=code).select_related("item").first() if code else None
            item = pack.item if pack is not None and pack.item.is_active else None
        chosen_items.append(item)
    wanted = {i.pk for i in chosen_items if i is not None}
    on_shelf = usable_balances_at(organization_id=org_id, location_id=encounter.location_id, item_ids=wanted,
                                  on=encounter.service_date) if wanted else []
    places = list(StockLocation.objects.filter(organization_id=org_id, location_id=encounter.location_id,
                                               is_active=True).order_by("name")) if wanted else []
    built = []
    serials_taken: set[int] = set()  # a serial is one unit: two rows never take the same one
    for n, (s, item) in enumerate(zip(supplies, chosen_items, strict=True), start=1):
        where = f"Supply {n}"
        if n in scan_errors:
            problems.append(f"{where}: {scan_errors[n]}")
            continue
        if item is None:
            problems.append(f"{where}: no such item{f' for barcode {s.gtin.strip()[:20]}' if (s.gtin or '').strip() else ''}.")
            continue
        if not isinstance(s.line, int) or not 1 <= s.line <= line_count:
            problems.append(f"{where}: give the number of the service it was used for (1 to {line_count}).")
            continue
        quantity = _quantity(s.quantity)
        if quantity is None:
            problems.append(f"{where}: the quantity of {item.name} is a number of {item.base_unit} above zero "
                            f"(up to three decimals).")
            continue
        if item.tracks_serials and quantity != 1:
            problems.append(f"{where}: {item.name} is tracked by serial number: enter one supply (quantity 1) for "
                            f"each serial.")
            continue
        shelf = [b for b in on_shelf if b.item_id == item.pk]
        lot = None
        if s.lot_id is not None:
            lot = lots.get(s.lot_id)
            if lot is None or lot.item_id != item.pk:
                problems.append(f"{where}: that lot is not a lot of {item.name}.")
                continue
            if lot.expires_on is not None and lot.expires_on < encounter.service_date:
                problems.append(f"{where}: {lot.label} of {item.name} expired on {lot.expires_on:%m/%d/%Y}.")
                continue
            if lot.pk in serials_taken:
                problems.append(f"{where}: serial {lot.number} of {item.name} is on another supply row.")
                continue
            shelf = [b for b in shelf if b.lot_id == lot.pk]
        elif item.tracks_serials:
            shelf = [b for b in shelf if b.lot_id not in serials_taken][:1]
            lot = shelf[0].lot if shelf else None
        elif shelf and item.tracks_lots:
            lot = shelf[0].lot
            shelf = shelf[:1]
        if lot is not None and lot.is_serial:
            serials_taken.add(lot.pk)
        # Where it comes from: the shelf holding enough of that lot, else the first holding any, else the
        # location's first stock location (posting then says how much is missing).
        enough = [b for b in shelf if b.on_hand >= quantity]
        place = (enough or shelf)[0].stock_location if shelf else (places[0] if places else None)
        if place is None:
            problems.append(f"{where}: {encounter.location.name} has no stock location to take {item.name} from.")
            continue
        built.append(EncounterSupply(encounter=encounter, sequence=len(built) + 1, line=s.line, item=item,
                                     stock_location=place, lot=lot, quantity=quantity))
    if not problems:
        errors.pop("supplies")
    return built


def supplies_of(encounter_ids: Sequence[int]) -> dict[int, list[EncounterSupply]]:
    """The supplies of a batch of encounters in one query, by encounter, in order."""
    grouped: dict[int, list[EncounterSupply]] = defaultdict(list)
    for supply in (EncounterSupply.objects.filter(encounter_id__in=list(encounter_ids))
                   .select_related("item", "lot", "stock_location").order_by("encounter_id", "sequence")):
        grouped[supply.encounter_id].append(supply)
    return grouped


def supplies_use(*, encounters: Sequence[Encounter], supplies_by_encounter: dict[int, list[EncounterSupply]],
                 actor) -> None:
    """Take the encounters' supplies off the shelf, for each patient on the service date, in one batch of uses. Not
    enough on hand (and the item may not go negative), or an expired lot, refuses naming the encounter, the service
    and the item."""
    uses, owners = [], []
    for encounter in encounters:
        for supply in supplies_by_encounter.get(encounter.pk, []):
            uses.append(StockUse(item=supply.item, stock_location=supply.stock_location, quantity=supply.quantity,
                                 lot=supply.lot, patient=encounter.patient, encounter_ref=encounter.public_id,
                                 used_on=encounter.service_date,
                                 reason=f"Service {supply.line} of the encounter of {encounter.service_date:%m/%d/%Y}"))
            owners.append((encounter, supply))
    try:
        stock_consume_batch(uses=uses, actor=actor)
    except ValidationError as exc:
        text = " ".join(exc.messages)
        number = _USE_NUMBER.match(text)
        encounter, supply = owners[int(number.group(1)) - 1] if number else owners[0]
        text = text[number.end():] if number else text
        raise ValidationError({"encounters": [
            f"{encounter.patient} {encounter.service_date:%m/%d/%Y}: Service {supply.line}, supply "
            f"{supply.item.name}: {text}"]}) from None


def supplies_put_back(*, encounter: Encounter, reason: str, actor) -> int:
    """Put back on the shelf every use recorded for a voided encounter; returns how many uses were put back."""
    uses = list(encounter_uses(organization_id=encounter.organization_id, encounter_ref=encounter.public_id,
                               used_on=encounter.service_date))
    for use in uses:
        stock_use_return(use=use, actor=actor, reason=f"Encounter voided: {reason}"[:200])
    return len(uses)

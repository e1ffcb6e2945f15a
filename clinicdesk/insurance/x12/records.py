"""Dataclasses several transactions share: addresses and claim adjustments (CAS)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from clinicdesk.insurance.x12.codes import ADJUSTMENT_GROUPS, carc, describe
from clinicdesk.insurance.x12.segments import Segment, TransactionWriter, money, number


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet: group (CO, PR, OA, PI, CR), reason (a CARC), amount and an optional quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None

    @property
    def group_name(self) -> str:
        return describe(ADJUSTMENT_GROUPS, self.group)

    @property
    def reason_name(self) -> str:
        return carc(self.reason)


def read_cas(segment: Segment) -> list[Adjustment]:
    """A CAS holds a group and up to six reason/amount/quantity triplets."""
    group = segment.get(1)
    if group not in ADJUSTMENT_GROUPS:
        raise segment.error(f"CAS01 '{group}' is not an adjustment group (CO, PR, OA, PI, CR)")
    adjustments = []
    for position in range(2, 19, 3):
        reason = segment.get(position)
        if not reason:
            continue
        amount = segment.amount(position + 1, required=True)
        adjustments.append(Adjustment(group, reason, amount, segment.amount(position + 2)))
    if not adjustments:
        raise segment.error("CAS02 (the reason) is required")
    return adjustments


def write_cas(writer: TransactionWriter, adjustments: list[Adjustment] | tuple[Adjustment, ...]) -> None:
    """One CAS per group, six triplets at most each."""
    by_group: dict[str, list[Adjustment]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group, []).append(adjustment)
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            elements: list[str] = []
            for item in items[start:start + 6]:
                quantity = number(item.quantity) if item.quantity is not None else ""
                elements += [item.reason, money(item.amount), quantity]
            writer.add("CAS", group, *elements)


def read_n4(segment: Segment, n3: Segment | None) -> Address:
    return Address(
        line1=n3.get(1) if n3 else "", line2=n3.get(2) if n3 else "", city=segment.get(1), state=segment.get(2),
        postal_code=segment.get(3),
    )


def write_address(writer: TransactionWriter, address: Address) -> None:
    writer.add("N3", address.line1, address.line2 or None)
    writer.add("N4", address.city, address.state, address.postal_code)

"""Stockouts, from the inventory app's stock ledger (goals reads its selectors; inventory never imports goals)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clinicdesk.core.permissions import Perm
from clinicdesk.inventory.selectors import stockout_events

from ..choices import Direction, KpiUnit
from .registry import Figure, Kpi, Rows, Scope, register

SCOPES = frozenset({"department", "location"})


def _events(org: int, start: date, end: date, scope: Scope):
    return stockout_events(organization_id=org, start=start, end=end, department_id=scope.department_id,
                           location_id=scope.location_id)


def stockouts(org: int, start: date, end: date, scope: Scope) -> Figure:
    return Figure(value=Decimal(_events(org, start, end, scope).count()))


def stockout_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    return Rows(columns=["Date", "Item", "Stock location", "Movement", "On hand after"],
                items=_events(org, start, end, scope),
                cells=lambda m: [m.occurred_on, m.item.name, m.stock_location.name, m.get_kind_display(),
                                 f"{m.location_on_hand_after.normalize():f}"])


register(Kpi(
    code="stockouts", name="Stockouts", unit=KpiUnit.COUNT, source="inventory", perm=Perm.INVENTORY_VIEW,
    better=Direction.AT_MOST, compute=stockouts, rows=stockout_rows, scopes=SCOPES,
    formula="Stockout events dated in the period: a stock movement (use, waste, expiry, transfer out, return, "
            "adjustment) that takes an item's total on hand in a stock location from above zero to zero or below, "
            "where that item has a par level above zero in that location. One count per event: an item that runs "
            "out twice in a month counts twice; an item already at zero that is used again (items allowed to go "
            "negative) does not count again until it has been restocked above zero. Items with no par level there "
            "are not counted. Scoped by the stock location's department or location."))

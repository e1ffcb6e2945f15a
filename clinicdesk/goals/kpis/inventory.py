"""Stockouts. The practice has no inventory records yet: the KPI is registered so objectives can name it, and it
reports "no inventory data" until the inventory app supplies its functions with `registry.kpi_provide("stockouts",
compute=..., rows=...)` from its ready()."""

from __future__ import annotations

from datetime import date

from clinicdesk.core.permissions import Perm

from ..choices import Direction, KpiUnit
from .registry import Figure, Kpi, Rows, Scope, register

NO_DATA = "No inventory data: stock is not recorded in clinicdesk yet."


def stockouts(org: int, start: date, end: date, scope: Scope) -> Figure:
    return Figure(value=None, note=NO_DATA)


def stockout_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    return Rows(columns=["Note"], items=[], cells=lambda item: [item])


register(Kpi(
    code="stockouts", name="Stockouts", unit=KpiUnit.COUNT, source="inventory", perm=Perm.GOALS_VIEW,
    better=Direction.AT_MOST, compute=stockouts, rows=stockout_rows, available=False,
    formula="Items whose stock on hand reached zero during the period (one count per item and stockout). "
            "Reported once the inventory app records stock; until then: no inventory data."))

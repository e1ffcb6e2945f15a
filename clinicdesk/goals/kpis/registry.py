"""The KPI registry: every KPI a key result may bind to, with its code, name, unit, written formula and the query
behind the number (its drill-down). Sources register at import (see kpis/__init__.py); an app that is added later
(inventory for stockouts) supplies its functions with `kpi_provide`, and until then the KPI reports "no data"."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Scope:
    """Which part of the practice a figure covers; None everywhere means the whole practice."""

    department_id: int | None = None
    location_id: int | None = None
    provider_id: int | None = None

    def key(self) -> str:
        return f"d{self.department_id or ''}l{self.location_id or ''}p{self.provider_id or ''}"


@dataclass(frozen=True)
class Figure:
    """A KPI's value for a period and scope, with the parts it is made of (shown beside it)."""

    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    note: str = ""


@dataclass
class Rows:
    """The rows behind a number: column titles, the items (a queryset or a list, so that it pages) and a function
    that turns one item into the cells of its row."""

    columns: Sequence[str]
    items: object
    cells: Callable[[object], list]
    patients: Callable[[Iterable[object]], list] | None = None  # the patients on a page of rows (read audit)


Compute = Callable[[int, date, date, Scope], Figure]
RowsQuery = Callable[[int, date, date, Scope], Rows]


@dataclass(frozen=True)
class Kpi:
    code: str
    name: str
    unit: str
    formula: str
    source: str  # scheduling, billing, insurance, ledger, staff, rostering, inventory
    perm: str  # the permission that opens the source's rows
    better: str  # the usual good direction (Direction), a default for new key results
    compute: Compute
    rows: RowsQuery
    scopes: frozenset[str] = field(default_factory=frozenset)
    available: bool = True


_REGISTRY: dict[str, Kpi] = {}


def register(kpi: Kpi) -> Kpi:
    _REGISTRY[kpi.code] = kpi
    return kpi


def kpi_provide(code: str, *, compute: Compute, rows: RowsQuery, scopes: Iterable[str] | None = None) -> Kpi:
    """Supply the functions of a KPI registered without a data source yet (called from the source app's ready())."""
    kpi = _REGISTRY[code]
    provided = replace(kpi, compute=compute, rows=rows, available=True,
                       scopes=frozenset(scopes) if scopes is not None else kpi.scopes)
    _REGISTRY[code] = provided
    return provided


def get(code: str) -> Kpi | None:
    _load()
    return _REGISTRY.get(code)


def all_kpis() -> list[Kpi]:
    _load()
    return sorted(_REGISTRY.values(), key=lambda k: (k.source, k.name))


def choices() -> list[tuple[str, str]]:
    return [(k.code, k.name) for k in all_kpis()]


def _load() -> None:
    from clinicdesk.goals import kpis  # noqa: F401  (importing the package registers every source)


def percent(part, whole) -> Decimal | None:
    """part ÷ whole × 100, to two places (half up); None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def local_days(start: date, end: date) -> tuple[datetime, datetime]:
    """From the first moment of `start` to the first of the day after `end`, in the practice's time zone: the same
    days as `__date` lookups, but a range the (organization, time) indexes serve, with no conversion per row."""
    zone = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(start, time.min), zone),
            timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone))


def one_place(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def no_rows(columns: Sequence[str] = ("Note",)) -> Rows:
    return Rows(columns=columns, items=[], cells=lambda item: [item])

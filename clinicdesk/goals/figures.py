"""KPI figures through the cache. Each practice has a version number in the cache; every figure's key carries it,
so a write that changes the data (an appointment's new status, a claim's change, a payment) only bumps the
version (one cache increment, see receivers.py) and the next read computes afresh. Old keys age out.

Journal entries are written in bulk by the ledger's services (no post_save is sent for them), so the key also
carries the practice's latest entry id: one indexed read, and any posting, from any service, shows on the next read."""

from __future__ import annotations

from datetime import date

from django.core.cache import cache

from clinicdesk.ledger.models import JournalEntry

from .kpis import registry
from .kpis.registry import Figure, Scope

FIGURE_TTL = 60 * 60 * 6
VERSION_TTL = None  # the version must outlive the figures it guards


def _version_key(organization_id: int) -> str:
    return f"goals:v:{organization_id}"


def data_version(organization_id: int) -> str:
    version = cache.get(_version_key(organization_id))
    if version is None:
        cache.add(_version_key(organization_id), 1, timeout=VERSION_TTL)
        version = cache.get(_version_key(organization_id)) or 1
    latest = (JournalEntry.objects.filter(organization_id=organization_id).order_by("-pk")
              .values_list("pk", flat=True).first())
    return f"{version}.{latest or 0}"


def data_changed(organization_id: int | None) -> None:
    """New data posted for this practice: every cached figure of it is stale. One cache operation."""
    if not organization_id:
        return
    try:
        cache.incr(_version_key(organization_id))
    except ValueError:  # no version yet: nothing cached under one either
        cache.add(_version_key(organization_id), 1, timeout=VERSION_TTL)


def _key(organization_id: int, version: str, code: str, start: date, end: date, scope: Scope) -> str:
    return f"goals:f:{organization_id}:{version}:{code}:{start.isoformat()}:{end.isoformat()}:{scope.key()}"


def figure(*, organization_id: int, code: str, start: date, end: date, scope: Scope | None = None) -> Figure:
    """The KPI's figure for the period and scope, from the cache when the practice's data has not changed since."""
    scope = scope or Scope()
    version = data_version(organization_id)
    key = _key(organization_id, version, code, start, end, scope)
    cached = cache.get(key)
    if cached is not None:
        return cached
    kpi = registry.get(code)
    result = kpi.compute(organization_id, start, end, scope)
    cache.set(key, result, timeout=FIGURE_TTL)
    return result


def figures_many(*, organization_id: int, wanted: list[tuple[str, date, date, Scope]]) -> dict[tuple, Figure]:
    """Many figures with one cache round trip for those already computed (the dashboard's cards and charts)."""
    version = data_version(organization_id)
    keys = {_key(organization_id, version, *w): w for w in wanted}
    found = cache.get_many(list(keys))
    result, fresh = {}, {}
    for key, want in keys.items():
        if key in found:
            result[want] = found[key]
            continue
        kpi = registry.get(want[0])
        result[want] = fresh[key] = kpi.compute(organization_id, want[1], want[2], want[3])
    if fresh:
        cache.set_many(fresh, timeout=FIGURE_TTL)
    return result

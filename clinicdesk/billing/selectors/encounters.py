"""Reads of encounters, superbills and the charge review queue, scoped to the acting user's practice.

Clinicians code their own visits: without charges.review a user sees only the encounters they rendered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from clinicdesk.core.permissions import Perm

from ..choices import EncounterStatus
from ..models import Encounter, ServiceLine, SuperbillTemplate

WAITING_FOR_REVIEW = (EncounterStatus.IN_REVIEW, EncounterStatus.ON_HOLD)
QUEUE_LIMIT = 1000  # a practice's queue is a few days of visits; more than this is a backlog to filter down


def may_see_all(user) -> bool:
    return user.has_perm_code(Perm.CHARGES_REVIEW)


def encounter_scope(*, user) -> QuerySet[Encounter]:
    """The encounters `user` may open: the practice's (billing staff) or their own (clinicians)."""
    rows = Encounter.objects.filter(organization_id=user.organization_id)
    if not may_see_all(user):
        rows = rows.filter(provider_id=user.pk)
    return rows


def with_lines(rows: QuerySet[Encounter]) -> QuerySet[Encounter]:
    """Everything `encounter_problems` and the pages read, in a fixed number of queries."""
    return rows.select_related("patient", "provider", "location", "appointment").prefetch_related(
        "diagnoses", Prefetch("services", queryset=ServiceLine.objects.select_related("rendering_provider")))


def encounter_get(*, user, public_id: str) -> Encounter:
    """One encounter the user may open, with its lines; another practice's (or a colleague's, for a clinician)
    is a 404."""
    encounter = with_lines(encounter_scope(user=user)).filter(public_id=str(public_id)[:14]).first()
    if encounter is None:
        raise Http404("No such encounter.")
    return encounter


@dataclass(frozen=True)
class EncounterFilters:
    status: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    provider_id: int | None = None
    location_id: int | None = None


def encounter_list(*, user, filters: EncounterFilters) -> QuerySet[Encounter]:
    """Encounters by service date, newest first, filtered; with their lines for the totals."""
    rows = encounter_scope(user=user)
    if filters.status:
        rows = rows.filter(status__in=filters.status)
    if filters.date_from:
        rows = rows.filter(service_date__gte=filters.date_from)
    if filters.date_to:
        rows = rows.filter(service_date__lte=filters.date_to)
    if filters.provider_id:
        rows = rows.filter(provider_id=filters.provider_id)
    if filters.location_id:
        rows = rows.filter(location_id=filters.location_id)
    return with_lines(rows).order_by("-service_date", "-id")


@dataclass
class QueueRow:
    encounter: Encounter
    problems: list[dict[str, str]]
    total: Decimal

    @property
    def flagged(self) -> bool:
        return bool(self.problems)


def review_queue(*, user, filters: EncounterFilters, flagged_only: bool = False) -> list[QueueRow]:
    """Encounters waiting for the biller (in review or on hold), oldest visit first, each with what the scrubber
    finds now (not only when it was sent: a fix made since shows at once)."""
    from ..services.charges import encounter_problems

    rows = encounter_list(user=user, filters=EncounterFilters(
        status=filters.status or WAITING_FOR_REVIEW, date_from=filters.date_from, date_to=filters.date_to,
        provider_id=filters.provider_id, location_id=filters.location_id,
    )).order_by("service_date", "id")[:QUEUE_LIMIT]
    queue = []
    for encounter in rows:
        problems = encounter_problems(encounter)
        if flagged_only and not problems:
            continue
        queue.append(QueueRow(encounter=encounter, problems=problems,
                              total=sum((s.amount for s in encounter.services.all()), Decimal("0"))))
    return queue


def encounters_by_public_id(*, user, public_ids: list[str]) -> list[Encounter]:
    """The chosen encounters of the queue, in the order given; an id the user may not see is left out."""
    wanted = [str(p)[:14] for p in public_ids][:QUEUE_LIMIT]
    found = {e.public_id: e for e in encounter_scope(user=user).filter(public_id__in=wanted).select_related("patient")}
    return [found[p] for p in dict.fromkeys(wanted) if p in found]


def superbill_list(*, user, include_inactive: bool = True) -> QuerySet[SuperbillTemplate]:
    rows = SuperbillTemplate.objects.filter(organization_id=user.organization_id)
    if not include_inactive:
        rows = rows.filter(is_active=True)
    return rows.order_by("name")


def superbill_get(*, user, superbill_id: int) -> SuperbillTemplate:
    template = SuperbillTemplate.objects.filter(organization_id=user.organization_id, pk=superbill_id).first()
    if template is None:
        raise Http404("No such superbill.")
    return template


def providers(*, user) -> QuerySet:
    """The practice's clinicians, for the provider pickers and filters."""
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import User

    return User.objects.filter(organization_id=user.organization_id, role=Role.CLINICIAN).order_by(
        "last_name", "first_name")


def locations(*, user) -> QuerySet:
    from clinicdesk.core.models import Location

    return Location.objects.filter(organization_id=user.organization_id).order_by("name")


def encounter_supplies(*, encounter: Encounter) -> list:
    """The supplies coded on an encounter (one the caller got through `encounter_get`), in order."""
    return list(encounter.supplies.select_related("item", "lot", "stock_location").order_by("sequence"))


def supply_choices(*, user, encounter: Encounter) -> tuple[list, list]:
    """What the coding page offers as supplies: the practice's active clinical items, vaccines and medications by
    name, and the lots of them usable at the encounter's location on its service date, first-expiring first."""
    from clinicdesk.inventory.choices import ItemKind
    from clinicdesk.inventory.models import Item
    from clinicdesk.inventory.selectors import usable_balances_at

    items = (Item.objects.filter(organization_id=user.organization_id, is_active=True)
             .exclude(kind=ItemKind.OFFICE_SUPPLY).order_by("name", "id"))
    shelf = usable_balances_at(organization_id=user.organization_id, location_id=encounter.location_id,
                               item_ids=items.values("pk"), on=encounter.service_date)
    return list(items), shelf

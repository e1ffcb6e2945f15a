"""Reads of claims, scoped to the acting user's practice: the ready-to-bill list, the work queues with their
filters and age buckets, one claim with everything its page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter

from ..choices import OPEN_CLAIM_STATUSES, ClaimStatus, CoverageRank
from ..models import Claim, Coverage, RemittanceAdjustment, RemittanceClaim

QUEUE_LIMIT = 500
AGE_BUCKETS = {"0-30": (0, 30), "31-60": (31, 60), "61-90": (61, 90), "90+": (91, None)}
WORK_STATUSES = (ClaimStatus.DRAFT, ClaimStatus.SCRUBBED, ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED,
                 ClaimStatus.REJECTED, ClaimStatus.DENIED, ClaimStatus.APPEALED, ClaimStatus.PARTIALLY_PAID)


@dataclass
class ReadyRow:
    encounter: Encounter
    coverage: Coverage | None

    @property
    def total(self):
        return sum((s.amount for s in self.encounter.services.all()), 0)


def ready_to_bill(*, user, limit: int = QUEUE_LIMIT) -> list[ReadyRow]:
    """Posted encounters with no open primary claim, each with the primary coverage in force on its date (None:
    the patient has none, so the charge stays with the patient)."""
    encounters = list(
        Encounter.objects.filter(organization_id=user.organization_id, status=EncounterStatus.POSTED)
        .exclude(Exists(Claim.objects.filter(encounter=OuterRef("pk"), rank=CoverageRank.PRIMARY,
                                             status__in=OPEN_CLAIM_STATUSES)))
        .select_related("patient", "provider").prefetch_related("services").order_by("service_date", "id")[:limit])
    coverages: dict[int, list[Coverage]] = {}
    for c in Coverage.objects.filter(organization_id=user.organization_id, is_active=True, rank=CoverageRank.PRIMARY,
                                     patient_id__in={e.patient_id for e in encounters}).select_related("payer"):
        coverages.setdefault(c.patient_id, []).append(c)
    return [ReadyRow(e, next((c for c in coverages.get(e.patient_id, []) if c.covers(e.service_date)), None))
            for e in encounters]


@dataclass(frozen=True)
class ClaimFilters:
    status: tuple[str, ...] = ()
    payer_id: int | None = None
    denial_reason: str = ""
    age: str = ""
    age_from: str = "service"  # or "submitted"
    assigned_to_id: int | None = None
    unassigned: bool = False
    search: str = ""


def _base(user) -> QuerySet[Claim]:
    return Claim.objects.filter(organization_id=user.organization_id)


def claim_queue(*, user, filters: ClaimFilters = ClaimFilters(), today: date | None = None,
                limit: int = QUEUE_LIMIT) -> list[Claim]:
    """Open claims to work, filtered; oldest service first. Each row knows its age in days (`age_days`)."""
    today = today or timezone.localdate()
    qs = _base(user).filter(status__in=filters.status or WORK_STATUSES)
    if filters.payer_id:
        qs = qs.filter(payer_id=filters.payer_id)
    if filters.denial_reason:
        qs = qs.filter(denial_reason__icontains=filters.denial_reason)
    if filters.assigned_to_id:
        qs = qs.filter(assigned_to_id=filters.assigned_to_id)
    if filters.unassigned:
        qs = qs.filter(assigned_to__isnull=True)
    if filters.search:
        term = filters.search.strip()
        qs = qs.filter(Q(claim_number__iexact=term) | Q(patient__last_name__istartswith=term)
                       | Q(patient__mrn__iexact=term))
    if filters.age in AGE_BUCKETS:
        low, high = AGE_BUCKETS[filters.age]
        if filters.age_from == "submitted":
            qs = qs.filter(submitted_at__isnull=False, submitted_at__date__lte=today - timedelta(days=low))
            if high is not None:
                qs = qs.filter(submitted_at__date__gte=today - timedelta(days=high))
        else:
            qs = qs.filter(service_from__lte=today - timedelta(days=low))
            if high is not None:
                qs = qs.filter(service_from__gte=today - timedelta(days=high))
    rows = list(qs.select_related("patient", "payer", "assigned_to").order_by("service_from", "id")[:limit])
    for claim in rows:
        start = claim.submitted_at.date() if filters.age_from == "submitted" and claim.submitted_at else claim.service_from
        claim.age_days = (today - start).days
        claim.age_bucket = age_bucket(claim.age_days)
    return rows


def age_bucket(days: int) -> str:
    for name, (low, high) in AGE_BUCKETS.items():
        if days >= low and (high is None or days <= high):
            return name
    return "0-30"


def denial_reasons(*, user) -> list[str]:
    return sorted(set(_base(user).filter(status=ClaimStatus.DENIED).exclude(denial_reason="")
                      .values_list("denial_reason", flat=True)))


def claim_get(*, user, public_id: str) -> Claim:
    """One claim of the user's practice with its lines, findings, events and appeals, or 404."""
    claim = (_base(user).filter(public_id=public_id)
             .select_related("patient", "payer", "coverage", "rendering_provider", "assigned_to", "encounter",
                             "original_claim", "primary_claim", "organization")
             .prefetch_related("lines__item", "findings__line", Prefetch("events", to_attr="history"), "appeals__letter",
                               "corrections", "secondary_claims")
             .first())
    if claim is None:
        raise Http404("No such claim.")
    return claim


def claims_by_public_id(*, user, public_ids) -> list[Claim]:
    return list(_base(user).filter(public_id__in=list(public_ids)).select_related("patient"))


def claim_balance(claim: Claim):
    """What is still owed on the claim's insurance items."""
    from clinicdesk.ledger.selectors import item_balances

    ids = [ln.item_id for ln in claim.lines.all() if ln.item_id]
    return sum(item_balances(item_ids=ids).values(), 0)


def primary_payments(claim: Claim) -> dict:
    """What the primary payer paid and adjusted, claim and line level, for a secondary claim (from its 835 rows)."""
    primary = claim.primary_claim if claim.rank != CoverageRank.PRIMARY else None
    if primary is None:
        return {"paid": 0, "adjustments": [], "lines": {}}
    remits = list(RemittanceClaim.objects.filter(claim=primary).exclude(status_code="22")
                  .prefetch_related("lines__adjustments"))
    adjustments = list(RemittanceAdjustment.objects.filter(remittance_claim__in=remits, line__isnull=True))
    lines: dict[int, dict] = {}
    for rc in remits:
        for rl in rc.lines.all():
            if rl.claim_line_id is None:
                continue
            got = lines.setdefault(rl.claim_line_id, {"paid": 0, "adjustments": []})
            got["paid"] += rl.paid
            got["adjustments"] += [(a.group_code, a.reason_code, a.amount) for a in rl.adjustments.all()]
    return {"paid": sum((rc.paid for rc in remits), 0), "date": primary.adjudicated_on,
            "adjustments": [(a.group_code, a.reason_code, a.amount) for a in adjustments], "lines": lines}


def paper_claims_to_print(*, user) -> list[Claim]:
    """Scrubbed claims to payers on paper (no clearinghouse, or a paper one)."""
    return [c for c in _base(user).filter(status=ClaimStatus.SCRUBBED)
            .select_related("payer__clearinghouse", "patient").order_by("payer__name", "service_from", "id")
            if c.payer.is_paper]

"""Claim KPIs: clean-claim rate (accepted the first time) and denial rate, from the claims and their history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q

from clinicdesk.core.permissions import Perm
from clinicdesk.insurance.choices import ClaimFrequency, ClaimStatus
from clinicdesk.insurance.models import Claim, ClaimEvent

from ..choices import Direction, KpiUnit
from .registry import Figure, Kpi, Rows, Scope, local_days, percent, register

SCOPES = frozenset({"department", "location", "provider"})
BOUNCED = (ClaimStatus.REJECTED, ClaimStatus.DENIED)


def _scoped(qs, scope: Scope):
    if scope.department_id:
        qs = qs.filter(encounter__department_id=scope.department_id)
    if scope.location_id:
        qs = qs.filter(encounter__location_id=scope.location_id)
    if scope.provider_id:
        qs = qs.filter(rendering_provider_id=scope.provider_id)
    return qs


def _ever(statuses) -> Exists:
    return Exists(ClaimEvent.objects.filter(claim_id=OuterRef("pk"), to_status__in=statuses))


def _row(c: Claim) -> list:
    return [c.claim_number, c.public_id, f"{c.patient.last_name}, {c.patient.first_name}", c.payer.name,
            c.service_from, c.submitted_at.date() if c.submitted_at else "", c.adjudicated_on or "",
            c.get_status_display(), c.total_charge, c.denial_reason]


COLUMNS = ["Claim", "Id", "Patient", "Payer", "Service", "Submitted", "Adjudicated", "Status", "Charge", "Denial"]


def _patients(items) -> list:
    return [c.patient for c in items]


def _submitted(org: int, start: date, end: date, scope: Scope):
    since, until = local_days(start, end)
    return _scoped(Claim.objects.filter(organization_id=org, frequency=ClaimFrequency.ORIGINAL,
                                        submitted_at__gte=since, submitted_at__lt=until), scope)


def clean_claim_rate(org: int, start: date, end: date, scope: Scope) -> Figure:
    counts = _submitted(org, start, end, scope).annotate(bounced=_ever(BOUNCED)).aggregate(
        total=Count("id"), clean=Count("id", filter=Q(bounced=False) & ~Q(status__in=BOUNCED)))
    return Figure(value=percent(counts["clean"], counts["total"]), numerator=Decimal(counts["clean"]),
                  denominator=Decimal(counts["total"]))


def clean_claim_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = _submitted(org, start, end, scope).select_related("patient", "payer").order_by("submitted_at", "id")
    return Rows(columns=COLUMNS, items=items, cells=_row, patients=_patients)


register(Kpi(
    code="clean_claim_rate", name="Clean-claim rate", unit=KpiUnit.PERCENT, source="insurance",
    perm=Perm.CLAIMS_VIEW, better=Direction.AT_LEAST, compute=clean_claim_rate, rows=clean_claim_rows, scopes=SCOPES,
    formula="Original claims submitted in the period that were never rejected nor denied (no such status in their "
            "history) ÷ original claims submitted in the period × 100. Excluded: corrected (replacement) and void "
            "claims, and claims not yet submitted."))


def _adjudicated(org: int, start: date, end: date, scope: Scope):
    return _scoped(Claim.objects.filter(organization_id=org, adjudicated_on__gte=start, adjudicated_on__lte=end), scope)


def denial_rate(org: int, start: date, end: date, scope: Scope) -> Figure:
    counts = _adjudicated(org, start, end, scope).annotate(was_denied=_ever([ClaimStatus.DENIED])).aggregate(
        total=Count("id"), denied=Count("id", filter=Q(was_denied=True) | Q(status=ClaimStatus.DENIED)))
    return Figure(value=percent(counts["denied"], counts["total"]), numerator=Decimal(counts["denied"]),
                  denominator=Decimal(counts["total"]))


def denial_rows(org: int, start: date, end: date, scope: Scope) -> Rows:
    items = _adjudicated(org, start, end, scope).select_related("patient", "payer").order_by("adjudicated_on", "id")
    return Rows(columns=COLUMNS, items=items, cells=_row, patients=_patients)


register(Kpi(
    code="denial_rate", name="Denial rate", unit=KpiUnit.PERCENT, source="insurance", perm=Perm.CLAIMS_VIEW,
    better=Direction.AT_MOST, compute=denial_rate, rows=denial_rows, scopes=SCOPES,
    formula="Claims adjudicated in the period that were denied (denied now, or denied at some point and since "
            "appealed) ÷ claims adjudicated in the period × 100. Excluded: claims not yet adjudicated and "
            "rejections by the clearinghouse (they never reached adjudication)."))

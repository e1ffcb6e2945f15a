"""Reading remittances: scoped to the acting user's practice, only for roles that post remittances."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from clinicdesk.core.permissions import Perm

from ..choices import RemitClaimState
from ..models import Claim, Remittance, RemittanceAdjustment, RemittanceClaim, RemittanceLine
from ..x12.codes import carc, rarc

LIST_LIMIT = 500


def _check(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_perm_code(Perm.REMITTANCES_POST):
        raise PermissionDenied("Needs remittances.post")


def remittance_list(*, actor) -> QuerySet[Remittance]:
    _check(actor)
    return (Remittance.objects.filter(organization_id=actor.organization_id)
            .annotate(claim_count=Count("claims"),
                      exception_count=Count("claims", filter=Q(claims__state=RemitClaimState.EXCEPTION)))
            .order_by("-created_at", "-id")[:LIST_LIMIT])


def remittance_get(*, actor, remittance_id: int) -> Remittance:
    _check(actor)
    adjustments = RemittanceAdjustment.objects.order_by("id")
    return get_object_or_404(
        Remittance.objects.filter(organization_id=actor.organization_id).select_related("payer", "exchange").prefetch_related(
            "provider_adjustments",
            Prefetch("claims", queryset=RemittanceClaim.objects.select_related("claim__patient").prefetch_related(
                Prefetch("adjustments", queryset=adjustments),
                Prefetch("lines", queryset=RemittanceLine.objects.prefetch_related(Prefetch("adjustments", queryset=adjustments))),
            )),
        ),
        pk=remittance_id,
    )


def exceptions_list(*, actor) -> QuerySet[RemittanceClaim]:
    _check(actor)
    return (RemittanceClaim.objects.filter(remittance__organization_id=actor.organization_id,
                                           state=RemitClaimState.EXCEPTION)
            .select_related("remittance").order_by("remittance__created_at", "id")[:LIST_LIMIT])


def exception_get(*, actor, remittance_claim_id: int) -> RemittanceClaim:
    _check(actor)
    return get_object_or_404(RemittanceClaim.objects.filter(remittance__organization_id=actor.organization_id)
                             .select_related("remittance"), pk=remittance_claim_id)


def claim_by_number(*, actor, claim_number: str) -> Claim | None:
    _check(actor)
    return Claim.objects.filter(organization_id=actor.organization_id, claim_number=claim_number.strip()).first()


def adjustment_label(adjustment: RemittanceAdjustment) -> str:
    """e.g. "CO-45: Charge exceeds fee schedule..." with the CARC's description."""
    return f"{adjustment.group_code}-{adjustment.reason_code}: {carc(adjustment.reason_code)}"


def remark_labels(codes_text: str) -> list[str]:
    return [f"{code}: {rarc(code)}" for code in codes_text.split(",") if code]

"""Reads of the payer rules page: the practice's rules with their filters, one rule, and the claim a rule is tried on."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from ..models import Claim, PayerRule

EVERY_PAYER = -1  # the payer filter's value for rules that apply to every payer


def payer_rule_list(*, user, payer_id: int | None = None, kind: str = "", active: bool | None = None) -> QuerySet[PayerRule]:
    """The practice's payer rules, payer by payer (rules for every payer first), filtered."""
    qs = PayerRule.objects.filter(organization_id=user.organization_id).select_related("payer")
    if payer_id == EVERY_PAYER:
        qs = qs.filter(payer__isnull=True)
    elif payer_id:
        qs = qs.filter(payer_id=payer_id)
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("payer__name", "kind", "codes", "id")


def payer_rule_get(*, user, rule_id: int) -> PayerRule:
    rule = PayerRule.objects.filter(organization_id=user.organization_id, pk=rule_id).select_related("payer").first()
    if rule is None:
        raise Http404("No such payer rule.")
    return rule


def claim_by_number(*, user, claim_number: str) -> Claim | None:
    """The practice's claim with this number (CLM01), with what the scrubber reads, or None."""
    return (Claim.objects.filter(organization_id=user.organization_id, claim_number=(claim_number or "").strip())
            .select_related("patient", "payer", "coverage").prefetch_related("lines").first())

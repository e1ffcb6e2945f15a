"""Reads of card payouts: the list with its figures and exception counts, one payout with its lines and what they
matched, and our card payments and card refunds that no payout has carried after PAYOUT_MISSING_DAYS. Scoped to the user's
organization; a fixed number of queries whatever the number of rows."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ..choices import CardPayoutStatus, PaymentMethod, PaymentStatus, PayoutLineMatch, RefundMethod, RefundStatus
from ..models import CardPayout, CardPayoutLine, Payment, Refund
from ..services.payouts import payouts_missing_since

PAYOUT_MISSING_DAYS = 5


def payout_list(*, user, status: str = "", start: date | None = None, end: date | None = None) -> QuerySet[CardPayout]:
    """The organization's payouts, newest arrival first, filtered by status and arrival dates."""
    rows = CardPayout.objects.filter(organization_id=user.organization_id).select_related("accepted_by")
    if status in CardPayoutStatus.values:
        rows = rows.filter(status=status)
    if start:
        rows = rows.filter(arrival_date__gte=start)
    if end:
        rows = rows.filter(arrival_date__lte=end)
    return rows.order_by("-arrival_date", "-id")


def payout_get(*, user, public_id: str) -> CardPayout:
    """One payout of the organization (another organization's is a 404)."""
    return get_object_or_404(CardPayout.objects.select_related("entry", "accepted_by"),
                             organization_id=user.organization_id, public_id=public_id)


def payout_lines(*, payout: CardPayout) -> list[CardPayoutLine]:
    """The payout's lines, exceptions first, with the payment or refund each matched and its account."""
    lines = list(payout.lines.select_related("payment", "payment__account", "refund", "refund__patient"))
    return sorted(lines, key=lambda ln: (not ln.is_exception, ln.booked_on, ln.pk))


def card_payments_not_paid_out(*, user, days: int = PAYOUT_MISSING_DAYS, today: date | None = None) -> QuerySet[Payment]:
    """Our posted card payments that no payout has paid out `days` days after they were taken (from the first
    payout received on: before that the practice was not reconciling)."""
    since = payouts_missing_since(organization_id=user.organization_id)
    if since is None:
        return Payment.objects.none()
    cutoff = (today or timezone.localdate()) - timedelta(days=days)
    paid_out = CardPayoutLine.objects.filter(payment=OuterRef("pk"), match=PayoutLineMatch.MATCHED)
    return (Payment.objects.filter(organization_id=user.organization_id, method=PaymentMethod.CARD,
                                   status=PaymentStatus.POSTED, received_on__gte=since, received_on__lte=cutoff)
            .exclude(Exists(paid_out)).select_related("account").order_by("received_on", "id"))


def card_refunds_not_paid_out(*, user, days: int = PAYOUT_MISSING_DAYS, today: date | None = None) -> QuerySet[Refund]:
    """Our card refunds that no payout has taken back `days` days after they were given (from the first payout
    received on): money the processor has not yet drawn, or a refund it never made."""
    since = payouts_missing_since(organization_id=user.organization_id)
    if since is None:
        return Refund.objects.none()
    cutoff = (today or timezone.localdate()) - timedelta(days=days)
    taken_back = CardPayoutLine.objects.filter(refund=OuterRef("pk"), match=PayoutLineMatch.MATCHED)
    return (Refund.objects.filter(organization_id=user.organization_id, method=RefundMethod.CARD,
                                  status=RefundStatus.PAID, created_at__date__gte=since, created_at__date__lte=cutoff)
            .exclude(Exists(taken_back)).select_related("payment", "payment__account").order_by("created_at", "id"))

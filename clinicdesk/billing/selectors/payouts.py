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


def _not_carried(model, *, user, days: int, today: date | None, link: str, day_field: str, **match) -> QuerySet:
    """Rows of `model` (card payments or refunds) dated from the first payout received to `days` days ago that no
    payout line matched: before the first payout the practice was not reconciling."""
    since = payouts_missing_since(organization_id=user.organization_id)
    if since is None:
        return model.objects.none()
    cutoff = (today or timezone.localdate()) - timedelta(days=days)
    carried = CardPayoutLine.objects.filter(**{link: OuterRef("pk")}, match=PayoutLineMatch.MATCHED)
    return (model.objects.filter(organization_id=user.organization_id, **match,
                                 **{f"{day_field}__gte": since, f"{day_field}__lte": cutoff})
            .exclude(Exists(carried)))


def card_payments_not_paid_out(*, user, days: int = PAYOUT_MISSING_DAYS, today: date | None = None) -> QuerySet[Payment]:
    """Our posted card payments that no payout has paid out `days` days after they were taken."""
    return (_not_carried(Payment, user=user, days=days, today=today, link="payment", day_field="received_on",
                         method=PaymentMethod.CARD, status=PaymentStatus.POSTED)
            .select_related("account").order_by("received_on", "id"))


def card_refunds_not_paid_out(*, user, days: int = PAYOUT_MISSING_DAYS, today: date | None = None) -> QuerySet[Refund]:
    """Our card refunds that no payout has taken back `days` days after they were given: money the processor has
    not yet drawn, or a refund it never made."""
    return (_not_carried(Refund, user=user, days=days, today=today, link="refund", day_field="created_at__date",
                         method=RefundMethod.CARD, status=RefundStatus.PAID)
            .select_related("payment", "payment__account").order_by("created_at", "id"))

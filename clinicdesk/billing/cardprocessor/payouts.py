"""The local processor's balance and payouts, the way Stripe keeps them: every captured charge books a balance
transaction (amount, the processing fee, net) and every refund books a negative one (the fee is not given back);
once a settlement day is over, its transactions are paid out to the bank in one payout of their net, which books
its own negative transaction, and a `payout.paid` event is sent.

The fee is CARD_PROCESSOR_FEE_PERCENT of the charge (rounded half up to the cent) plus CARD_PROCESSOR_FEE_FIXED.
Settlement days are UTC days, as at Stripe. A day whose refunds outweigh its charges is carried into the next
day's payout rather than paid out negative.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ..cards.webhooks import PAYOUT_PAID
from .models import ProcessorBalanceTransaction, ProcessorPaymentIntent, ProcessorPayout, ProcessorRefund

ARRIVAL_DELAY_DAYS = 2


def fee_cents(amount: int) -> int:
    """The processing fee of a charge of `amount` cents: a percentage rounded half up, plus a fixed part."""
    percent = Decimal(str(getattr(settings, "CARD_PROCESSOR_FEE_PERCENT", "2.9")))
    fixed = Decimal(str(getattr(settings, "CARD_PROCESSOR_FEE_FIXED", "0.30")))
    part = (Decimal(amount) * percent / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return int(part + (fixed * 100).quantize(Decimal("1")))


def charge_booked(intent: ProcessorPaymentIntent) -> ProcessorBalanceTransaction:
    """Book a captured charge on the balance, with its fee."""
    from .store import new_id

    fee = fee_cents(intent.amount_received)
    return ProcessorBalanceTransaction.objects.create(
        txn_id=new_id("txn"), type="charge", amount=intent.amount_received, fee=fee, net=intent.amount_received - fee,
        source_id=intent.charge_id, payment_intent=intent, settlement_date=timezone.now().date())


def refund_booked(refund: ProcessorRefund) -> ProcessorBalanceTransaction:
    """Book a refund on the balance (negative; the fee of the charge is not given back)."""
    from .store import new_id

    return ProcessorBalanceTransaction.objects.create(
        txn_id=new_id("txn"), type="refund", amount=-refund.amount, fee=0, net=-refund.amount, source_id=refund.re_id,
        payment_intent=refund.payment_intent, refund=refund, settlement_date=timezone.now().date())


def payouts_make(*, before: date | None = None) -> list[ProcessorPayout]:
    """Pay out every finished settlement day (those before `before`, today by default): one payout per day of its
    transactions' net, each announced with `payout.paid`. Safe to run again: paid transactions are not paid twice."""
    from . import events
    from .store import new_id

    before = before or timezone.now().date()
    made = []
    with transaction.atomic():
        pending = list(ProcessorBalanceTransaction.objects.select_for_update()
                       .filter(payout__isnull=True, type__in=("charge", "refund"), settlement_date__lt=before)
                       .order_by("settlement_date", "id"))
        days = sorted({t.settlement_date for t in pending})
        carried: list[ProcessorBalanceTransaction] = []
        for day in days:
            group = carried + [t for t in pending if t.settlement_date == day]
            net = sum(t.net for t in group)
            if net <= 0 or ProcessorPayout.objects.filter(settlement_date=day).exists():
                carried = group
                continue
            payout = ProcessorPayout.objects.create(po_id=new_id("po"), amount=net, settlement_date=day,
                                                    arrival_date=day + timedelta(days=ARRIVAL_DELAY_DAYS))
            ProcessorBalanceTransaction.objects.filter(pk__in=[t.pk for t in group]).update(payout=payout)
            ProcessorBalanceTransaction.objects.create(
                txn_id=new_id("txn"), type="payout", amount=-net, fee=0, net=-net, source_id=payout.po_id,
                payout=payout, settlement_date=day)
            events.event_emit(PAYOUT_PAID, payout_object(payout))
            made.append(payout)
            carried = []
    return made


def payout_object(payout: ProcessorPayout) -> dict:
    return {
        "id": payout.po_id, "object": "payout", "amount": payout.amount, "currency": payout.currency,
        "arrival_date": _unix(payout.arrival_date), "created": int(payout.created_at.timestamp()),
        "status": payout.status, "automatic": True, "method": "standard", "type": "bank_account", "livemode": False,
        "description": "STRIPE PAYOUT", "metadata": {}, "balance_transaction": None,
        "settlement_date": payout.settlement_date.isoformat(),
    }


def balance_transaction_object(txn: ProcessorBalanceTransaction, *, expand_source: bool = False) -> dict:
    from .store import charge_object, refund_object

    source: object = txn.source_id
    if expand_source:
        if txn.type == "charge" and txn.payment_intent_id:
            source = charge_object(txn.payment_intent)
        elif txn.type == "refund" and txn.refund_id:
            source = refund_object(txn.refund)
    fee_details = [{"amount": txn.fee, "currency": "usd", "description": "Processing fee", "type": "stripe_fee"}] \
        if txn.fee else []
    return {
        "id": txn.txn_id, "object": "balance_transaction", "amount": txn.amount, "fee": txn.fee, "net": txn.net,
        "currency": "usd", "type": txn.type, "source": source, "created": int(txn.created_at.timestamp()),
        "available_on": _unix(txn.settlement_date + timedelta(days=ARRIVAL_DELAY_DAYS)), "fee_details": fee_details,
        "status": "available" if txn.payout_id else "pending", "reporting_category": txn.type,
        "payout": txn.payout.po_id if txn.payout_id else None,
    }


def _unix(day: date) -> int:
    """Midnight UTC of a day as a unix time (Stripe's arrival_date and available_on)."""
    from datetime import UTC, datetime, time

    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp())


def payout_totals(payout: ProcessorPayout) -> dict[str, int]:
    """Charges, refunds and fees of a payout, in cents (for the demo's and tests' checks)."""
    rows = payout.transactions.exclude(type="payout")
    return {"charges": rows.filter(type="charge").aggregate(s=Sum("amount"))["s"] or 0,
            "refunds": -(rows.filter(type="refund").aggregate(s=Sum("amount"))["s"] or 0),
            "fees": rows.aggregate(s=Sum("fee"))["s"] or 0}

"""Demo card payouts: three past days of card payments (one with a card refund) taken through the local processor,
paid out by it net of its fees and reconciled here; one day also holds a terminal sale the desk never recorded, so
its payout waits with an exception for the office manager. Runs only with the local processor; idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from .models import CardPayout, Payment

KEY_PREFIX = "demo-payouts:"
DAYS = {4: ["85.00", "40.00"], 3: ["120.00", "60.00", "35.00"], 2: ["95.00", "50.00"]}


@contextmanager
def _in_process_processor() -> Iterator[object]:
    """The adapter talking to the local processor inside this process (the web server need not run), with its
    webhooks delivered the same way."""
    from . import cards
    from .cardprocessor import events
    from .cardprocessor.inprocess import in_process_client, in_process_processor

    base = settings.PUBLIC_BASE_URL.rstrip("/")
    client = in_process_client(base)
    adapter = in_process_processor(client, base)
    before_factory, before_poster = cards.card_processor, events.poster
    cards.card_processor = lambda: adapter
    events.poster = lambda url, body, headers: client.post(url, content=body, headers=headers).status_code
    try:
        with override_settings(CARD_PROCESSOR_WEBHOOK_THREAD=False):
            yield adapter
    finally:
        cards.card_processor, events.poster = before_factory, before_poster
        client.close()


def seed_payouts(ctx, *, patients: int, seed: int = 0, stdout=None) -> int:
    """Card payments on three past days, their payouts, and one payout held by an exception; returns rows added."""
    from clinicdesk.patients.models import Patient

    from .cardprocessor.models import ProcessorBalanceTransaction
    from .cardprocessor.payouts import payouts_make
    from .demo_payments import _charge
    from .services.accounts import account_for_patient
    from .services.payments import payment_post, refund_post
    from .services.payouts import payout_import

    org = ctx.organization
    if not settings.CARD_LOCAL_PROCESSOR or CardPayout.objects.filter(organization=org).exists():
        return 0
    if Payment.objects.filter(organization=org, idempotency_key__startswith=KEY_PREFIX).exists():
        return 0
    everyone = list(Patient.objects.filter(organization=org, merged_into__isnull=True).order_by("id")[60:70])
    if len(everyone) < 3:
        return 0
    desk = ctx.users.get("maria")
    today = timezone.localdate()
    added = 0
    # One transaction: a demo that stops half-way leaves nothing behind to block the next run. Its webhooks go out
    # when it commits, still in this process.
    with _in_process_processor() as processor, transaction.atomic():
        card = processor.payment_method_create(number="4242424242424242", exp_month=12, exp_year=today.year + 3,
                                               cvc="123")
        booked: dict[str, int] = {}
        n = 0
        for days_ago, amounts in DAYS.items():
            day = today - timedelta(days=days_ago)
            for amount in amounts:
                patient = everyone[n % len(everyone)]
                _charge(org, patient, days_ago=days_ago + 20, description="Office visit, established patient",
                        amount=amount)
                payment = payment_post(account=account_for_patient(patient=patient), amount=amount, method="card",
                                       card_payment_method_id=card.id, actor=desk, received_on=day,
                                       idempotency_key=f"{KEY_PREFIX}{n}", memo="Card at the desk")
                booked[payment.processor_id] = days_ago
                added += 3
                n += 1
        # A copay of 30.00 taken where 20.00 was due (a copay waits as a credit), the 10.00 given back to the card.
        patient = everyone[-1]
        over = payment_post(account=account_for_patient(patient=patient), amount="30.00", method="card",
                            card_payment_method_id=card.id, actor=desk, received_on=today - timedelta(days=3),
                            idempotency_key=f"{KEY_PREFIX}over", is_copay=True, memo="Copay at check-in")
        refund_post(patient=patient, amount="10.00", method="card", reason="The copay is 20.00", actor=desk,
                    idempotency_key=f"{KEY_PREFIX}refund", payment=over)
        booked[over.processor_id] = 3
        added += 4
        # A card sale run on the processor's terminal that was never posted here: the payout's exception.
        stray = processor.charge(amount=Decimal("45.00"), payment_method_id=card.id,
                                 idempotency_key=f"{KEY_PREFIX}terminal-sale", description="Terminal sale")
        booked[stray.id] = 2
        # The demo's days are in the past: file each movement under its day, as the processor would have.
        for intent_id, days_ago in booked.items():
            ProcessorBalanceTransaction.objects.filter(payment_intent__pi_id=intent_id, payout__isnull=True).update(
                settlement_date=today - timedelta(days=days_ago))
        for payout in payouts_make(before=today):
            payout_import(organization=org, payout_id=payout.po_id, processor=processor)
            added += 1
    if stdout is not None:
        stdout.write(f"Card payouts: {CardPayout.objects.filter(organization=org).count()} imported, one waiting "
                     "with an exception")
    return added

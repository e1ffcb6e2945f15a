"""Card payout reconciliation: the processor's payouts are imported (on its `payout.paid` webhook, by a daily sync,
or from the payouts page), each balance transaction is matched to our card payment (by payment intent) or card
refund (by refund id), and a payout whose every line matches posts one balanced entry:

    Dr operating bank (net)  +  Dr card processing fees (fees)  /  Cr card clearing (charges less refunds)

so card clearing, debited by each card payment and credited by each card refund, comes back to zero for the days
a payout reconciles. A line that does not match (a charge we do not know, an amount that differs, a payment of ours
that is not posted, one already paid out, anything but a charge or refund) is an exception with its reason, and
the payout waits: matched again once the books are put right, or accepted by a manager, which posts the
processor's figures: card clearing gives up only what our own payments and refunds put in it, and what the
processor paid out or took back beyond that goes to the card payout differences account, named on the payout,
to be cleared by a manual entry once explained. Card clearing therefore never carries another payout's error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Organization
from clinicdesk.core.money import format_money
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.services import LineSpec, entry_post

from ..choices import CardPayoutStatus, PaymentMethod, PaymentStatus, PayoutLineKind, PayoutLineMatch, RefundMethod
from ..models import CardPayout, CardPayoutLine, Payment, Refund
from .dayclose import _ensure_may, _same_org

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")
KINDS = {"charge": PayoutLineKind.CHARGE, "payment": PayoutLineKind.CHARGE, "refund": PayoutLineKind.REFUND}


def payout_import(*, organization: Organization, payout_id: str, actor=None, processor=None) -> CardPayout:
    """Fetch one payout and its balance transactions from the processor and reconcile it (once: a payout already
    imported is returned as it is)."""
    from ..cards import CardFailure, card_processor

    existing = CardPayout.objects.filter(organization=organization, processor_payout_id=payout_id).first()
    if existing is not None:
        return existing
    processor = processor or card_processor()
    try:
        payout = processor.payout_retrieve(payout_id=payout_id)
        lines = processor.payout_lines(payout_id=payout_id)
    except CardFailure as failure:
        raise ValidationError({"payout": f"The card processor did not give payout {payout_id}: {failure.message}"}) from None
    return payout_record(organization=organization, payout=payout, lines=lines, actor=actor)


def payout_record(*, organization: Organization, payout, lines: Sequence, actor=None) -> CardPayout:
    """Store a payout with its lines matched, and post it when nothing is an exception. `payout` and `lines` are
    the adapter's CardPayout and CardBalanceLine. The lines must add up to the payout (else nothing is stored)."""
    money = [line for line in lines if line.type != "payout"]
    total = sum((line.net for line in money), ZERO)
    if total != payout.amount:
        raise ValidationError({"payout": f"The lines of payout {payout.id} add up to {format_money(total)}, the payout "
                                         f"is {format_money(payout.amount)}; nothing was imported."})
    try:
        with transaction.atomic():
            record = CardPayout.objects.create(
                organization=organization, processor_payout_id=payout.id, arrival_date=payout.arrival_date,
                settlement_date=payout.settlement_date,
                gross=sum((ln.amount for ln in money if KINDS.get(ln.type) == PayoutLineKind.CHARGE), ZERO),
                refunds=-sum((ln.amount for ln in money if KINDS.get(ln.type) == PayoutLineKind.REFUND), ZERO),
                fees=sum((ln.fee for ln in money), ZERO), net=payout.amount,
            )
            CardPayoutLine.objects.bulk_create(
                CardPayoutLine(payout=record, processor_txn_id=ln.id, kind=KINDS.get(ln.type, PayoutLineKind.OTHER),
                               source_id=ln.source_id[:40], payment_intent_id=ln.payment_intent_id[:40],
                               amount=ln.amount, fee=ln.fee, net=ln.net, booked_on=timezone.localdate(ln.created),
                               match=PayoutLineMatch.UNKNOWN)
                for ln in money)
            audit_event(action="card_payout.imported", actor=actor, target=record, organization_id=organization.pk,
                        summary=f"Payout {payout.id}: net {format_money(record.net)}, {len(money)} line(s)")
            _match_and_post(record, actor=actor)
            return record
    except IntegrityError:
        # Imported at the same moment by the webhook and the sync: the first one stands.
        found = CardPayout.objects.filter(organization=organization, processor_payout_id=payout.id).first()
        if found is None:
            raise
        return found


def _match_and_post(payout: CardPayout, *, actor) -> CardPayout:
    """Match every line of the payout; post it when none is an exception."""
    lines = list(payout.lines.all())
    intents = {ln.payment_intent_id for ln in lines if ln.kind == PayoutLineKind.CHARGE and ln.payment_intent_id}
    refund_ids = {ln.source_id for ln in lines if ln.kind == PayoutLineKind.REFUND}
    payments = {p.processor_id: p for p in Payment.objects.filter(
        organization_id=payout.organization_id, method=PaymentMethod.CARD, processor_id__in=intents)}
    refunds = {r.processor_id: r for r in Refund.objects.filter(
        organization_id=payout.organization_id, method=RefundMethod.CARD, processor_id__in=refund_ids)}
    elsewhere = CardPayoutLine.objects.filter(match=PayoutLineMatch.MATCHED).exclude(payout=payout)
    paid_out = {row[0]: row[1] for row in elsewhere.filter(payment__in=list(payments.values()))
                .values_list("payment_id", "payout__processor_payout_id")}
    refunded_out = {row[0]: row[1] for row in elsewhere.filter(refund__in=list(refunds.values()))
                    .values_list("refund_id", "payout__processor_payout_id")}
    for line in lines:
        line.payment, line.refund = None, None
        line.match, line.reason = _line_match(line, payments, refunds, paid_out, refunded_out)
    CardPayoutLine.objects.bulk_update(lines, ["payment", "refund", "match", "reason"])
    payout.exception_count = sum(ln.is_exception for ln in lines)
    payout.save(update_fields=["exception_count", "updated_at"])
    if payout.exception_count == 0 and payout.entry_id is None:
        _post(payout, actor=actor, status=CardPayoutStatus.POSTED)
    return payout


def _line_match(line: CardPayoutLine, payments, refunds, paid_out, refunded_out) -> tuple[str, str]:
    money = format_money(abs(line.amount))
    if line.kind == PayoutLineKind.CHARGE:
        payment = payments.get(line.payment_intent_id)
        if payment is None:
            return PayoutLineMatch.UNKNOWN, (f"Charge {line.source_id or line.processor_txn_id} of {money} is not one "
                                             "of our card payments.")
        line.payment = payment
        if payment.status != PaymentStatus.POSTED:
            return PayoutLineMatch.NOT_POSTED, (f"Our payment {payment.public_id} is "
                                                f"{payment.get_status_display().lower()}, but the processor paid it out.")
        if payment.amount != line.amount:
            return PayoutLineMatch.AMOUNT_DIFFERS, (f"The processor paid out {money}; our payment {payment.public_id} "
                                                    f"is {format_money(payment.amount)}.")
        if payment.pk in paid_out:
            return PayoutLineMatch.DUPLICATE, f"Our payment {payment.public_id} was already in payout {paid_out[payment.pk]}."
        return PayoutLineMatch.MATCHED, ""
    if line.kind == PayoutLineKind.REFUND:
        refund = refunds.get(line.source_id)
        if refund is None:
            return PayoutLineMatch.UNKNOWN, f"Refund {line.source_id} of {money} is not one of our card refunds."
        line.refund = refund
        if refund.amount != -line.amount:
            return PayoutLineMatch.AMOUNT_DIFFERS, (f"The processor took back {money}; our refund is "
                                                    f"{format_money(refund.amount)}.")
        if refund.pk in refunded_out:
            return PayoutLineMatch.DUPLICATE, f"Our refund was already in payout {refunded_out[refund.pk]}."
        return PayoutLineMatch.MATCHED, ""
    return PayoutLineMatch.OTHER, f"A {line.get_kind_display().lower()} of {money} the books hold nothing for."


def _ours(line: CardPayoutLine) -> Decimal:
    """What our books hold in card clearing for one line: the matched amount, our own figure where the amounts
    differ, and nothing for a line we never booked (unknown, not posted, already paid out, other)."""
    if line.match == PayoutLineMatch.MATCHED:
        return line.amount
    if line.match == PayoutLineMatch.AMOUNT_DIFFERS:
        if line.kind == PayoutLineKind.CHARGE and line.payment is not None:
            return line.payment.amount
        if line.kind == PayoutLineKind.REFUND and line.refund is not None:
            return -line.refund.amount
    return ZERO


def _post(payout: CardPayout, *, actor, status: str) -> CardPayout:
    """Post the payout's one entry: the bank gets the net, fees are an expense, card clearing gives up what our
    payments and refunds put in it, and on an accepted payout the rest goes to card payout differences."""
    lines = list(payout.lines.select_related("payment", "refund"))
    clearing = sum((_ours(ln) for ln in lines), ZERO)
    payout.difference = payout.net + payout.fees - clearing
    wanted = [(AccountRole.OPERATING_BANK, payout.net, "Payout"), (AccountRole.CARD_FEES, payout.fees, "Processing fees"),
              (AccountRole.CARD_CLEARING, -clearing, "Card payments paid out"),
              (AccountRole.CARD_DIFFERENCES, -payout.difference, "Accepted: not explained by our card payments and refunds")]
    entry_lines = [LineSpec(account=role, amount=amount, memo=memo) for role, amount, memo in wanted if amount != 0]
    if entry_lines:
        payout.entry = entry_post(
            organization=payout.organization, entry_date=min(payout.arrival_date, timezone.localdate()),
            kind=EntryKind.DEPOSIT, lines=entry_lines, actor=actor, reference=f"card-payout:{payout.pk}",
            memo=f"Card payout {payout.processor_payout_id}: {format_money(payout.gross)} charges, "
                 f"{format_money(payout.refunds)} refunds, {format_money(payout.fees)} fees"[:300],
        )
    payout.status = status
    payout.save(update_fields=["entry", "status", "difference", "updated_at"])
    summary = f"Payout {payout.processor_payout_id} posted: bank {format_money(payout.net)}, fees {format_money(payout.fees)}"
    if payout.difference:
        summary += f", {format_money(payout.difference)} to card payout differences"
    audit_event(action="card_payout.posted", actor=actor, target=payout, organization_id=payout.organization_id,
                summary=summary)
    return payout


@transaction.atomic
def payout_rematch(*, payout: CardPayout, actor) -> CardPayout:
    """Match a waiting payout's lines again (after the books were put right); posts it when all match now."""
    _ensure_may(actor, Perm.PAYMENTS_ADJUST)
    payout = CardPayout.objects.select_for_update().get(pk=payout.pk)
    _same_org(actor, payout.organization_id)
    if payout.entry_id is not None:
        raise ValidationError({"status": "The payout is posted already."})
    _match_and_post(payout, actor=actor)
    audit_event(action="card_payout.rematched", actor=actor, target=payout, organization_id=payout.organization_id,
                summary=f"{payout.exception_count} exception(s) left")
    return payout


@transaction.atomic
def payout_accept(*, payout: CardPayout, note: str, actor) -> CardPayout:
    """A manager accepts a payout's exceptions as the processor reported them and posts it."""
    _ensure_may(actor, Perm.PAYMENTS_ADJUST)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the exceptions are accepted."})
    payout = CardPayout.objects.select_for_update().get(pk=payout.pk)
    _same_org(actor, payout.organization_id)
    if payout.entry_id is not None:
        raise ValidationError({"status": "The payout is posted already."})
    payout.accepted_by = actor if getattr(actor, "is_authenticated", False) else None
    payout.accepted_at = timezone.now()
    payout.accept_note = note[:300]
    payout.save(update_fields=["accepted_by", "accepted_at", "accept_note", "updated_at"])
    audit_event(action="card_payout.accepted", actor=actor, target=payout, organization_id=payout.organization_id,
                summary=f"{payout.exception_count} exception(s) accepted: {note}"[:300])
    return _post(payout, actor=actor, status=CardPayoutStatus.ACCEPTED)


# --- arriving payouts: the webhook, the daily sync and the page's button -------------------------------------


def payout_paid_received(event) -> None:
    """The processor's `payout.paid` webhook: import the payout after the event is recorded (a task, so the
    webhook is answered at once and the processor is not called back inside its own request)."""
    payout_id = event.object.get("id")
    if not isinstance(payout_id, str) or not payout_id:
        return
    from ..tasks import card_payout_receive

    transaction.on_commit(lambda: card_payout_receive.enqueue(payout_id=payout_id))


def payout_receive(*, payout_id: str, processor=None) -> CardPayout | None:
    """Import a payout for the practice whose card payments it pays out (the only practice, when it pays out none
    of ours). None when it cannot be told whose it is."""
    from ..cards import card_processor

    processor = processor or card_processor()
    found = CardPayout.objects.filter(processor_payout_id=payout_id).first()
    if found is not None:
        return found
    lines = processor.payout_lines(payout_id=payout_id)
    organization = _payout_organization(lines)
    if organization is None:
        logger.warning("Card payout %s: no practice's card payments in it; import it from the payouts page", payout_id)
        return None
    return payout_import(organization=organization, payout_id=payout_id, processor=processor)


def _payout_organization(lines) -> Organization | None:
    intents = {ln.payment_intent_id for ln in lines if ln.payment_intent_id}
    owners = set(Payment.objects.filter(processor_id__in=intents, method=PaymentMethod.CARD)
                 .values_list("organization_id", flat=True).distinct()) if intents else set()
    if len(owners) == 1:
        return Organization.objects.get(pk=owners.pop())
    if not owners and Organization.objects.count() == 1:
        return Organization.objects.get()
    return None


def card_payouts_sync(*, organization: Organization, actor=None, processor=None, limit: int = 100) -> dict[str, int]:
    """Import the processor's recent payouts this practice has not received yet (those paying out its card
    payments, or any when it is the only practice)."""
    from ..cards import CardFailure, card_processor

    _ensure_may(actor, Perm.PAYMENTS_ADJUST)
    processor = processor or card_processor()
    try:
        payouts = processor.payouts_list(limit=limit)
    except CardFailure as failure:
        raise ValidationError({"payout": f"The card processor did not list its payouts: {failure.message}"}) from None
    known = set(CardPayout.objects.filter(processor_payout_id__in=[p.id for p in payouts])
                .values_list("processor_payout_id", flat=True))
    counts = {"imported": 0, "posted": 0, "exceptions": 0}
    only = Organization.objects.count() == 1
    for payout in payouts:
        if payout.id in known:
            continue
        lines = processor.payout_lines(payout_id=payout.id)
        owner = _payout_organization(lines)
        if owner is None and not only:
            continue
        if owner is not None and owner.pk != organization.pk:
            continue
        record = payout_record(organization=organization, payout=payout, lines=lines, actor=actor)
        counts["imported"] += 1
        counts["posted" if record.entry_id else "exceptions"] += 1
    return counts


def card_payouts_sync_all() -> dict[str, int]:
    """The daily sync for every practice with card payments (a payout the webhook missed is picked up here)."""
    from ..cards import CardFailure

    totals = {"imported": 0, "posted": 0, "exceptions": 0}
    org_ids = Payment.objects.filter(method=PaymentMethod.CARD).values_list("organization_id", flat=True).distinct()
    for organization in Organization.objects.filter(pk__in=org_ids):
        try:
            counts = card_payouts_sync(organization=organization)
        except (ValidationError, CardFailure):
            logger.warning("Card payouts of %s could not be synced", organization.pk, exc_info=True)
            continue
        for key, value in counts.items():
            totals[key] += value
    return totals


def payouts_missing_since(*, organization_id: int) -> date | None:
    """Reconciliation starts with the first payout received: card payments before it are not looked for."""
    first = CardPayout.objects.filter(organization_id=organization_id).order_by("settlement_date", "arrival_date").first()
    return (first.settlement_date or first.arrival_date) if first else None

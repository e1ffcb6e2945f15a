"""Money in and out of patient accounts. Every service here posts one balanced journal entry and records the act.

Payments: cash goes to the drawer (cash on hand), checks to undeposited funds, cards to card clearing; the money
settles the account's open charges oldest first, or the ones the desk chose. More than the balance is refused
unless the desk asks for a credit on the account (`allow_credit`); a copay taken before the visit is coded always
waits as a credit and is applied when the charges post. The same `idempotency_key` replays the first answer; the
same key with a different request is refused with `IdempotencyConflict` (the API answers 409). Payments on one
account are serialised by a row lock on the account, so two desks cannot settle the same charge twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.money import format_money, round_money
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import OpenItem
from clinicdesk.ledger.selectors import item_balances, open_items_for, patient_credit
from clinicdesk.ledger.services import LineSpec, entry_post, entry_reverse, open_item_create

from ..choices import AdjustmentKind, PaymentMethod, PaymentStatus, RefundMethod, RefundStatus
from ..models import Adjustment, BalanceTransfer, PatientAccount, Payment, Refund
from .accounts import account_patient_ids

MONEY_IN = {PaymentMethod.CASH: AccountRole.CASH, PaymentMethod.CHECK: AccountRole.UNDEPOSITED_FUNDS,
            PaymentMethod.CARD: AccountRole.CARD_CLEARING}
ADJUSTMENT_ACCOUNT = {
    AdjustmentKind.COURTESY: AccountRole.ADMINISTRATIVE_ADJUSTMENT,
    AdjustmentKind.SMALL_BALANCE: AccountRole.ADMINISTRATIVE_ADJUSTMENT,
    AdjustmentKind.CORRECTION: AccountRole.ADMINISTRATIVE_ADJUSTMENT,
    AdjustmentKind.BAD_DEBT: AccountRole.BAD_DEBT,
    AdjustmentKind.CONTRACTUAL: AccountRole.CONTRACTUAL_ADJUSTMENT,
}
MAX_PAYMENT = Decimal("999999.99")


class IdempotencyConflict(ValidationError):
    """The idempotency key was used before for a different request."""


def money_check(value, *, field: str, allow_zero: bool = False) -> Decimal:
    """An amount as the desk or the API gives it: a Decimal or a string like "25.00"; never a float, never negative,
    never a fraction of a cent. The message names the field."""
    if isinstance(value, (bool, float)):
        raise ValidationError({field: "Give the amount as a string such as \"25.00\", not a floating-point number."})
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("$", "")
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            raise ValidationError({field: f"'{value}' is not an amount; write it like 25.00."})
        try:
            value = Decimal(text)
        except Exception:
            raise ValidationError({field: f"'{value}' is not an amount."}) from None
    if isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError({field: "Not an amount."})
    if value != round_money(value):
        raise ValidationError({field: f"{value} has fractions of a cent."})
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationError({field: "The amount must be more than zero."})
    if value > MAX_PAYMENT:
        raise ValidationError({field: f"The amount is more than {format_money(MAX_PAYMENT)}."})
    return round_money(value)


@dataclass(frozen=True)
class Allocation:
    """Part of a payment the desk chose to put on one charge."""

    item: OpenItem
    amount: Decimal


def _fingerprint(**fields) -> str:
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _account_items(account: PatientAccount) -> list[tuple[OpenItem, Decimal]]:
    """The account's patient-responsibility charges that are still open, oldest service first."""
    return [(item, bal) for item, bal in open_items_for(
        organization_id=account.organization_id, patient_ids=account_patient_ids(account), party_kind=PartyKind.PATIENT)
        if bal > 0]


def _plan(account: PatientAccount, amount: Decimal, chosen: Sequence[Allocation] | None) -> list[tuple[OpenItem, Decimal]]:
    open_items = _account_items(account)
    if chosen is None:
        plan, left = [], amount
        for item, balance in open_items:
            if left <= 0:
                break
            part = min(balance, left)
            plan.append((item, part))
            left -= part
        return plan
    balances = {item.pk: bal for item, bal in open_items}
    plan, total = [], Decimal("0")
    for n, allocation in enumerate(chosen, start=1):
        part = money_check(allocation.amount, field="allocations")
        if allocation.item.pk not in balances:
            raise ValidationError({"allocations": f"Line {n}: that charge is not an open charge on this account."})
        if part > balances[allocation.item.pk]:
            raise ValidationError({"allocations": f"Line {n}: {format_money(part)} is more than the charge's balance "
                                                  f"of {format_money(balances[allocation.item.pk])}."})
        total += part
        plan.append((allocation.item, part))
    if total > amount:
        raise ValidationError({"allocations": f"The lines add up to {format_money(total)}, more than the payment of "
                                              f"{format_money(amount)}."})
    return plan


def drawer_location_message(method: str) -> str:
    return (f"Choose where the {PaymentMethod(method).label.lower()} was taken: without a location it is in no drawer "
            "and no day close.")


def drawer_location(*, organization_id: int, method: str, location, mailed: bool = False, where: str = ""):
    """The location whose drawer and day close hold this payment. Cash (and a check taken at the desk) must name
    one when the practice has several offices; with one, it is that one. Cards and mailed checks need none."""
    if location is not None:
        if location.organization_id != organization_id:
            raise ValidationError({"location": where + "That location belongs to another practice."})
        return location
    if method == PaymentMethod.CARD or (mailed and method == PaymentMethod.CHECK):
        return None
    from clinicdesk.core.models import Location

    active = list(Location.objects.filter(organization_id=organization_id, is_active=True).order_by("pk")[:2])
    if len(active) > 1:
        raise ValidationError({"location": where + drawer_location_message(method)})
    return active[0] if active else None


def payment_post(
    *,
    account: PatientAccount,
    amount,
    method: str,
    idempotency_key: str,
    actor,
    received_on: date | None = None,
    patient=None,
    allocations: Sequence[Allocation] | None = None,
    allow_credit: bool = False,
    check_number: str = "",
    card_payment_method_id: str = "",
    is_copay: bool = False,
    appointment=None,
    memo: str = "",
    location=None,
) -> Payment:
    """Take a payment on an account and post it. See the module docstring for the rules. A declined card is
    recorded (status declined, with the processor's reason) and posts nothing."""
    amount = money_check(amount, field="amount")
    if method not in PaymentMethod.values:
        raise ValidationError({"method": f"Unknown payment method '{method}'; use cash, check or card."})
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise ValidationError({"idempotency_key": "Every payment needs an idempotency key of 1 to 100 characters."})
    if method == PaymentMethod.CHECK and not check_number.strip():
        raise ValidationError({"check_number": "Enter the check number."})
    if method == PaymentMethod.CARD and not card_payment_method_id:
        raise ValidationError({"card": "Enter the card."})
    if patient is not None and patient.pk not in account_patient_ids(account):
        raise ValidationError({"patient": "That patient is not on this account."})
    location = drawer_location(organization_id=account.organization_id, method=method, location=location)
    # The fingerprint names the date only when the caller gave one: a retry after midnight of a post that let the
    # date default to "today" is the same request, not a conflicting one.
    given_date = received_on.isoformat() if received_on is not None else None
    received_on = received_on or timezone.localdate()
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": "A payment cannot be dated in the future."})
    fingerprint = _fingerprint(
        account=account.pk, amount=str(amount), method=method, received_on=given_date,
        patient=getattr(patient, "pk", None), allow_credit=allow_credit, check=check_number.strip(),
        card=card_payment_method_id, copay=is_copay, memo=memo.strip(),
        allocations=[(a.item.pk, str(a.amount)) for a in allocations] if allocations is not None else None,
    )
    try:
        with transaction.atomic():
            return _payment_post_locked(
                account=account, amount=amount, method=method, key=key, fingerprint=fingerprint, actor=actor,
                received_on=received_on, patient=patient, allocations=allocations, allow_credit=allow_credit,
                check_number=check_number.strip(), card_payment_method_id=card_payment_method_id, is_copay=is_copay,
                appointment=appointment, memo=memo.strip(), location=location,
            )
    except IntegrityError:
        # A concurrent post with the same key committed first: answer as it was answered.
        existing = Payment.objects.filter(organization_id=account.organization_id, idempotency_key=key).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint)


def _replay(existing: Payment, fingerprint: str) -> Payment:
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict({"idempotency_key": "This idempotency key was already used for a different payment."})
    existing.replayed = True
    return existing


def _payment_post_locked(*, account, amount, method, key, fingerprint, actor, received_on, patient, allocations,
                         allow_credit, check_number, card_payment_method_id, is_copay, appointment, memo,
                         location) -> Payment:
    account = PatientAccount.objects.select_for_update().get(pk=account.pk)
    existing = Payment.objects.filter(organization_id=account.organization_id, idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    # Day close: cash and checks of a closed day are already counted and deposited.
    if location is not None and method != PaymentMethod.CARD:
        from .dayclose import day_is_closed

        if day_is_closed(location_id=location.pk, on=received_on):
            raise ValidationError({"received_on": f"The day of {received_on:%m/%d/%Y} is closed at this location; "
                                                  "date the payment today or have an office manager reopen that day."})
    plan = _plan(account, amount, allocations) if not is_copay else []
    applied = sum((part for _, part in plan), Decimal("0"))
    leftover = amount - applied
    if leftover > 0 and not (allow_credit or is_copay):
        owed = sum((bal for _, bal in _account_items(account)), Decimal("0")) if allocations is None else applied
        raise ValidationError({"amount": f"The payment of {format_money(amount)} is {format_money(leftover)} more than "
                                         f"{'the balance' if allocations is None else 'the chosen charges'} of "
                                         f"{format_money(owed)}. Record the difference as a credit on the account, "
                                         f"or change the amount."})
    credit_patient = patient or account.guarantor_patient or (plan[0][0].patient if plan else None)
    if leftover > 0 and credit_patient is None:
        first_member = account.members.select_related("patient").first()
        credit_patient = first_member.patient if first_member else None
    if leftover > 0 and credit_patient is None:
        # A credit line without a patient would count on nobody's balance: the money would vanish from the account.
        raise ValidationError({"account": "The account has no patient to hold the credit; add a member first."})
    taker = actor if getattr(actor, "is_authenticated", False) else None
    payment = Payment(
        organization_id=account.organization_id, account=account, patient=patient, method=method, amount=amount,
        received_on=received_on, check_number=check_number, is_copay=is_copay, appointment=appointment, memo=memo[:200],
        location=location, taken_by=taker, idempotency_key=key, request_fingerprint=fingerprint,
    )
    if method == PaymentMethod.CARD:
        from ..cards import CardDeclined, PermanentFailure, TemporaryFailure, card_processor

        try:
            charged = card_processor().charge(
                amount=amount, payment_method_id=card_payment_method_id, idempotency_key=f"payment:{key}",
                description=f"Account {account.number}", metadata={"account": account.number},
            )
        except CardDeclined as declined:
            payment.status = PaymentStatus.DECLINED
            payment.decline_reason = str(declined)[:200]
            payment.decline_code = (getattr(declined, "decline_code", "") or getattr(declined, "code", ""))[:60]
            payment.save()
            audit_event(action="payment.declined", actor=actor, target=payment, patient=credit_patient,
                        summary=f"Card declined: {payment.decline_reason}")
            return payment
        except (TemporaryFailure, PermanentFailure) as failure:
            raise ValidationError({"card": f"The card processor did not answer: {failure}. Nothing was charged "
                                           "or posted; try again."}) from failure
        payment.processor_id = charged.id
        payment.payment_method_id = card_payment_method_id[:80]
        payment.card_brand = charged.brand[:20]
        payment.card_last4 = charged.last4[:4]
    payment.full_clean(exclude=["entry", "void_entry", "appointment", "location", "taken_by", "patient"])
    payment.save()
    lines = [LineSpec(account=MONEY_IN[method], amount=amount, patient=credit_patient if not plan else plan[0][0].patient_id)]
    lines += [LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=-part, item=item) for item, part in plan]
    if leftover > 0:
        lines.append(LineSpec(account=AccountRole.PATIENT_CREDIT, amount=-leftover, patient=credit_patient,
                              memo="Unapplied: credit on the account"))
    payment.entry = entry_post(
        organization=account.organization, entry_date=received_on, kind=EntryKind.PAYMENT, lines=lines,
        memo=f"{payment.get_method_display()} payment on account {account.number}", reference=f"payment:{payment.pk}",
        actor=actor,
    )
    payment.save(update_fields=["entry", "updated_at"])
    summary = f"{payment.get_method_display()} {format_money(amount)}"
    if leftover > 0:
        summary += f", {format_money(leftover)} held as credit"
    audit_event(action="payment.posted", actor=actor, target=payment, patient=patient or credit_patient, summary=summary)
    return payment


@transaction.atomic
def payment_void(*, payment: Payment, reason: str, actor) -> Payment:
    """Undo a cash or check payment posted in error (a reversal of its entry). Card payments are refunded instead."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the payment is voided."})
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.POSTED:
        raise ValidationError({"status": f"A {payment.get_status_display().lower()} payment cannot be voided."})
    if payment.method == PaymentMethod.CARD:
        raise ValidationError({"method": "A card payment is refunded to the card, not voided."})
    PatientAccount.objects.select_for_update().filter(pk=payment.account_id).first()
    # Voiding takes back the credit the payment left; if that credit has since been applied or refunded, the
    # void would leave the patient owing a negative credit, so those must be undone first.
    for line in payment.entry.lines.filter(account__role=AccountRole.PATIENT_CREDIT).select_related("patient"):
        if patient_credit(patient=line.patient) < -line.amount:
            raise ValidationError({"status": f"{format_money(-line.amount)} of this payment was kept as credit and "
                                             "part of it has since been applied or refunded; reverse that first."})
    # Day close: a closed day's drawer and deposit are final until an office manager reopens the day.
    from .dayclose import day_is_closed

    if payment.location_id and day_is_closed(location_id=payment.location_id, on=payment.received_on):
        raise ValidationError({"received_on": f"The day of {payment.received_on:%m/%d/%Y} is closed at this location; "
                                              "an office manager reopens it before a payment of that day is voided."})
    payment.void_entry = entry_reverse(entry=payment.entry, memo=f"Void: {reason.strip()}"[:300], actor=actor)
    payment.status = PaymentStatus.VOIDED
    payment.voided_reason = reason.strip()[:200]
    payment.save(update_fields=["void_entry", "status", "voided_reason", "updated_at"])
    audit_event(action="payment.voided", actor=actor, target=payment, patient=payment.patient, summary=reason[:200])
    return payment


@transaction.atomic
def adjustment_post(*, item: OpenItem, amount, kind: str, reason: str, actor, entry_date: date | None = None) -> Adjustment:
    """Write off part of one charge's balance for a reason (never more than it owes)."""
    amount = money_check(amount, field="amount")
    if kind not in AdjustmentKind.values:
        raise ValidationError({"kind": f"Unknown adjustment kind '{kind}'."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why."})
    OpenItem.objects.select_for_update().filter(pk=item.pk).first()
    balance = item_balances(item_ids=[item.pk])[item.pk]
    if amount > balance:
        raise ValidationError({"amount": f"{format_money(amount)} is more than the charge's balance of {format_money(balance)}."})
    entry = entry_post(
        organization=item.organization, entry_date=entry_date or timezone.localdate(), kind=EntryKind.ADJUSTMENT,
        memo=f"{AdjustmentKind(kind).label}: {reason.strip()}"[:300], actor=actor, lines=[
            LineSpec(account=ADJUSTMENT_ACCOUNT[kind], amount=amount, patient=item.patient_id),
            LineSpec(account=item.account, amount=-amount, item=item),
        ])
    adjustment = Adjustment.objects.create(
        organization_id=item.organization_id, patient_id=item.patient_id, item=item, kind=kind, amount=amount,
        reason=reason.strip()[:200], entry=entry, created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_event(action="adjustment.posted", actor=actor, target=adjustment, patient=item.patient,
                summary=f"{AdjustmentKind(kind).label} {format_money(amount)}: {reason.strip()[:120]}")
    return adjustment


@transaction.atomic
def credit_apply(*, patient, actor, reason: str = "Credit applied", amount=None,
                 only_items: Sequence[OpenItem] | None = None) -> BalanceTransfer | None:
    """Apply a patient's credit balance to open charges on their account, oldest first (or to `only_items`)."""
    from .accounts import account_for_patient

    account = PatientAccount.objects.select_for_update().get(pk=account_for_patient(patient=patient, actor=actor).pk)
    available = patient_credit(patient=patient)
    wanted = available if amount is None else money_check(amount, field="amount")
    if wanted > available:
        raise ValidationError({"amount": f"{format_money(wanted)} is more than the credit of {format_money(available)}."})
    items = _account_items(account)
    if only_items is not None:
        allowed = {i.pk for i in only_items}
        items = [(i, b) for i, b in items if i.pk in allowed]
    plan, left = [], wanted
    for item, balance in items:
        if left <= 0:
            break
        part = min(balance, left)
        plan.append((item, part))
        left -= part
    applied = wanted - left
    if applied <= 0:
        return None
    entry = entry_post(
        organization=account.organization, entry_date=timezone.localdate(), kind=EntryKind.TRANSFER, memo=reason[:300],
        actor=actor, lines=[LineSpec(account=AccountRole.PATIENT_CREDIT, amount=applied, patient=patient)]
        + [LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=-part, item=item) for item, part in plan],
    )
    transfer = BalanceTransfer.objects.create(
        organization_id=patient.organization_id, patient=patient, amount=applied, reason=reason[:200], entry=entry,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_event(action="credit.applied", actor=actor, target=transfer, patient=patient,
                summary=f"{format_money(applied)} of credit applied to {len(plan)} charge(s)")
    return transfer


@transaction.atomic
def responsibility_transfer(*, item: OpenItem, amount, to_party: str, actor, reason: str, party_label: str = "") -> BalanceTransfer:
    """Move part of a charge between insurance and the patient (the insurer paid its share; the rest is the
    patient's), as a new open item of the other party for the same service."""
    amount = money_check(amount, field="amount")
    if to_party not in PartyKind.values or to_party == item.party_kind:
        raise ValidationError({"to_party": "Choose the other party."})
    balance = item_balances(item_ids=[item.pk])[item.pk]
    if amount > balance:
        raise ValidationError({"amount": f"{format_money(amount)} is more than the charge's balance of {format_money(balance)}."})
    target = open_item_create(organization=item.organization, patient=item.patient, service_date=item.service_date,
                              description=item.description, party_kind=to_party, party_label=party_label)
    entry = entry_post(
        organization=item.organization, entry_date=timezone.localdate(), kind=EntryKind.TRANSFER, memo=reason[:300],
        actor=actor, lines=[LineSpec(account=target.account, amount=amount, item=target),
                            LineSpec(account=item.account, amount=-amount, item=item)],
    )
    transfer = BalanceTransfer.objects.create(
        organization_id=item.organization_id, patient_id=item.patient_id, amount=amount, reason=reason[:200], entry=entry,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_event(action="balance.transferred", actor=actor, target=transfer, patient=item.patient,
                summary=f"{format_money(amount)} moved to {PartyKind(to_party).label}: {reason[:100]}")
    return transfer


def refund_post(*, patient, amount, method: str, reason: str, idempotency_key: str, actor,
                payment: Payment | None = None, location=None) -> Refund:
    """Pay back part of a patient's credit balance: cash from the drawer, a check to mail (pending until paid),
    or back to the card of `payment`. Never more than the credit; the same key replays the first answer."""
    amount = money_check(amount, field="amount")
    if method not in RefundMethod.values:
        raise ValidationError({"method": f"Unknown refund method '{method}'."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why."})
    key = (idempotency_key or "").strip()
    if not key:
        raise ValidationError({"idempotency_key": "Every refund needs an idempotency key."})
    try:
        with transaction.atomic():
            return _refund_locked(patient=patient, amount=amount, method=method, reason=reason.strip(), key=key,
                                  actor=actor, payment=payment, location=location)
    except IntegrityError:
        existing = Refund.objects.filter(organization_id=patient.organization_id, idempotency_key=key).first()
        if existing is None:
            raise
        return _refund_replay(existing, amount, method)


def _refund_replay(existing: Refund, amount: Decimal, method: str) -> Refund:
    if existing.amount != amount or existing.method != method:
        raise IdempotencyConflict({"idempotency_key": "This idempotency key was already used for a different refund."})
    return existing


def _refund_locked(*, patient, amount, method, reason, key, actor, payment, location=None) -> Refund:
    from .accounts import account_for_patient

    PatientAccount.objects.select_for_update().filter(pk=account_for_patient(patient=patient, actor=actor).pk).first()
    existing = Refund.objects.filter(organization_id=patient.organization_id, idempotency_key=key).first()
    if existing is not None:
        return _refund_replay(existing, amount, method)
    available = patient_credit(patient=patient)
    if amount > available:
        raise ValidationError({"amount": f"{format_money(amount)} is more than the credit of {format_money(available)}."})
    refund = Refund(organization_id=patient.organization_id, patient=patient, method=method, amount=amount,
                    reason=reason[:200], idempotency_key=key, payment=payment, location=location,
                    created_by=actor if getattr(actor, "is_authenticated", False) else None)
    out_account = {RefundMethod.CASH: AccountRole.CASH, RefundMethod.CHECK: AccountRole.REFUNDS_PAYABLE,
                   RefundMethod.CARD: AccountRole.CARD_CLEARING}[method]
    if method == RefundMethod.CARD:
        if payment is None or payment.method != PaymentMethod.CARD or payment.status != PaymentStatus.POSTED:
            raise ValidationError({"payment": "Choose the card payment to refund."})
        refunded = sum((r.amount for r in payment.refunds.filter(status=RefundStatus.PAID)), Decimal("0"))
        if amount > payment.amount - refunded:
            raise ValidationError({"amount": f"Only {format_money(payment.amount - refunded)} of that card payment "
                                             "is left to refund."})
        from ..cards import CardDeclined, PermanentFailure, TemporaryFailure, card_processor

        try:
            answer = card_processor().refund(intent_id=payment.processor_id, amount=amount, idempotency_key=f"refund:{key}")
        except (CardDeclined, PermanentFailure, TemporaryFailure) as failure:
            raise ValidationError({"card": f"The card processor refused the refund: {failure}. Nothing was posted."}) from failure
        refund.processor_id = answer.id
    refund.status = RefundStatus.PENDING if method == RefundMethod.CHECK else RefundStatus.PAID
    refund.save()
    refund.entry = entry_post(
        organization=patient.organization, entry_date=timezone.localdate(), kind=EntryKind.REFUND,
        memo=f"Refund ({RefundMethod(method).label}): {reason}"[:300], reference=f"refund:{refund.pk}", actor=actor,
        lines=[LineSpec(account=AccountRole.PATIENT_CREDIT, amount=amount, patient=patient),
               LineSpec(account=out_account, amount=-amount, patient=patient)],
    )
    refund.save(update_fields=["entry", "status", "processor_id"])
    audit_event(action="refund.posted", actor=actor, target=refund, patient=patient,
                summary=f"Refund {format_money(amount)} ({RefundMethod(method).label}): {reason[:100]}")
    return refund

"""Plan autopay: each day, every active plan with a stored card has each installment that is due and unpaid charged
to that card off-session (a captured payment intent) and posted as a card payment on the account (`payment_post`:
one balanced entry, the account's charges settled oldest first).

Never twice. The plan's row is locked while it is charged, and each charge goes through `payment_post` under a key
named by the plan, the installment and the attempt (`autopay_key`): a second run, a second worker or a crash
between the processor's answer and our commit replays the first answer (ours or the processor's) instead of
charging again. Only a decline moves the attempt on; a processor that did not answer is asked again later under
the same key.

A decline posts nothing: the attempt is recorded (when, the processor's decline code and message), the patient is
told through the outbox, and the card is tried again AUTOPAY_RETRY_DAYS later, at most AUTOPAY_MAX_ATTEMPTS times;
after that, or once AUTOPAY_WINDOW_DAYS have passed since the due date, the installment is left to the daily
missed-installment check as any unpaid one.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.money import format_money

from ..choices import AutopayAttemptStatus, InstallmentState, PaymentMethod, PaymentStatus, PlanStatus
from ..models import AutopayAttempt, Payment, PaymentPlan, PaymentPlanInstallment
from .plans import PROCESSOR_CARD_ID

logger = logging.getLogger(__name__)

AUTOPAY_MAX_ATTEMPTS = 3
# Days to wait after the first and the second decline: tried on the due date, 3 days later and a week later.
AUTOPAY_RETRY_DAYS = (3, 4)
AUTOPAY_WINDOW_DAYS = 8
ACTOR_LABEL = "plan autopay"


def autopay_key(*, plan: PaymentPlan, installment: PaymentPlanInstallment, key_number: int) -> str:
    """The idempotency key of one autopay charge: the same plan, installment and attempt always give the same key."""
    return f"autopay:plan:{plan.pk}:installment:{installment.sequence}:try:{key_number}"


def plan_holder(plan: PaymentPlan):
    """The patient the plan's messages and audit rows name: the guarantor, else the account's first member."""
    if plan.account.guarantor_patient_id:
        return plan.account.guarantor_patient
    member = plan.account.members.select_related("patient").order_by("id").first()
    return member.patient if member else None


def autopay_still_trying(*, plan: PaymentPlan, installment: PaymentPlanInstallment, today: date,
                         attempts: list[AutopayAttempt] | None = None) -> bool:
    """Whether autopay will still try to charge this installment: the missed check waits for it meanwhile."""
    if not plan.autopay_on or today > installment.due_date + timedelta(days=AUTOPAY_WINDOW_DAYS):
        return False
    if attempts is None:
        attempts = list(installment.autopay_attempts.all())
    return sum(a.status == AutopayAttemptStatus.DECLINED for a in attempts) < AUTOPAY_MAX_ATTEMPTS


def plans_autopay_run(*, today: date | None = None) -> dict[str, int]:
    """Charge every due, unpaid installment of every active autopay plan (the daily run). Safe to run again and
    from several workers at once."""
    today = today or timezone.localdate()
    counts = {"charged": 0, "declined": 0, "failed": 0}
    plan_ids = list(PaymentPlan.objects.filter(status=PlanStatus.ACTIVE, autopay_enabled=True,
                                               installments__due_date__lte=today)
                    .exclude(autopay_payment_method_id="").values_list("pk", flat=True).distinct().order_by("pk"))
    for plan_id in plan_ids:
        try:
            attempts = plan_autopay_charge(plan_id=plan_id, today=today)
        except Exception:
            # One plan's surprise must not stop the others' charges; it is tried again tomorrow under the same key.
            logger.exception("Autopay of payment plan %s failed", plan_id)
            counts["failed"] += 1
            continue
        for attempt in attempts:
            counts[attempt.status] += 1
    return counts


def plan_autopay_charge(*, plan_id: int, today: date | None = None) -> list[AutopayAttempt]:
    """Charge the plan's due, unpaid installments, oldest first; stop at the first decline or failure. Returns the
    attempts made now (none when nothing was due, or another worker got there first)."""
    from ..selectors.accounts import account_balance
    from ..selectors.plans import plan_installments

    today = today or timezone.localdate()
    made: list[AutopayAttempt] = []
    with transaction.atomic():
        plan = (PaymentPlan.objects.select_for_update(of=("self",))
                .select_related("account", "account__organization", "account__guarantor_patient").get(pk=plan_id))
        if plan.status != PlanStatus.ACTIVE or not plan.autopay_on:
            return made
        tried: dict[int, list[AutopayAttempt]] = {}
        for attempt in AutopayAttempt.objects.filter(plan=plan).order_by("attempted_at", "id"):
            tried.setdefault(attempt.installment_id, []).append(attempt)
        for installment in plan.installments.filter(due_date__lte=today).order_by("sequence"):
            # Recomputed each time: a charge just posted pays this installment and perhaps part of the next.
            row = next(r for r in plan_installments(plan=plan, today=today) if r.installment.pk == installment.pk)
            if row.state == InstallmentState.PAID:
                continue
            attempts = tried.get(installment.pk, [])
            if any(a.status == AutopayAttemptStatus.CHARGED for a in attempts):
                continue  # charged once already (its payment since voided or refunded): staff decide, not autopay
            declines = [a for a in attempts if a.status == AutopayAttemptStatus.DECLINED]
            if not autopay_still_trying(plan=plan, installment=installment, today=today, attempts=attempts):
                continue
            if declines and declines[-1].next_attempt_on and today < declines[-1].next_attempt_on:
                continue
            amount = min(installment.amount - row.paid, account_balance(account=plan.account))
            if amount <= 0:
                continue
            attempt = _charge(plan=plan, installment=installment, amount=amount, key_number=len(declines) + 1,
                              today=today)
            made.append(attempt)
            if attempt.status != AutopayAttemptStatus.CHARGED:
                break
    return made


def _charge(*, plan: PaymentPlan, installment: PaymentPlanInstallment, amount: Decimal, key_number: int,
            today: date) -> AutopayAttempt:
    from .payments import payment_post

    patient = plan_holder(plan)
    attempt = AutopayAttempt(plan=plan, installment=installment, key_number=key_number, attempted_at=timezone.now(),
                             attempted_on=today, amount=amount, card_label=plan.card_label[:40])
    try:
        payment = payment_post(
            account=plan.account, amount=amount, method=PaymentMethod.CARD, actor=None,
            idempotency_key=autopay_key(plan=plan, installment=installment, key_number=key_number),
            card_payment_method_id=plan.autopay_payment_method_id,
            memo=f"Autopay: plan installment {installment.sequence}",
        )
    except ValidationError as exc:
        # Nothing was charged or posted (the processor did not answer or refused the request): try again later
        # under the same key, so a charge the processor did make is found, not repeated.
        attempt.status = AutopayAttemptStatus.FAILED
        attempt.message = " ".join(exc.messages)[:300]
        attempt.save()
        audit_event(action="payment_plan.autopay_failed", target=plan, patient=patient, actor_label=ACTOR_LABEL,
                    organization_id=plan.organization_id,
                    summary=f"Installment {installment.sequence}: {format_money(amount)} not charged: {attempt.message}"[:300])
        return attempt
    attempt.payment = payment
    if payment.status == PaymentStatus.DECLINED:
        attempt.status = AutopayAttemptStatus.DECLINED
        attempt.decline_code = payment.decline_code
        attempt.message = payment.decline_reason
        if key_number < AUTOPAY_MAX_ATTEMPTS:
            attempt.next_attempt_on = today + timedelta(days=AUTOPAY_RETRY_DAYS[key_number - 1])
        attempt.save()
        audit_event(action="payment_plan.autopay_declined", target=plan, patient=patient, actor_label=ACTOR_LABEL,
                    organization_id=plan.organization_id,
                    summary=f"Installment {installment.sequence}: {format_money(amount)} declined "
                            f"({attempt.decline_code or 'no code'}): {attempt.message}"[:300])
        if patient is not None:
            _tell_declined(plan=plan, attempt=attempt, patient=patient)
        return attempt
    attempt.status = AutopayAttemptStatus.CHARGED
    attempt.save()
    if payment.card_last4 and not plan.card_last4:
        plan.card_brand, plan.card_last4 = payment.card_brand, payment.card_last4
        plan.save(update_fields=["card_brand", "card_last4", "updated_at"])
    audit_event(action="payment_plan.autopay_charged", target=plan, patient=patient, actor_label=ACTOR_LABEL,
                organization_id=plan.organization_id,
                summary=f"Installment {installment.sequence}: {format_money(amount)} charged to {plan.card_label}")
    return attempt


def _tell_declined(*, plan: PaymentPlan, attempt: AutopayAttempt, patient) -> None:
    """Tell the patient (text or e-mail, as they prefer) that the card was declined and what happens next."""
    from clinicdesk.communications.choices import MessageChannel, MessagePurpose
    from clinicdesk.communications.services.outbox import message_queue
    from clinicdesk.communications.services.reminders import written_channel_for

    channel = written_channel_for(patient)
    if channel is None:
        return
    practice = plan.account.organization.name
    card = plan.card_label or "your card on file"
    then = (f"We will try the card again on {attempt.next_attempt_on:%m/%d/%Y}." if attempt.next_attempt_on
            else "We will not try the card again; please call the office to pay this installment.")
    body = (f"{practice}: the payment plan installment of {format_money(attempt.amount)} could not be charged to "
            f"{card} (the bank said: {attempt.message or 'declined'}). {then} To use another card, call the office.")
    try:
        with transaction.atomic():
            message_queue(
                organization=plan.account.organization, channel=channel, purpose=MessagePurpose.BALANCE,
                patient=patient, subject="Your payment plan installment could not be charged" if
                channel == MessageChannel.EMAIL else "", body=body,
                idempotency_key=f"autopay-declined:{plan.pk}:{attempt.installment.sequence}:{attempt.key_number}",
            )
    except ValidationError:
        logger.warning("Autopay decline of plan %s: the patient could not be told", plan.pk, exc_info=True)


# --- staff: autopay on or off, and the card ------------------------------------------------------------------


@transaction.atomic
def plan_autopay_set(*, plan: PaymentPlan, enabled: bool, actor) -> PaymentPlan:
    """Turn the plan's autopay on or off (on needs a stored card)."""
    plan = PaymentPlan.objects.select_for_update().select_related("account").get(pk=plan.pk)
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError({"autopay": f"A {plan.get_status_display().lower()} plan is not charged."})
    if enabled and not plan.autopay_payment_method_id:
        raise ValidationError({"autopay": "Store a card on the plan first."})
    if plan.autopay_enabled == enabled:
        return plan
    plan.autopay_enabled = enabled
    plan.save(update_fields=["autopay_enabled", "updated_at"])
    audit_event(action="payment_plan.autopay_on" if enabled else "payment_plan.autopay_off", actor=actor, target=plan,
                patient=plan_holder(plan), summary=f"Autopay {'on' if enabled else 'off'} ({plan.card_label})")
    return plan


@transaction.atomic
def plan_autopay_card_change(*, plan: PaymentPlan, payment_method_id: str, actor) -> PaymentPlan:
    """Store another of the processor's cards on the plan (its id only; brand, last four and expiry are asked of
    the processor, which refuses an id it does not hold). Turns autopay on."""
    from ..cards import CardFailure, card_processor

    method_id = (payment_method_id or "").strip()
    if not PROCESSOR_CARD_ID.match(method_id):
        raise ValidationError({"payment_method_id": "Choose a stored card: a processor card id such as pm_… "
                                                    "(never a card number)."})
    plan = PaymentPlan.objects.select_for_update().select_related("account").get(pk=plan.pk)
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError({"payment_method_id": f"A {plan.get_status_display().lower()} plan is not charged."})
    try:
        card = card_processor().payment_method_retrieve(payment_method_id=method_id)
    except CardFailure as failure:
        raise ValidationError({"payment_method_id": f"The card processor does not know that card: {failure.message}"}) from None
    today = timezone.localdate()
    if card.exp_year and (card.exp_year, card.exp_month) < (today.year, today.month):
        raise ValidationError({"payment_method_id": f"That card expired {card.exp_month:02d}/{card.exp_year}."})
    before = plan.card_label or "no card"
    plan.autopay_payment_method_id = method_id
    plan.card_brand, plan.card_last4 = card.brand[:20], card.last4[:4]
    plan.card_exp_month, plan.card_exp_year = card.exp_month or None, card.exp_year or None
    plan.autopay_enabled = True
    plan.save(update_fields=["autopay_payment_method_id", "card_brand", "card_last4", "card_exp_month",
                             "card_exp_year", "autopay_enabled", "updated_at"])
    audit_event(action="payment_plan.autopay_card_changed", actor=actor, target=plan, patient=plan_holder(plan),
                summary=f"Autopay card: {plan.card_label} (was {before})")
    return plan


def account_cards_on_file(*, plan: PaymentPlan) -> list[dict]:
    """The processor cards this account has paid with (and the plan's own), newest first, one per card id: the
    choices for the plan's card."""
    seen: dict[str, dict] = {}
    if plan.autopay_payment_method_id:
        seen[plan.autopay_payment_method_id] = {"id": plan.autopay_payment_method_id, "label": plan.card_label}
    rows = (Payment.objects.filter(account_id=plan.account_id, method=PaymentMethod.CARD, status=PaymentStatus.POSTED)
            .exclude(payment_method_id="").order_by("-received_on", "-id")
            .values_list("payment_method_id", "card_brand", "card_last4")[:50])
    for method_id, brand, last4 in rows:
        seen.setdefault(method_id, {"id": method_id, "label": f"{(brand or 'Card').title()} ending {last4}"})
    return list(seen.values())

"""Payment plans: agree a schedule for paying off a balance, cancel it, and the daily check that flags missed
installments (a staff task for the biller, once per installment) and closes plans that are paid off."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import Role
from clinicdesk.core.money import format_money

from ..choices import InstallmentState, PlanFrequency, PlanStatus
from ..models import PatientAccount, PaymentPlan, PaymentPlanInstallment
from .payments import money_check

MAX_INSTALLMENTS = 120
# A processor's stored-card id; anything else (a card number above all) is refused before it could be stored.
PROCESSOR_CARD_ID = re.compile(r"^pm_[A-Za-z0-9_]{3,76}$")
BROKEN_AFTER_MISSED = 2  # a plan with this many missed installments is broken


def plan_schedule(*, total: Decimal, installment_amount: Decimal, frequency: str, start_date: date,
                  count: int | None = None) -> list[tuple[date, Decimal]]:
    """The due dates and amounts: equal installments, the last one takes what is left so they sum to the total
    (`count` installments when given, else as many as the installment amount needs)."""
    if count is None:
        count = int((total / installment_amount).to_integral_value(rounding="ROUND_CEILING"))
    schedule = []
    for n in range(count):
        due = start_date + (relativedelta(months=n) if frequency == PlanFrequency.MONTHLY else timedelta(days=14 * n))
        amount = installment_amount if n < count - 1 else total - installment_amount * (count - 1)
        schedule.append((due, amount))
    return schedule


def installment_for_count(total: Decimal, count: int) -> Decimal:
    """The installment that pays `total` in `count` payments (rounded down to the cent; the last takes the rest)."""
    return (total / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


@transaction.atomic
def payment_plan_create(
    *, account: PatientAccount, total, frequency: str, start_date: date, actor, installment_amount=None,
    installments: int | None = None, autopay_payment_method_id: str = "", notes: str = "",
) -> PaymentPlan:
    """Agree to pay `total` (at most what the account owes) in installments: give the installment amount, or the
    number of installments. One active plan per account."""
    from ..selectors.accounts import account_balance

    total = money_check(total, field="total")
    errors: dict[str, str] = {}
    if frequency not in PlanFrequency.values:
        errors["frequency"] = f"Choose one of: {', '.join(PlanFrequency.values)}."
    if installment_amount in (None, "") and installments is None:
        errors["installment_amount"] = "Give the installment amount or the number of installments."
    card_id = (autopay_payment_method_id or "").strip()
    if card_id and not PROCESSOR_CARD_ID.match(card_id):
        errors["autopay_payment_method_id"] = ("Give the processor's id of a stored card (pm_…), never a card number.")
    if not isinstance(start_date, date):
        errors["start_date"] = "Give the first due date."
    elif start_date < timezone.localdate() - timedelta(days=31):
        errors["start_date"] = "The first installment cannot be more than a month in the past."
    if errors:
        raise ValidationError(errors)
    count = None
    if installment_amount in (None, ""):
        count = installments
        if not isinstance(installments, int) or installments < 1 or installments > MAX_INSTALLMENTS:
            raise ValidationError({"installments": f"Between 1 and {MAX_INSTALLMENTS} installments."})
        amount = installment_for_count(total, installments)
        if amount <= 0:
            raise ValidationError({"installments": "Too many installments for that total."})
    else:
        amount = money_check(installment_amount, field="installment_amount")
    if amount > total:
        raise ValidationError({"installment_amount": "An installment cannot be more than the plan's total."})
    account = PatientAccount.objects.select_for_update().get(pk=account.pk)
    owed = account_balance(account=account)
    if total > owed:
        raise ValidationError({"total": f"{format_money(total)} is more than the account owes ({format_money(owed)})."})
    if PaymentPlan.objects.filter(account=account, status=PlanStatus.ACTIVE).exists():
        raise ValidationError({"account": "The account already has an active payment plan; cancel it first."})
    schedule = plan_schedule(total=total, installment_amount=amount, frequency=frequency, start_date=start_date,
                             count=count)
    if len(schedule) > MAX_INSTALLMENTS:
        raise ValidationError({"installment_amount": f"That makes {len(schedule)} installments; at most "
                                                     f"{MAX_INSTALLMENTS}."})
    plan = PaymentPlan(organization_id=account.organization_id, account=account, total=total, installment_amount=amount,
                       frequency=frequency, start_date=start_date, notes=(notes or "").strip()[:300],
                       autopay_payment_method_id=card_id,
                       created_by=actor if getattr(actor, "is_authenticated", False) else None)
    plan.full_clean(exclude=["organization", "account", "created_by"])
    plan.save()
    PaymentPlanInstallment.objects.bulk_create(
        PaymentPlanInstallment(plan=plan, sequence=n, due_date=due, amount=part)
        for n, (due, part) in enumerate(schedule, start=1))
    audit_event(action="payment_plan.created", actor=actor, target=plan, patient=account.guarantor_patient,
                summary=f"Plan of {format_money(total)}: {len(schedule)} × {format_money(amount)} "
                        f"{PlanFrequency(frequency).label.lower()} from {start_date:%m/%d/%Y}")
    return plan


@transaction.atomic
def payment_plan_cancel(*, plan: PaymentPlan, reason: str, actor) -> PaymentPlan:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the plan is cancelled."})
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError({"status": f"A {plan.get_status_display().lower()} plan cannot be cancelled."})
    plan.status = PlanStatus.CANCELLED
    plan.save(update_fields=["status", "updated_at"])
    audit_event(action="payment_plan.cancelled", actor=actor, target=plan, summary=reason.strip()[:200])
    return plan


def _biller_task(plan: PaymentPlan, installment: PaymentPlanInstallment, patient) -> None:
    from clinicdesk.communications.choices import StaffTaskKind
    from clinicdesk.communications.services.tasks import staff_task_create

    staff_task_create(
        actor=None, organization_id=plan.organization_id, patient=patient, kind=StaffTaskKind.FOLLOW_UP,
        assignee_role=Role.BILLER, due_on=timezone.localdate(),
        title=f"Missed plan installment: account {plan.account.number}",
        details=f"Installment {installment.sequence} of {format_money(installment.amount)} was due "
                f"{installment.due_date:%m/%d/%Y} and is not paid.",
        reference=f"plan:{plan.pk}:installment:{installment.sequence}",
    )


def payment_plans_check(*, today: date | None = None) -> dict[str, int]:
    """The daily check of every active plan: flag each newly missed installment once (audit + a task for the
    billers), break a plan after repeated misses, complete a plan that is paid. Safe to run again. An installment
    autopay is still retrying is flagged only once autopay gives up (see services.autopay)."""
    from ..selectors.plans import plan_installments
    from .autopay import autopay_still_trying

    today = today or timezone.localdate()
    counts = {"flagged": 0, "completed": 0, "broken": 0}
    for plan in PaymentPlan.objects.filter(status=PlanStatus.ACTIVE).select_related("account", "account__guarantor_patient"):
        with transaction.atomic():
            plan = (PaymentPlan.objects.select_for_update(of=("self",)).select_related("account", "account__guarantor_patient")
                    .get(pk=plan.pk))
            rows = plan_installments(plan=plan, today=today)
            patient = plan.account.guarantor_patient
            if patient is None:
                first = plan.account.members.select_related("patient").first()
                patient = first.patient if first else None
            for row in rows:
                if row.state == InstallmentState.MISSED and row.installment.missed_flagged_at is None:
                    if autopay_still_trying(plan=plan, installment=row.installment, today=today):
                        continue  # the card is tried again first; the installment is missed once autopay gives up
                    row.installment.missed_flagged_at = timezone.now()
                    row.installment.save(update_fields=["missed_flagged_at"])
                    plan.missed_count += 1
                    counts["flagged"] += 1
                    audit_event(action="payment_plan.installment_missed", target=plan, patient=patient,
                                organization_id=plan.organization_id, actor_label="daily plan check",
                                summary=f"Installment {row.installment.sequence} due {row.installment.due_date:%m/%d/%Y} missed")
                    if patient is not None:
                        _biller_task(plan, row.installment, patient)
            fields = ["missed_count", "updated_at"]
            if rows and all(r.state == InstallmentState.PAID for r in rows):
                plan.status = PlanStatus.COMPLETED
                counts["completed"] += 1
                fields.append("status")
            elif plan.missed_count >= BROKEN_AFTER_MISSED:
                plan.status = PlanStatus.BROKEN
                counts["broken"] += 1
                fields.append("status")
                audit_event(action="payment_plan.broken", target=plan, patient=patient, organization_id=plan.organization_id,
                            actor_label="daily plan check", summary=f"{plan.missed_count} installments missed")
            plan.save(update_fields=fields)
    return counts

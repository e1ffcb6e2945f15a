"""Reads of payment plans: each installment paid, partly paid, due or missed, decided from the account's payments
since the plan was agreed. Payments are money and the plan a schedule: the payments are matched to installments
in due order, each cent counted once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from clinicdesk.core.models import User

from ..choices import InstallmentState, PaymentStatus
from ..models import AutopayAttempt, Payment, PaymentPlan, PaymentPlanInstallment
from .accounts import _may_view

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class InstallmentRow:
    installment: PaymentPlanInstallment
    paid: Decimal
    state: str

    @property
    def state_label(self) -> str:
        return InstallmentState(self.state).label


def plan_paid_total(*, plan: PaymentPlan) -> Decimal:
    """What the account paid since the plan was agreed (posted payments only; voided and declined do not count)."""
    since = timezone.localdate(plan.created_at) if plan.created_at else plan.start_date
    total = Payment.objects.filter(account_id=plan.account_id, status=PaymentStatus.POSTED,
                                   received_on__gte=min(since, plan.start_date)).aggregate(t=Sum("amount"))["t"]
    return total or ZERO


def plan_installments(*, plan: PaymentPlan, today: date | None = None) -> list[InstallmentRow]:
    """Each installment with what of it is paid and its state; an installment not fully paid once its due date
    has passed is missed."""
    today = today or timezone.localdate()
    left = plan_paid_total(plan=plan)
    rows = []
    for installment in plan.installments.order_by("sequence"):
        paid = min(installment.amount, left)
        left -= paid
        if paid == installment.amount:
            state = InstallmentState.PAID
        elif installment.due_date < today:
            state = InstallmentState.MISSED
        elif paid > 0:
            state = InstallmentState.PARTLY_PAID
        else:
            state = InstallmentState.DUE
        rows.append(InstallmentRow(installment=installment, paid=paid, state=state))
    return rows


def plan_get(*, actor: User, plan_id: int) -> PaymentPlan:
    if not _may_view(actor):
        raise Http404("No such plan.")
    plan = PaymentPlan.objects.filter(organization_id=actor.organization_id, pk=plan_id).select_related("account").first()
    if plan is None:
        raise Http404("No such plan.")
    return plan


def plans_for_account(*, account) -> list[PaymentPlan]:
    return list(PaymentPlan.objects.filter(account=account).order_by("-created_at"))


def plan_autopay_attempts(*, plan: PaymentPlan) -> list[AutopayAttempt]:
    """Every autopay charge of the plan, newest first, with its installment and payment."""
    return list(plan.autopay_attempts.select_related("installment", "payment").order_by("-attempted_at", "-id"))

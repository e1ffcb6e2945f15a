"""Payment plans: agree one on an account, see its installments paid or missed, cancel it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event
from clinicdesk.core.permissions import Perm

from ..choices import PlanStatus
from ..forms_payments import AutopayCardForm, PlanForm, ReasonForm
from ..selectors.accounts import account_balance, account_get
from ..selectors.plans import plan_autopay_attempts, plan_get, plan_installments, plan_paid_total
from ..services.autopay import account_cards_on_file, plan_autopay_card_change, plan_autopay_set
from ..services.plans import payment_plan_cancel, payment_plan_create


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def plan_create(request: HttpRequest, account_public_id: str) -> HttpResponse:
    account = account_get(actor=request.user, public_id=account_public_id)
    balance = account_balance(account=account)
    form = PlanForm(request.POST or None, initial={"total": str(balance) if balance > 0 else ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = payment_plan_create(
                account=account, total=data["total"], frequency=data["frequency"], start_date=data["start_date"],
                installment_amount=data["installment_amount"] or None, installments=data["installments"],
                autopay_payment_method_id=data["autopay_payment_method_id"], notes=data["notes"], actor=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Payment plan agreed.")
            return redirect("billing:plan_detail", plan.pk)
    return render(request, "billing/accounts/plan_form.html", {"account": account, "balance": balance, "form": form},
                  status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.BILLING_VIEW)
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = plan_get(actor=request.user, plan_id=plan_id)
    audit_event(action="payment_plan.viewed", actor=request.user, target=plan, patient=plan.account.guarantor_patient,
                summary=f"Payment plan of account {plan.account.number} opened")
    return _detail(request, plan)


def _detail(request: HttpRequest, plan, *, card_form: AutopayCardForm | None = None, status: int = 200) -> HttpResponse:
    can_change = plan.status == PlanStatus.ACTIVE and request.user.has_perm_code(Perm.PAYMENTS_ADJUST)
    if can_change and card_form is None:
        card_form = AutopayCardForm(cards=account_cards_on_file(plan=plan))
    return render(request, "billing/accounts/plan_detail.html", {
        "plan": plan, "account": plan.account, "rows": plan_installments(plan=plan), "paid": plan_paid_total(plan=plan),
        "attempts": plan_autopay_attempts(plan=plan), "can_change": can_change,
        "card_form": card_form if can_change else None,
        "cancel_form": ReasonForm() if can_change else None,
    }, status=status)


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def plan_autopay(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Turn the plan's autopay on or off."""
    plan = plan_get(actor=request.user, plan_id=plan_id)
    enabled = request.POST.get("autopay") == "on"
    try:
        plan_autopay_set(plan=plan, enabled=enabled, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Autopay is {'on' if enabled else 'off'}.")
    return redirect("billing:plan_detail", plan.pk)


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def plan_autopay_card(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Store another of the processor's cards on the plan."""
    plan = plan_get(actor=request.user, plan_id=plan_id)
    form = AutopayCardForm(request.POST, cards=account_cards_on_file(plan=plan))
    if form.is_valid():
        try:
            plan = plan_autopay_card_change(plan=plan, payment_method_id=form.cleaned_data["chosen"], actor=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Autopay will charge {plan.card_label}.")
            return redirect("billing:plan_detail", plan.pk)
    return _detail(request, plan, card_form=form, status=400)


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def plan_cancel(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = plan_get(actor=request.user, plan_id=plan_id)
    form = ReasonForm(request.POST)
    try:
        payment_plan_cancel(plan=plan, reason=form.data.get("reason", ""), actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Payment plan cancelled.")
    return redirect("billing:plan_detail", plan.pk)

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
from ..forms_payments import PlanForm, ReasonForm
from ..selectors.accounts import account_balance, account_get
from ..selectors.plans import plan_get, plan_installments, plan_paid_total
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
    return render(request, "billing/accounts/plan_detail.html", {
        "plan": plan, "account": plan.account, "rows": plan_installments(plan=plan), "paid": plan_paid_total(plan=plan),
        "cancel_form": ReasonForm() if plan.status == PlanStatus.ACTIVE and request.user.has_perm_code(Perm.PAYMENTS_ADJUST) else None,
    })


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

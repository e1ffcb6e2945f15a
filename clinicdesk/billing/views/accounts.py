"""Patient accounts, as the front desk and the biller see them: the account page (guarantor, members, balance,
aging, activity with a running balance, CSV), the patient chart's Billing tab, adjustments on a charge, applying
a credit, moving a family member between accounts, and issuing a pay link."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.money import format_money
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.models import OpenItem
from clinicdesk.patients.models import Patient
from clinicdesk.patients.selectors.records import patient_for_change
from clinicdesk.patients.views import PatientFact, PatientTab, register_patient_fact, register_patient_tab

from ..forms_payments import AdjustmentForm, CreditApplyForm, MemberMoveForm
from ..models import PatientAccount
from ..selectors.accounts import (
    account_activity,
    account_get,
    account_of_patient,
    account_scope,
    account_summary,
    payment_list,
)
from ..selectors.plans import plans_for_account
from ..services.accounts import account_for_patient, account_member_move
from ..services.pay_links import pay_link_issue
from ..services.payments import adjustment_post, credit_apply

TAB_KEY = "billing"


def _parse_date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: f"'{value}' is not a date; use YYYY-MM-DD."}) from None


@require_GET
@requires(Perm.BILLING_VIEW)
def account_detail(request: HttpRequest, account_public_id: str) -> HttpResponse:
    """The account page: who is on it, what it owes and how old, and everything that happened, newest last."""
    account = account_get(actor=request.user, public_id=account_public_id)
    summary = account_summary(actor=request.user, account=account)
    activity = account_activity(actor=request.user, account=account)
    user = request.user
    can_adjust = user.has_perm_code(Perm.PAYMENTS_ADJUST)
    return render(request, "billing/accounts/account_detail.html", {
        "account": account, "summary": summary, "activity": activity,
        "payments": list(payment_list(actor=user, account=account)[:20]),
        "plans": plans_for_account(account=account),
        "can_take": user.has_perm_code(Perm.PAYMENTS_TAKE), "can_adjust": can_adjust,
        "credit_form": CreditApplyForm(members=summary.members) if can_adjust and summary.credit > 0 else None,
        "move_form": MemberMoveForm(members=summary.members) if can_adjust else None,
    })


@require_GET
@requires(Perm.BILLING_VIEW)
def account_activity_export(request: HttpRequest, account_public_id: str) -> HttpResponse:
    """The account's activity with its running balance as CSV (?date_from=&date_to=); audited as an export."""
    account = account_get(actor=request.user, public_id=account_public_id)
    try:
        rows = account_activity(actor=request.user, account=account,
                                date_from=_parse_date(request.GET.get("date_from", ""), "date_from"),
                                date_to=_parse_date(request.GET.get("date_to", ""), "date_to"))
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    audit_event(action="billing.account_exported", actor=request.user, target=account, channel=AuditChannel.EXPORT,
                patient=account.guarantor_patient, summary=f"Activity of account {account.number} exported")
    header = ["date", "kind", "patient", "description", "amount", "balance"]
    return csv_response(f"account-{account.number}.csv", header,
                        ([r.on.isoformat(), r.kind_label, r.patient_name, r.description, str(r.amount), str(r.balance)]
                         for r in rows))


def _account_for_change(request: HttpRequest, account_public_id: str) -> PatientAccount:
    return account_get(actor=request.user, public_id=account_public_id)


def _charge_of(account: PatientAccount, item_id: int) -> OpenItem:
    item = OpenItem.objects.filter(pk=item_id, organization_id=account.organization_id,
                                   patient__billing_membership__account=account).select_related("patient").first()
    if item is None:
        raise Http404("No such charge on this account.")
    return item


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def account_adjust(request: HttpRequest, account_public_id: str, item_id: int) -> HttpResponse:
    """Write off part of one charge (courtesy, small balance, bad debt, correction)."""
    account = _account_for_change(request, account_public_id)
    item = _charge_of(account, item_id)
    form = AdjustmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            adjustment = adjustment_post(item=item, amount=data["amount"], kind=data["kind"], reason=data["reason"],
                                         actor=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Adjustment of {format_money(adjustment.amount)} posted.")
            return redirect("billing:account_detail", account.public_id)
    from clinicdesk.ledger.selectors import item_balances

    return render(request, "billing/accounts/adjust.html",
                  {"account": account, "item": item, "balance": item_balances(item_ids=[item.pk])[item.pk], "form": form},
                  status=400 if form.is_bound and form.errors else 200)


def _member(account: PatientAccount, public_id: str) -> Patient:
    patient = Patient.objects.filter(public_id=public_id, organization_id=account.organization_id,
                                     billing_membership__account=account).first()
    if patient is None:
        raise ValidationError({"patient": "Choose a patient on this account."})
    return patient


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def account_credit_apply(request: HttpRequest, account_public_id: str) -> HttpResponse:
    """Apply a member's credit to the account's open charges, oldest first."""
    account = _account_for_change(request, account_public_id)
    form = CreditApplyForm(request.POST, members=account.members.select_related("patient"))
    if form.is_valid():
        try:
            patient = _member(account, form.cleaned_data["patient"])
            transfer = credit_apply(patient=patient, actor=request.user, amount=form.cleaned_data["amount"] or None)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{format_money(transfer.amount)} of credit applied." if transfer
                             else "There was no open charge to apply the credit to.")
    else:
        messages.error(request, "Choose whose credit to apply.")
    return redirect("billing:account_detail", account.public_id)


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def account_move_member(request: HttpRequest, account_public_id: str) -> HttpResponse:
    """Move a family member from this account to another account of the practice (by its number)."""
    account = _account_for_change(request, account_public_id)
    form = MemberMoveForm(request.POST, members=account.members.select_related("patient"))
    if not form.is_valid():
        messages.error(request, "Choose the patient and the account number.")
        return redirect("billing:account_detail", account.public_id)
    target = account_scope(actor=request.user).filter(number=form.cleaned_data["to_account"].strip()).first()
    try:
        patient = _member(account, form.cleaned_data["patient"])
        if target is None:
            raise ValidationError({"to_account": "No account of this practice has that number."})
        if target.pk == account.pk:
            raise ValidationError({"to_account": "The patient is already on this account."})
        account_member_move(patient=patient, account=target, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("billing:account_detail", account.public_id)
    messages.success(request, f"{patient.first_name} {patient.last_name} moved to account {target.number}.")
    return redirect("billing:account_detail", target.public_id)


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE)
def account_pay_link(request: HttpRequest, account_public_id: str) -> HttpResponse:
    """Make a pay link for the account (to read out or paste into a message); shown once on the account page."""
    account = _account_for_change(request, account_public_id)
    try:
        _link, url = pay_link_issue(account=account, actor=request.user, site_url=request.build_absolute_uri("/"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Pay link (valid 30 days): {url}")
    return redirect("billing:account_detail", account.public_id)


@require_POST
@requires(Perm.PATIENT_VIEW, Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE)
def patient_account_open(request: HttpRequest, patient_id: str) -> HttpResponse:
    """Open the account a patient bills to (their guarantor's when the chart names one) and go to it."""
    patient = patient_for_change(actor=request.user, public_id=patient_id)
    with transaction.atomic():
        account = account_for_patient(patient=patient, actor=request.user)
    return redirect("billing:account_detail", account.public_id)


# --- the patient chart's Billing tab and balance fact ---------------------------------------------------------


def billing_tab(request: HttpRequest, patient: Patient) -> dict:
    """What the Billing tab shows: the account the patient bills to, its balance, its last activity."""
    account = account_of_patient(actor=request.user, patient=patient)
    if account is None:
        return {"account": None, "has_content": True, "can_take": request.user.has_perm_code(Perm.PAYMENTS_TAKE)}
    summary = account_summary(actor=request.user, account=account, audit=False)
    activity = account_activity(actor=request.user, account=account)
    return {"account": account, "summary": summary, "activity": activity[-10:], "has_content": True,
            "can_take": request.user.has_perm_code(Perm.PAYMENTS_TAKE)}


def balance_fact(request: HttpRequest, patient: Patient) -> str | None:
    if not request.user.has_perm_code(Perm.BILLING_VIEW):
        return None
    account = account_of_patient(actor=request.user, patient=patient)
    if account is None:
        return None
    from ..selectors.accounts import account_balance

    balance = account_balance(account=account)
    return f"{format_money(-balance)} credit" if balance < 0 else format_money(balance)


def register_billing_tab() -> None:
    """Called from BillingConfig.ready: the patient page's Billing tab takes the place of the Account placeholder."""
    from clinicdesk.patients.views import PATIENT_TABS

    PATIENT_TABS.pop("account", None)
    register_patient_tab(PatientTab(TAB_KEY, "Billing", "billing/accounts/patient_tab.html", billing_tab,
                                    Perm.BILLING_VIEW, order=30))
    register_patient_fact(PatientFact("balance", "Balance", balance_fact, order=10))


"""Card payout pages: the processor's payouts with their figures and exceptions (and CSV), one payout with each
line and what it matched, fetching payouts from the processor, matching a waiting payout again and a manager's
acceptance of its exceptions; and our card payments no payout has paid out."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..choices import CardPayoutStatus
from ..forms_payments import ReasonForm
from ..forms_reports import PayoutFilterForm
from ..selectors import payouts as selectors
from ..services import payouts as services

PAGE_SIZE = 50
MISSING_SHOWN = 50


@require_GET
@requires(Perm.BILLING_REPORTS)
def payout_list(request: HttpRequest) -> HttpResponse:
    form = PayoutFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    data = form.cleaned_data if form.is_bound and valid else {}
    rows = selectors.payout_list(user=request.user, status=data.get("status", ""), start=data.get("start"),
                                 end=data.get("end")) if valid else selectors.payout_list(user=request.user).none()
    if request.GET.get("format") == "csv" and valid:
        return csv_response("card-payouts.csv", [
            "payout", "arrival date", "settlement day", "status", "charges", "refunds", "fees", "net", "exceptions",
            "accepted by", "note"], (
            [p.processor_payout_id, p.arrival_date.isoformat(),
             p.settlement_date.isoformat() if p.settlement_date else "", p.get_status_display(), p.gross, p.refunds,
             p.fees, p.net, p.exception_count, p.accepted_by.get_full_name() if p.accepted_by else "", p.accept_note]
            for p in rows.iterator()))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    missing = list(selectors.card_payments_not_paid_out(user=request.user)[:MISSING_SHOWN])
    missing_refunds = list(selectors.card_refunds_not_paid_out(user=request.user)[:MISSING_SHOWN])
    return render(request, "billing/payouts/list.html", {
        "form": form, "page": page, "query": query.urlencode(), "missing": missing, "missing_refunds": missing_refunds,
        "missing_days": selectors.PAYOUT_MISSING_DAYS, "can_adjust": request.user.has_perm_code(Perm.PAYMENTS_ADJUST),
    }, status=200 if valid else 400)


@require_POST
@requires(Perm.BILLING_REPORTS, Perm.PAYMENTS_ADJUST)
def payouts_sync(request: HttpRequest) -> HttpResponse:
    """Fetch the processor's recent payouts this practice has not received yet."""
    try:
        counts = services.card_payouts_sync(organization=request.user.organization, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{counts['imported']} new payout(s): {counts['posted']} posted, "
                                  f"{counts['exceptions']} with exceptions.")
    return redirect("billing:payout_list")


@require_GET
@requires(Perm.BILLING_REPORTS)
def payout_detail(request: HttpRequest, card_payout_id: str) -> HttpResponse:
    payout = selectors.payout_get(user=request.user, public_id=card_payout_id)
    audit_event(action="card_payout.viewed", actor=request.user, target=payout,
                summary=f"Payout {payout.processor_payout_id} opened with its lines")
    can_adjust = request.user.has_perm_code(Perm.PAYMENTS_ADJUST)
    waiting = payout.status == CardPayoutStatus.EXCEPTIONS
    return render(request, "billing/payouts/detail.html", {
        "payout": payout, "lines": selectors.payout_lines(payout=payout), "can_act": can_adjust and waiting,
        "accept_form": ReasonForm(prefix="accept") if can_adjust and waiting else None,
    })


@require_POST
@requires(Perm.BILLING_REPORTS, Perm.PAYMENTS_ADJUST)
def payout_rematch(request: HttpRequest, card_payout_id: str) -> HttpResponse:
    payout = selectors.payout_get(user=request.user, public_id=card_payout_id)
    try:
        payout = services.payout_rematch(payout=payout, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if payout.entry_id:
            messages.success(request, "Every line matches now; the payout is posted.")
        else:
            messages.info(request, f"{payout.exception_count} exception(s) remain.")
    return redirect("billing:payout_detail", payout.public_id)


@require_POST
@requires(Perm.BILLING_REPORTS, Perm.PAYMENTS_ADJUST)
def payout_accept(request: HttpRequest, card_payout_id: str) -> HttpResponse:
    payout = selectors.payout_get(user=request.user, public_id=card_payout_id)
    note = (request.POST.get("accept-reason") or "")[:300]
    try:
        services.payout_accept(payout=payout, note=note, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The exceptions are accepted and the payout is posted.")
    return redirect("billing:payout_detail", payout.public_id)

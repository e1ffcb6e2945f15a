"""Day close pages: the days closed (and CSV), counting and closing a drawer's day, one closed day with its
deposit, the office manager's approval and reopening, the card settlement of a day, and the drawers' setup."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_events
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..choices import DayCloseStatus
from ..forms_reports import (
    DayCloseForm,
    DayForm,
    DrawerForm,
    NoteForm,
    ReasonForm,
    day_data,
    parse_day,
)
from ..selectors import reports as selectors
from ..services import dayclose as services

PAGE_SIZE = 50


@require_GET
@requires(Perm.DAY_CLOSE)
def day_close_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.day_closes(user=request.user, start=parse_day(request.GET.get("start")),
                                end=parse_day(request.GET.get("end")), status=request.GET.get("status", ""))
    if request.GET.get("format") == "csv":
        return csv_response("day-closes.csv", [
            "date", "location", "status", "float", "cash payments", "cash refunds", "expected cash", "counted cash",
            "over/short", "reason", "checks expected", "checks counted", "closed by", "approved by"], (
            [d.business_date.isoformat(), d.location.name, d.get_status_display(), d.opening_float, d.cash_payments,
             d.cash_refunds, d.expected_cash, d.counted_cash, d.over_short, d.over_short_reason, d.checks_expected,
             d.checks_counted, d.closed_by.get_full_name() if d.closed_by else "",
             d.approved_by.get_full_name() if d.approved_by else ""] for d in rows.iterator()))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "billing/dayclose/list.html", {
        "page": page, "query": query.urlencode(), "drawers": selectors.drawers(user=request.user),
        "statuses": DayCloseStatus.choices, "status": request.GET.get("status", ""),
        "can_see_payouts": request.user.has_perm_code(Perm.BILLING_REPORTS)})


@require_http_methods(["GET", "POST"])
@requires(Perm.DAY_CLOSE)
def day_close_count(request: HttpRequest) -> HttpResponse:
    drawers = selectors.drawers(user=request.user)
    default = drawers[0].location if drawers else None
    pick = DayForm(day_data(request.GET, default_location=default), organization_id=request.user.organization_id)
    context = {"pick": pick, "drawers": drawers}
    if not pick.is_valid():
        return render(request, "billing/dayclose/count.html", context, status=200 if not drawers else 400)
    location, on = pick.cleaned_data["location"], pick.cleaned_data["on"]
    drawer = selectors.drawer_for(user=request.user, location=location)
    context.update(location=location, on=on, drawer=drawer,
                   unplaced=selectors.payments_without_location(user=request.user, start=on, end=on))
    if drawer is None:
        return render(request, "billing/dayclose/count.html", context)
    existing = selectors.day_closes(user=request.user, start=on, end=on, location=location).first()
    if existing is not None and existing.status != DayCloseStatus.OPEN:
        return redirect("billing:day_close_detail", close_id=existing.public_id)
    checks = selectors.day_checks(user=request.user, location=location, on=on)
    # The count lists each check with its guarantor: a read of those patients' accounts.
    payers = {c.patient or c.account.guarantor_patient for c in checks} - {None}
    if payers:
        audit_events(action="day_close.checks_viewed", actor=request.user, targets=sorted(payers, key=lambda p: p.pk),
                     summary=f"Checks of {on:%m/%d/%Y} at {location.name}, listed for the drawer count")
    float_ = existing.opening_float if existing else None
    figures = services.day_figures(drawer=drawer, on=on, opening_float=float_)
    form = DayCloseForm(request.POST or None, checks=checks)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                day = services.day_close_close(
                    drawer=drawer, business_date=on, denominations=form.denominations(), actor=request.user,
                    checks_in_hand=[int(i) for i in form.cleaned_data["checks_in_hand"]],
                    over_short_reason=form.cleaned_data["over_short_reason"],
                    missing_checks_reason=form.cleaned_data["missing_checks_reason"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"The day of {on:%m/%d/%Y} is closed and its deposit posted.")
                return redirect("billing:day_close_detail", close_id=day.public_id)
        status = 400
    context.update(form=form, figures=figures, checks=checks, day=existing)
    return render(request, "billing/dayclose/count.html", context, status=status)


@require_GET
@requires(Perm.DAY_CLOSE)
def day_close_detail(request: HttpRequest, close_id: str) -> HttpResponse:
    day = selectors.day_close_detail(user=request.user, public_id=close_id)
    return render(request, "billing/dayclose/detail.html", {
        "day": day, "deposits": selectors.day_deposits(day=day),
        "can_adjust": request.user.has_perm_code(Perm.PAYMENTS_ADJUST), "reason_form": ReasonForm(),
        "note_form": NoteForm(), "count_url": reverse("billing:day_close_count") + f"?location={day.location_id}&on={day.business_date}"})


def _act(request: HttpRequest, close_id: str, act) -> HttpResponse:
    day = selectors.day_close_detail(user=request.user, public_id=close_id)
    try:
        act(day)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied:
        raise
    return redirect("billing:day_close_detail", close_id=day.public_id)


@require_POST
@requires(Perm.PAYMENTS_ADJUST)
def day_close_approve(request: HttpRequest, close_id: str) -> HttpResponse:
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""

    def act(day):
        services.day_close_approve(day_close=day, actor=request.user, note=note)
        messages.success(request, "The over/short is approved.")

    return _act(request, close_id, act)


@require_POST
@requires(Perm.PAYMENTS_ADJUST)
def day_close_reopen(request: HttpRequest, close_id: str) -> HttpResponse:
    reason = (request.POST.get("reason") or "")[:300]

    def act(day):
        services.day_close_reopen(day_close=day, reason=reason, actor=request.user)
        messages.success(request, "The day is open again; its deposit is reversed.")

    return _act(request, close_id, act)


@require_GET
@requires(Perm.DAY_CLOSE)
def card_settlement(request: HttpRequest) -> HttpResponse:
    form = DayForm(day_data(request.GET, default_location=None), organization_id=request.user.organization_id,
                   location_required=False)
    rows = None
    if form.is_valid():
        rows = selectors.card_settlement(user=request.user, on=form.cleaned_data["on"],
                                         location=form.cleaned_data["location"])
        if request.GET.get("format") == "csv":
            return csv_response(f"card-settlement-{form.cleaned_data['on']}.csv",
                                ["brand", "payments", "amount", "refunds", "net"],
                                [[r["brand"], r["count"], r["amount"], r["refunds"], r["net"]] for r in rows])
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "billing/dayclose/cards.html", {
        "form": form, "rows": rows, "total": sum((r["net"] for r in rows), 0) if rows else 0, "query": query.urlencode(),
        "can_see_payouts": request.user.has_perm_code(Perm.BILLING_REPORTS)},
        status=200 if form.is_valid() else 400)


@require_http_methods(["GET", "POST"])
@requires(Perm.PAYMENTS_ADJUST)
def drawers(request: HttpRequest) -> HttpResponse:
    form = DrawerForm(request.POST or None, organization_id=request.user.organization_id)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                drawer = services.drawer_save(location=form.cleaned_data["location"], name=form.cleaned_data["name"],
                                              opening_float=form.cleaned_data["opening_float"], actor=request.user)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved the drawer of {drawer.location.name}.")
                return redirect("billing:drawers")
        status = 400
    rows = selectors.drawers(user=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("cash-drawers.csv", ["location", "drawer", "opening float", "active"],
                            [[d.location.name, d.name, d.opening_float, "yes" if d.is_active else "no"] for d in rows])
    return render(request, "billing/dayclose/drawers.html", {"form": form, "rows": rows}, status=status)

"""Code set and fee schedule pages, under /billing/codes/: ICD-10-CM look-up (a page and JSON for the charge
entry autocompletes), the practice's procedure list, fee schedules with their prices, and the CSV import with
a dry-run preview. Billing staff and the front desk read; fee managers change; clinicians search diagnoses."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.csv_import_views import CsvImport, imported_counts
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tables import upload_carry, xlsx_response

from .. import icd10
from ..forms_codes import CodeSearchForm, FeeImportConfirmForm, FeeImportForm, FeeScheduleForm
from ..selectors import codes as selectors
from ..services import codes as services

ICD10_LIMIT = 20
ICD10_MAX_LIMIT = 50


def _query(request: HttpRequest) -> str:
    return (request.GET.get("q") or "").strip()[:100]


# --- ICD-10-CM ---------------------------------------------------------------------------------------------


def _icd10_hits(request: HttpRequest) -> tuple[str, list[icd10.Icd10Hit]]:
    q = _query(request)
    try:
        limit = min(max(int(request.GET.get("limit", ICD10_LIMIT)), 1), ICD10_MAX_LIMIT)
    except ValueError:
        limit = ICD10_LIMIT
    billable_only = request.GET.get("billable") in ("1", "true", "yes")
    return q, icd10.search(q, limit=limit, billable_only=billable_only) if q else []


def _icd10_json(request: HttpRequest) -> JsonResponse:
    q, hits = _icd10_hits(request)
    return JsonResponse({
        "query": q, "release": icd10.RELEASE,
        "results": [{"code": h.code, "description": h.description, "billable": h.billable} for h in hits],
    })


def _icd10_page(request: HttpRequest) -> HttpResponse:
    q, hits = _icd10_hits(request)
    context = {"query": q, "hits": hits, "release": icd10.RELEASE, "form": CodeSearchForm(initial={"q": q})}
    if request.headers.get("HX-Request"):
        return render(request, "billing/codes/_icd10_results.html", context)
    return render(request, "billing/codes/icd10_lookup.html", context)


# Two audiences with different permissions: billing staff and the front desk (billing.view), and clinicians
# coding their encounters (charges.enter). Each gets its own URL so every view names exactly one permission.


@require_GET
@requires(Perm.CHARGES_ENTER)
def icd10_search(request: HttpRequest) -> JsonResponse:
    """JSON for the diagnosis autocompletes of charge entry: ?q=…&limit=…&billable=1."""
    return _icd10_json(request)


@require_GET
@requires(Perm.BILLING_VIEW)
def icd10_search_billing(request: HttpRequest) -> JsonResponse:
    """The same JSON for billing staff's pages."""
    return _icd10_json(request)


@require_GET
@requires(Perm.BILLING_VIEW)
def icd10_lookup(request: HttpRequest) -> HttpResponse:
    """The look-up page; with htmx, only the results."""
    return _icd10_page(request)


@require_GET
@requires(Perm.CHARGES_ENTER)
def icd10_lookup_coding(request: HttpRequest) -> HttpResponse:
    """The look-up page for clinicians."""
    return _icd10_page(request)


# --- procedures --------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.BILLING_VIEW)
def procedure_list(request: HttpRequest) -> HttpResponse:
    q = _query(request)
    show_all = request.GET.get("show") == "all"
    rows = selectors.procedure_search(user=request.user, query=q, include_inactive=show_all)
    if request.GET.get("format") == "csv":
        return csv_response("procedure-codes.csv", ["code_system", "code", "description", "in_use"], (
            [p.code_system, p.code, p.description, "yes" if p.is_active else "no"] for p in rows.iterator()
        ))
    page, query = page_of(request, rows)
    return render(request, "billing/codes/procedure_list.html", {
        "form": CodeSearchForm(initial={"q": q}), "page": page, "query": query, "q": q, "show_all": show_all,
    })


# --- fee schedules -----------------------------------------------------------------------------------------


@require_GET
@requires(Perm.BILLING_VIEW)
def fee_schedule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/codes/fee_schedule_list.html", {
        "schedules": selectors.fee_schedule_list(user=request.user),
        "can_manage": request.user.has_perm_code(Perm.FEES_MANAGE),
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.FEES_MANAGE)
def fee_schedule_create(request: HttpRequest) -> HttpResponse:
    form = FeeScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            schedule = services.fee_schedule_create(organization=request.user.organization, actor=request.user,
                                                    **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Fee schedule {schedule.name} created. Import its prices from a CSV file.")
            return redirect("billing:fee_schedule_import", fee_schedule_id=schedule.pk)
    return render(request, "billing/codes/fee_schedule_form.html", {"form": form},
                  status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.BILLING_VIEW)
def fee_schedule_detail(request: HttpRequest, fee_schedule_id: int) -> HttpResponse:
    """A schedule's prices with search; the CSV and XLSX have the import's columns, so they can be edited and
    imported back."""
    schedule = selectors.fee_schedule_get(user=request.user, schedule_id=fee_schedule_id)
    q = _query(request)
    rows = selectors.fee_list(user=request.user, schedule=schedule, query=q)
    kind = request.GET.get("format")
    if kind in ("csv", "xlsx"):
        download = csv_response if kind == "csv" else xlsx_response
        return download(f"fee-schedule-{schedule.pk}.{kind}", services.FEE_COLUMNS,
                        (services.fee_export_row(f, as_text=kind == "csv") for f in rows.iterator()))
    page, query = page_of(request, rows)
    return render(request, "billing/codes/fee_schedule_detail.html", {
        "schedule": schedule, "form": CodeSearchForm(initial={"q": q}), "page": page, "query": query, "q": q,
        "can_manage": request.user.has_perm_code(Perm.FEES_MANAGE),
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.FEES_MANAGE)
def fee_schedule_import(request: HttpRequest, fee_schedule_id: int) -> HttpResponse:
    """Step 1: choose a file, see what every row would do (nothing saved). Step 2: confirm, and it is imported."""
    schedule = selectors.fee_schedule_get(user=request.user, schedule_id=fee_schedule_id)
    return CsvImport(
        upload_form=FeeImportForm, confirm_form=FeeImportConfirmForm, template="billing/codes/fee_import.html",
        run=lambda **kw: services.fee_schedule_import(schedule=schedule, actor=request.user, **kw),
        decode=upload_carry, carry=("code_system",), context={"schedule": schedule, "columns": services.FEE_COLUMNS},
        done_url=reverse("billing:fee_schedule_detail", kwargs={"fee_schedule_id": schedule.pk}),
        done_message=imported_counts,
    ).response(request)

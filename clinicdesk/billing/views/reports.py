"""Billing report pages: deposits, the day sheet (page, CSV and PDF), collections, charges against payments (a
chart and its table), each with a CSV. A/R aging is the ledger's page; the reports page links to it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient

from ..forms_reports import CollectionsForm, DayForm, PeriodForm, day_data, period_data
from ..selectors import reports as selectors

# Where the ledger's A/R aging lives (built in the ledger app); the link is shown only when the page exists.
AGING_URL_NAMES = ("ledger:aging", "ledger:ar_aging")


def _aging_url() -> str:
    for name in AGING_URL_NAMES:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return ""


def _wants(request: HttpRequest, kind: str) -> bool:
    return request.GET.get("format") == kind


def _query_without_format(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("format", None)
    return query.urlencode()


@require_GET
@requires(Perm.BILLING_REPORTS)
def reports_home(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/reports/home.html", {"aging_url": _aging_url()})


@require_GET
@requires(Perm.BILLING_REPORTS)
def report_deposits(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(period_data(request.GET), organization_id=request.user.organization_id)
    report = None
    if form.is_valid():
        report = selectors.deposit_report(user=request.user, start=form.cleaned_data["start"],
                                          end=form.cleaned_data["end"], location=form.cleaned_data["location"])
        if _wants(request, "csv"):
            rows = [["by method", r["label"], "", r["count"], r["amount"], r["refunds"], r["net"]] for r in report.by_method]
            rows += [["by user", r["method"], r["user"], r["count"], r["amount"], "", ""] for r in report.by_user]
            rows += [["deposit", d.deposit_date.isoformat(), d.location.name, d.check_count, d.total, "",
                      d.get_status_display()] for d in report.deposits]
            return csv_response(f"deposits-{report.start}-{report.end}.csv",
                                ["section", "method or date", "user or location", "count", "amount", "refunds", "net"],
                                rows)
    unplaced = (selectors.payments_without_location(user=request.user, start=report.start, end=report.end)
                if report is not None else None)
    return render(request, "billing/reports/deposits.html", {"form": form, "report": report, "unplaced": unplaced,
                                                              "query": _query_without_format(request)},
                  status=200 if form.is_valid() else 400)


def _day_sheet_pdf(sheet, request) -> bytes:
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML

    def refuse(url, *args, **kwargs):
        raise ValueError("The day sheet loads nothing from outside.")

    html = render_to_string("billing/reports/day_sheet_pdf.html", {"sheet": sheet, "printed_by": request.user,
                                                                   "printed_at": timezone.localtime()})
    # The page's styles live in a static file (the content security policy forbids inline styles in templates).
    stylesheet = CSS(filename=finders.find("billing/day-sheet-pdf.css"))
    return HTML(string=html, base_url=None, url_fetcher=refuse).write_pdf(stylesheets=[stylesheet])


@require_GET
@requires(Perm.BILLING_REPORTS)
def report_day_sheet(request: HttpRequest) -> HttpResponse:
    locations = selectors.report_locations(user=request.user)
    form = DayForm(day_data(request.GET, default_location=locations[0] if locations else None),
                   organization_id=request.user.organization_id)
    sheet = None
    if form.is_valid():
        sheet = selectors.day_sheet(user=request.user, on=form.cleaned_data["on"], location=form.cleaned_data["location"])
        patients = list(Patient.objects.filter(organization_id=request.user.organization_id, pk__in=sheet.patient_ids))
        name = f"day-sheet-{sheet.location.code}-{sheet.on}"
        if _wants(request, "csv"):
            audit_events(action="day_sheet.exported", actor=request.user, targets=patients, channel=AuditChannel.EXPORT,
                         summary=f"On the day sheet of {sheet.on} (CSV)")
            rows = [["charge", c["patient"], c["mrn"], c["provider"], c["department"], c["code"], c["diagnoses"],
                     c["units"], c["amount"]] for c in sheet.charges]
            rows += [["payment", p["patient"], p["account"], p["taken_by"], p["method"], p["detail"],
                      p["status"], "", p["amount"]] for p in sheet.payments]
            rows += [["adjustment", a["patient"], "", "", a["kind"], a["code"], a["reason"], "", a["amount"]]
                     for a in sheet.adjustments]
            rows += [["refund", r["patient"], "", "", r["method"], "", r["reason"], "", r["amount"]] for r in sheet.refunds]
            rows += [["total charges", "", "", "", "", "", "", "", sheet.total_charges],
                     ["total payments", "", "", "", "", "", "", "", sheet.total_payments],
                     ["total adjustments", "", "", "", "", "", "", "", sheet.total_adjustments],
                     ["total refunds", "", "", "", "", "", "", "", sheet.total_refunds]]
            return csv_response(f"{name}.csv", ["kind", "patient", "MRN or account", "provider or taken by",
                                                "department, method or kind", "code or detail",
                                                "diagnoses, status or reason", "units", "amount"], rows)
        if _wants(request, "pdf"):
            audit_events(action="day_sheet.printed", actor=request.user, targets=patients, channel=AuditChannel.PRINT,
                         summary=f"On the day sheet of {sheet.on} (PDF)")
            response = HttpResponse(_day_sheet_pdf(sheet, request), content_type="application/pdf")
            response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
            return response
        audit_events(action="day_sheet.viewed", actor=request.user, targets=patients,
                     summary=f"On the day sheet of {sheet.on}")
    return render(request, "billing/reports/day_sheet.html", {"form": form, "sheet": sheet,
                                                               "query": _query_without_format(request)},
                  status=200 if form.is_valid() or not locations else 400)


@require_GET
@requires(Perm.BILLING_REPORTS)
def report_collections(request: HttpRequest) -> HttpResponse:
    form = CollectionsForm(period_data(request.GET), organization_id=request.user.organization_id)
    report = None
    if form.is_valid():
        report = selectors.collections(user=request.user, start=form.cleaned_data["start"], end=form.cleaned_data["end"],
                                       by=form.cleaned_data["by"])
        if _wants(request, "csv"):
            rows = [[r["name"], r["payments"], r["credit_applied"], r["total"]] for r in report.rows]
            rows += [["Total applied to charges", report.total_payments, report.total_credit_applied, report.total],
                     ["Received and held as credit (unapplied)", report.unapplied, "", report.unapplied]]
            return csv_response(f"collections-by-{report.by}-{report.start}-{report.end}.csv",
                                [report.by, "payments applied", "credit applied", "total"], rows)
    return render(request, "billing/reports/collections.html", {"form": form, "report": report,
                                                                 "query": _query_without_format(request)},
                  status=200 if form.is_valid() else 400)


@require_GET
@requires(Perm.BILLING_REPORTS)
def report_charges_payments(request: HttpRequest) -> HttpResponse:
    params = period_data(request.GET)
    if not request.GET.get("start"):
        today = timezone.localdate()
        params["start"] = today.replace(year=today.year - 1 if today.month < 12 else today.year,
                                        month=today.month % 12 + 1, day=1).isoformat()
    form = PeriodForm(params, organization_id=request.user.organization_id, with_location=False)
    months = None
    chart = None
    if form.is_valid():
        months = selectors.charges_vs_payments(user=request.user, start=form.cleaned_data["start"],
                                               end=form.cleaned_data["end"])
        if _wants(request, "csv"):
            return csv_response("charges-and-payments.csv", ["month", "charges", "payments", "adjustments"],
                                [[m["month"].strftime("%Y-%m"), m["charges"], m["payments"], m["adjustments"]]
                                 for m in months])
        chart = {"labels": [m["month"].strftime("%b %Y") for m in months],
                 "charges": [str(m["charges"]) for m in months], "payments": [str(m["payments"]) for m in months]}
    return render(request, "billing/reports/charges_payments.html", {
        "form": form, "months": months, "chart": chart, "query": _query_without_format(request)},
        status=200 if form.is_valid() else 400)

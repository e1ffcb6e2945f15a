"""Contract pages, under /insurance/contracts/: reference schedules and payer contracts with their CSV imports
(billers read, managers change), the underpayments list (claims staff), the payer scorecard with its chart, the
negotiation packet (PDF and CSV), and the patient's cost estimate with a printable PDF (front desk)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.csv_import_views import CsvImport, imported_counts
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tables import decode_import_file

from ..forms_contracts import (
    ContractForm,
    EstimateForm,
    PacketForm,
    PeriodForm,
    RateImportConfirmForm,
    RateImportForm,
    ReferenceScheduleForm,
    UnderpaymentFilterForm,
)
from ..selectors import contracts as selectors
from ..selectors.scorecard import negotiation_packet, payer_scorecard
from ..services import contracts as services


def _query_without_format(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("page", None)
    return query.urlencode()


def _q(request: HttpRequest) -> str:
    return (request.GET.get("q") or "").strip()[:20]


def _text(value) -> str:
    return "" if value is None else str(value)


def _pdf(template: str, context: dict, stylesheet_name: str) -> bytes:
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML

    def refuse(url, *args, **kwargs):
        raise ValueError("The document loads nothing from outside.")

    html = render_to_string(template, context)
    # Styles come from a static file: the content security policy forbids inline styles in templates.
    stylesheet = CSS(filename=finders.find(stylesheet_name))
    return HTML(string=html, base_url=None, url_fetcher=refuse).write_pdf(stylesheets=[stylesheet])


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- reference schedules -----------------------------------------------------------------------------------


@require_GET
@requires(Perm.CONTRACTS_VIEW)
def reference_schedule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "insurance/contracts/reference_list.html", {
        "schedules": selectors.reference_schedule_list(user=request.user),
        "can_manage": request.user.has_perm_code(Perm.CONTRACTS_MANAGE),
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTRACTS_MANAGE)
def reference_schedule_create(request: HttpRequest) -> HttpResponse:
    form = ReferenceScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            schedule = services.reference_schedule_create(organization=request.user.organization, actor=request.user,
                                                          **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Reference schedule {schedule.name} created. Import its amounts from a CSV file.")
            return redirect("insurance:reference_schedule_import", reference_schedule_id=schedule.pk)
    return render(request, "insurance/contracts/simple_form.html",
                  {"form": form, "title": "New reference schedule", "back": "insurance:reference_schedule_list"},
                  status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.CONTRACTS_VIEW)
def reference_schedule_detail(request: HttpRequest, reference_schedule_id: int) -> HttpResponse:
    schedule = selectors.reference_schedule_get(user=request.user, schedule_id=reference_schedule_id)
    q = _q(request)
    rows = selectors.reference_rates(user=request.user, schedule=schedule, query=q)
    if request.GET.get("format") == "csv":
        return csv_response(f"reference-schedule-{schedule.pk}.csv", ["code", "modifiers", "amount"],
                            ([r.procedure_code, r.modifiers, r.amount] for r in rows.iterator()))
    page, query = page_of(request, rows)
    return render(request, "insurance/contracts/rates.html", {
        "title": schedule.name, "subtitle": f"In effect from {schedule.effective_from:%m/%d/%Y}", "page": page,
        "query": query, "q": q, "can_manage": request.user.has_perm_code(Perm.CONTRACTS_MANAGE),
        "import_url": "insurance:reference_schedule_import", "object_id": schedule.pk, "kwarg": "reference_schedule_id",
        "back": "insurance:reference_schedule_list", "amount_label": "Amount",
    })


def _rate_import(request: HttpRequest, *, run, back_url, title) -> HttpResponse:
    """Step 1: choose a file, see what every row would do (nothing saved). Step 2: confirm, and it is imported."""
    return CsvImport(
        upload_form=RateImportForm, confirm_form=RateImportConfirmForm, template="insurance/contracts/rate_import.html",
        run=run, decode=decode_import_file, done_url=back_url, done_message=imported_counts,
        context={"title": title, "back_url": back_url},
    ).response(request)


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTRACTS_MANAGE)
def reference_schedule_import(request: HttpRequest, reference_schedule_id: int) -> HttpResponse:
    schedule = selectors.reference_schedule_get(user=request.user, schedule_id=reference_schedule_id)
    return _rate_import(
        request, title=f"Import amounts · {schedule.name}",
        back_url=reverse("insurance:reference_schedule_detail", kwargs={"reference_schedule_id": schedule.pk}),
        run=lambda **kw: services.reference_schedule_import(schedule=schedule, actor=request.user, **kw))


# --- contracts ---------------------------------------------------------------------------------------------


CONTRACT_CSV_HEADER = ["payer", "payer_id", "name", "basis", "reference_schedule", "percent_of_reference",
                       "effective_from", "effective_to", "rates"]


@require_GET
@requires(Perm.CONTRACTS_VIEW)
def contract_list(request: HttpRequest) -> HttpResponse:
    contracts = selectors.contract_list(user=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("payer-contracts.csv", CONTRACT_CSV_HEADER, (
            [c.payer.name, c.payer.payer_identifier, c.name, c.get_basis_display(),
             c.reference_schedule.name if c.reference_schedule else "", _text(c.percent_of_reference),
             c.effective_from.isoformat(), c.effective_to.isoformat() if c.effective_to else "", c.rate_count]
            for c in contracts))
    page, query = page_of(request, contracts)
    return render(request, "insurance/contracts/contract_list.html", {
        "page": page, "query": query, "can_manage": request.user.has_perm_code(Perm.CONTRACTS_MANAGE),
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTRACTS_MANAGE)
def contract_create(request: HttpRequest) -> HttpResponse:
    form = ContractForm(request.POST or None, organization=request.user.organization)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.payer_contract_create(organization=request.user.organization, actor=request.user,
                                                      **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Contract {contract.name} with {contract.payer.name} saved.")
            return redirect("insurance:contract_detail", contract_id=contract.pk)
    return render(request, "insurance/contracts/simple_form.html",
                  {"form": form, "title": "New payer contract", "back": "insurance:contract_list"},
                  status=400 if form.is_bound and form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTRACTS_MANAGE)
def contract_edit(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, contract_id=contract_id)
    initial = {name: getattr(contract, name) for name in services.CONTRACT_FIELDS}
    initial["payer"] = contract.payer
    form = ContractForm(request.POST or None, initial=initial, organization=request.user.organization)
    form.fields["payer"].disabled = True
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in services.CONTRACT_FIELDS}
        try:
            services.payer_contract_update(contract=contract, actor=request.user, **changes)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Contract {contract.name} changed.")
            return redirect("insurance:contract_detail", contract_id=contract.pk)
    return render(request, "insurance/contracts/simple_form.html",
                  {"form": form, "title": f"Change contract · {contract.name}", "back": "insurance:contract_list"},
                  status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.CONTRACTS_VIEW)
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    """A contract's terms and fee list; the CSV has the import's columns, so it can be edited and imported back."""
    contract = selectors.contract_get(user=request.user, contract_id=contract_id)
    q = _q(request)
    rows = selectors.contract_rates(user=request.user, contract=contract, query=q)
    if request.GET.get("format") == "csv":
        return csv_response(f"contract-{contract.pk}.csv", ["code", "modifiers", "amount"],
                            ([r.procedure_code, r.modifiers, r.allowed_amount] for r in rows.iterator()))
    page, query = page_of(request, rows)
    ends = f"{contract.effective_to:%m/%d/%Y}" if contract.effective_to else "until further notice"
    terms = f"{contract.payer.name} · {contract.get_basis_display()} · {contract.effective_from:%m/%d/%Y} to {ends}"
    if contract.reference_schedule_id:
        terms += f" · {contract.percent_of_reference}% of {contract.reference_schedule.name}"
        if contract.basis == "fee_list":
            terms += " for codes not listed"
    return render(request, "insurance/contracts/rates.html", {
        "title": contract.name, "subtitle": terms, "contract": contract, "page": page, "query": query, "q": q,
        "can_manage": request.user.has_perm_code(Perm.CONTRACTS_MANAGE), "import_url": "insurance:contract_rates_import",
        "object_id": contract.pk, "kwarg": "contract_id", "back": "insurance:contract_list",
        "amount_label": "Allowed",
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.CONTRACTS_MANAGE)
def contract_rates_import(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(user=request.user, contract_id=contract_id)
    return _rate_import(
        request, title=f"Import the fee list · {contract.name}",
        back_url=reverse("insurance:contract_detail", kwargs={"contract_id": contract.pk}),
        run=lambda **kw: services.contract_rates_import(contract=contract, actor=request.user, **kw))


# --- underpayments -----------------------------------------------------------------------------------------


UNDERPAID_CSV_HEADER = ["payer", "claim", "patient", "service_date", "code", "modifiers", "units", "allowed",
                        "expected_allowed", "underpaid"]


@require_GET
@requires(Perm.CLAIMS_VIEW)
def underpayments(request: HttpRequest) -> HttpResponse:
    """Claim lines the payer allowed less than its contract, by payer."""
    form = UnderpaymentFilterForm(request.GET, organization=request.user.organization)
    if not form.is_valid():
        return render(request, "insurance/contracts/underpayments.html", {"form": form, "page": None}, status=400)
    data = form.cleaned_data
    rows = selectors.underpayment_list(user=request.user, payer_id=data["payer"].pk if data["payer"] else None,
                                       start=data["start"], end=data["end"])
    if request.GET.get("format") == "csv":
        lines = list(rows)
        audit_events(action="claim.exported", actor=request.user, targets=[line.claim for line in lines],
                     channel=AuditChannel.EXPORT, summary="Included in the underpayments CSV")
        return csv_response("underpayments.csv", UNDERPAID_CSV_HEADER, (
            [line.claim.payer.name, line.claim.claim_number, str(line.claim.patient), line.service_date.isoformat(),
             line.procedure_code, line.modifiers, line.units, line.allowed_amount, line.expected_allowed,
             line.underpaid_amount] for line in lines))
    page, query = page_of(request, rows)
    audit_events(action="claim.listed", actor=request.user, targets=[line.claim for line in page.object_list],
                 summary="Shown in the underpayments list")
    return render(request, "insurance/contracts/underpayments.html", {"form": form, "page": page, "query": query,
                                                                       "export": _query_without_format(request)})


# --- scorecard and packet ----------------------------------------------------------------------------------


SCORECARD_CSV_HEADER = ["payer", "claims", "billed", "allowed", "paid", "adjudicated", "denied", "denial_rate_percent",
                        "average_days_to_pay", "median_days_to_pay", "underpaid", "allowed_percent_of_reference"]


@require_GET
@requires(Perm.CONTRACTS_VIEW)
def scorecard(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return render(request, "insurance/contracts/scorecard.html", {"form": form, "card": None}, status=400)
    card = payer_scorecard(user=request.user, start=form.cleaned_data["start"], end=form.cleaned_data["end"])
    if request.GET.get("format") == "csv":
        return csv_response(f"payer-scorecard-{card.start}-{card.end}.csv", SCORECARD_CSV_HEADER, (
            [p.payer_name, p.claims, p.billed, p.allowed, p.paid, p.adjudicated, p.denied, _text(p.denial_rate),
             _text(p.average_days_to_pay), _text(p.median_days_to_pay), p.underpaid, _text(p.percent_of_reference)]
            for p in card.payers))
    return render(request, "insurance/contracts/scorecard.html", {
        "form": form, "card": card, "chart": card.chart(), "query": _query_without_format(request)})


PACKET_CSV_HEADER = ["code", "units", "reference", "payer", "contract_allowed", "lines", "average_allowed",
                     "average_paid", "percent_of_reference", "denial_rate_percent"]


@require_GET
@requires(Perm.CONTRACTS_VIEW)
def packet(request: HttpRequest) -> HttpResponse:
    """The negotiation packet: the office's top codes, payer by payer, as a page, a CSV and a PDF."""
    form = PacketForm(request.GET)
    if not form.is_valid():
        return render(request, "insurance/contracts/packet.html", {"form": form, "packet": None}, status=400)
    data = form.cleaned_data
    result = negotiation_packet(user=request.user, start=data["start"], end=data["end"], top=data["top"] or 10)
    fmt = request.GET.get("format")
    if fmt == "csv":
        return csv_response(f"negotiation-packet-{result.start}-{result.end}.csv", PACKET_CSV_HEADER, (
            [code.procedure_code, code.units, _text(code.reference), cell.payer_name, _text(cell.contract_allowed),
             cell.lines, _text(cell.average_allowed), _text(cell.average_paid), _text(cell.percent_of_reference),
             _text(cell.denial_rate)] for code in result.codes for cell in code.payers))
    if fmt == "pdf":
        audit_event(action="contracts.packet_printed", actor=request.user, target=None, channel=AuditChannel.PRINT,
                    summary=f"Negotiation packet {result.start} to {result.end}")
        data = _pdf("insurance/contracts/packet_pdf.html", {
            "packet": result, "organization": request.user.organization, "printed_at": timezone.localtime(),
        }, "insurance/contracts-pdf.css")
        return _pdf_response(data, f"negotiation-packet-{result.start}-{result.end}.pdf")
    return render(request, "insurance/contracts/packet.html", {
        "form": form, "packet": result, "query": _query_without_format(request)})


# --- cost estimate -----------------------------------------------------------------------------------------


@require_GET
@requires(Perm.COVERAGE_VIEW)
def estimate(request: HttpRequest) -> HttpResponse:
    """Pick a patient (by MRN) and codes: the estimate on the page, or (?format=pdf) printed for the patient."""
    if not request.GET:
        form = EstimateForm(initial={"on": timezone.localdate()})
        return render(request, "insurance/contracts/estimate.html", {"form": form, "estimate": None})
    form = EstimateForm(request.GET)
    patient = None
    if form.is_valid():
        patient = selectors.patient_by_mrn(user=request.user, mrn=form.cleaned_data["patient"])
        if patient is None:
            form.add_error("patient", "No patient of the practice has that MRN.")
    if patient is None:
        return render(request, "insurance/contracts/estimate.html", {"form": form, "estimate": None}, status=400)
    result = selectors.cost_estimate(patient, form.cleaned_data["codes"], form.cleaned_data["on"])
    if request.GET.get("format") == "pdf":
        audit_event(action="patient.cost_estimate_printed", actor=request.user, target=patient,
                    channel=AuditChannel.PRINT, summary=f"Cost estimate for {result.on:%m/%d/%Y} printed")
        data = _pdf("insurance/contracts/estimate_pdf.html", {
            "estimate": result, "organization": request.user.organization, "printed_at": timezone.localtime(),
        }, "insurance/contracts-pdf.css")
        return _pdf_response(data, f"cost-estimate-{result.on}.pdf")
    audit_event(action="patient.cost_estimate_viewed", actor=request.user, target=patient,
                summary=f"Cost estimate for {result.on:%m/%d/%Y}")
    return render(request, "insurance/contracts/estimate.html", {
        "form": form, "estimate": result, "query": _query_without_format(request)})

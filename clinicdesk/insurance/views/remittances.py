"""Remittance pages, under /insurance/remittances/: the list, one remittance with its claims, adjustments and
provider-level adjustments, the 835 upload, and the exceptions queue (claim payments that could not be matched)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..choices import OPEN_DENIAL_REVIEWS, DenialReview
from ..forms_remittances import ExceptionResolveForm, RemittanceUploadForm
from ..selectors import remittances as selectors
from ..services.remittances import remittance_claim_resolve, remittance_denial_decide, remittance_import

LIST_CSV_HEADER = ["imported", "payer", "check_number", "method", "payment_date", "total_paid", "claims", "exceptions",
                   "provider_adjustments", "balanced", "status"]
EXCEPTIONS_CSV_HEADER = ["imported", "check_number", "payer", "claim_number", "patient", "status_code", "charge", "paid",
                         "reason"]


def _claim_patients(claims) -> list:
    return [c.claim.patient for c in claims if c.claim_id and c.claim.patient_id]


@require_GET
@requires(Perm.REMITTANCES_POST)
def remittance_list(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.remittance_list(actor=request.user))
    if request.GET.get("format") == "csv":
        audit_event(action="remittance.exported", actor=request.user, channel=AuditChannel.EXPORT,
                    organization_id=request.user.organization_id, summary=f"Remittance list CSV, {len(rows)} rows")
        return csv_response("remittances.csv", LIST_CSV_HEADER, (
            [r.created_at.date().isoformat(), r.payer_name, r.check_number, r.payment_method,
             r.payment_date.isoformat() if r.payment_date else "", f"{r.total_paid:.2f}", r.claim_count,
             r.exception_count, f"{r.provider_adjustments_total:.2f}", "yes" if r.balanced else "no",
             r.get_status_display()] for r in rows))
    return render(request, "insurance/remittances/list.html", {"rows": rows})


@require_GET
@requires(Perm.REMITTANCES_POST)
def remittance_detail(request: HttpRequest, remittance_id: int) -> HttpResponse:
    remittance = selectors.remittance_get(actor=request.user, remittance_id=remittance_id)
    claims = list(remittance.claims.all())
    patients = _claim_patients(claims)
    audit_events(action="remittance.viewed", actor=request.user, targets=patients,
                 summary=f"Shown on ERA {remittance.check_number}")
    for rc in claims:
        rc.review_open = rc.review in OPEN_DENIAL_REVIEWS
        rc.adjustment_labels = [(selectors.adjustment_label(a), a.amount) for a in rc.adjustments.all() if a.line_id is None]
        for line in rc.lines.all():
            line.adjustment_labels = [(selectors.adjustment_label(a), a.amount) for a in line.adjustments.all()]
            line.remark_labels = selectors.remark_labels(line.remark_codes)
    return render(request, "insurance/remittances/detail.html", {
        "remittance": remittance, "claims": claims, "plb": list(remittance.provider_adjustments.all()),
        "imbalance": remittance.total_paid - (remittance.claims_total - remittance.provider_adjustments_total),
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.REMITTANCES_POST)
def remittance_upload(request: HttpRequest) -> HttpResponse:
    form = RemittanceUploadForm(request.POST or None, request.FILES or None)
    results, errors = [], []
    if request.method == "POST" and form.is_valid():
        for upload in form.cleaned_data["files"]:
            try:
                content = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                errors.append(f"{upload.name}: not a text file.")
                continue
            try:
                results.append(remittance_import(organization=request.user.organization, content=content,
                                                 file_name=upload.name, actor=request.user))
            except ValidationError as error:
                errors += [f"{upload.name}: {m}" for values in error.message_dict.values() for m in values]
        if results and not errors and len(results) == 1 and len(results[0].transactions) == 1:
            tr = results[0].transactions[0]
            messages.success(request, f"ERA {tr.check_number}: {tr.message}.")
            return redirect("insurance:remittance_detail", remittance_id=tr.remittance.pk)
    status = 400 if (request.method == "POST" and (form.errors or errors)) else 200
    return render(request, "insurance/remittances/upload.html", {"form": form, "results": results, "errors": errors},
                  status=status)


@require_GET
@requires(Perm.REMITTANCES_POST)
def exceptions_queue(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.exceptions_list(actor=request.user))
    if request.GET.get("format") == "csv":
        audit_event(action="remittance.exceptions_exported", actor=request.user, channel=AuditChannel.EXPORT,
                    organization_id=request.user.organization_id, summary=f"Exceptions CSV, {len(rows)} rows")
        return csv_response("remittance-exceptions.csv", EXCEPTIONS_CSV_HEADER, (
            [r.remittance.created_at.date().isoformat(), r.remittance.check_number, r.remittance.payer_name,
             r.claim_number, r.patient_name, r.status_code, f"{r.charge:.2f}", f"{r.paid:.2f}", r.exception_reason]
            for r in rows))
    return render(request, "insurance/remittances/exceptions.html", {"rows": rows, "form": ExceptionResolveForm()})


@require_POST
@requires(Perm.REMITTANCES_POST)
def exception_resolve(request: HttpRequest, remittance_claim_id: int) -> HttpResponse:
    rc = selectors.exception_get(actor=request.user, remittance_claim_id=remittance_claim_id)
    form = ExceptionResolveForm(request.POST)
    error = ""
    if form.is_valid():
        number = form.cleaned_data["claim_number"].strip()
        claim = selectors.claim_by_number(actor=request.user, claim_number=number) if number else None
        if number and claim is None:
            error = f"No claim {number} in the practice."
        else:
            try:
                remittance_claim_resolve(remittance_claim=rc, actor=request.user, claim=claim,
                                         note=form.cleaned_data["note"])
                messages.success(request, f"Claim payment {rc.claim_number} resolved.")
                return redirect("insurance:remittance_exceptions")
            except ValidationError as exc:
                error = "; ".join(m for values in exc.message_dict.values() for m in values)
    else:
        error = "; ".join(form.non_field_errors()) or "Check the form."
    rows = list(selectors.exceptions_list(actor=request.user))
    return render(request, "insurance/remittances/exceptions.html",
                  {"rows": rows, "form": form, "error": error, "error_row": rc.pk}, status=400)


@require_POST
@requires(Perm.REMITTANCES_POST)
def denial_decide(request: HttpRequest, remittance_claim_id: int) -> HttpResponse:
    """The biller's decision on a denied claim payment: appeal, write off, or transfer the patient's share."""
    rc = selectors.exception_get(actor=request.user, remittance_claim_id=remittance_claim_id)
    try:
        remittance_denial_decide(remittance_claim=rc, decision=request.POST.get("decision", ""), actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        rc.refresh_from_db(fields=["review"])
        messages.success(request, f"Claim {rc.claim_number}: {DenialReview(rc.review).label.lower()}.")
    return redirect("insurance:remittance_detail", remittance_id=rc.remittance_id)

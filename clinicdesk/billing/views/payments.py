"""Payments at the desk: take a payment on an account (cash, check, card typed by the desk or a saved card; oldest
charges first or chosen amounts; an explicit credit), the copay at check-in, the practice's payments list with CSV,
a payment's page with void (cash, check) and refund (PAYMENTS_ADJUST), and its receipt as PDF or e-mailed link."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.csv_import_views import CsvImport
from clinicdesk.core.models import Location
from clinicdesk.core.money import format_money
from clinicdesk.core.permissions import Perm
from clinicdesk.core.tables import decode_import_file
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalLine
from clinicdesk.patients.models import Patient
from clinicdesk.scheduling.models import Appointment

from ..choices import PaymentMethod, PaymentStatus, RefundMethod
from ..forms_payments import (
    PaymentFilterForm,
    PaymentForm,
    PaymentImportConfirmForm,
    PaymentImportForm,
    ReasonForm,
    RefundForm,
    new_idempotency_key,
)
from ..models import Payment
from ..selectors.accounts import account_get, account_summary, payment_applied, payment_get, payment_list
from ..services.accounts import account_for_patient
from ..services.card_entry import card_method_create
from ..services.copay_sources import copay_due
from ..services.payment_import import payment_batch_import
from ..services.payments import Allocation, IdempotencyConflict, payment_post, payment_void, refund_post
from ..services.receipts import receipt_email, receipt_pdf

PAGE_SIZE = 50


def _copay_due(account, public_id: str):
    """The copay the visit's coverage says is due (see services.copay_sources), to prefill the copay form."""
    try:
        visit = _appointment(account, public_id)
    except ValidationError:
        return None
    return copay_due(visit.patient, visit) if visit is not None else None


def _appointment(account, public_id: str) -> Appointment | None:
    if not public_id:
        return None
    appointment = (Appointment.objects.select_related("patient", "location")
                   .filter(public_id=public_id, organization_id=account.organization_id,
                           patient__billing_membership__account=account).first())
    if appointment is None:
        raise ValidationError({"appointment": "That visit is not one of this account's patients'."})
    return appointment


def _member(account, public_id: str) -> Patient | None:
    if not public_id:
        return None
    patient = Patient.objects.filter(public_id=public_id, billing_membership__account=account).first()
    if patient is None:
        raise ValidationError({"patient": "Choose a patient on this account."})
    return patient


def _existing(account, key: str) -> Payment | None:
    return Payment.objects.filter(organization_id=account.organization_id, idempotency_key=key.strip()).first()


def _take(request: HttpRequest, account, form: PaymentForm) -> Payment:
    """Post the form's payment; a typed card becomes a processor payment method first (never stored)."""
    data = form.cleaned_data
    appointment = _appointment(account, data.get("appointment") or "")
    patient = _member(account, data.get("patient") or "") or (appointment.patient if appointment else None)
    method_id = ""
    if data["method"] == PaymentMethod.CARD:
        method_id = data.get("payment_method_id", "").strip()
        if not method_id:
            method_id = card_method_create(number=data["card_number"], expiry=data["card_expiry"],
                                           cvc=data["card_cvc"]).id
    chosen = form.chosen_amounts()
    allocations = None
    if data["allocation"] == "chosen":
        if not chosen:
            raise ValidationError({"allocation": "Enter an amount on at least one charge, or apply to the oldest first."})
        allocations = [Allocation(item=item, amount=text) for item, text in chosen]
    return payment_post(
        account=account, amount=data["amount"], method=data["method"], idempotency_key=data["idempotency_key"],
        actor=request.user, patient=patient, allocations=allocations, allow_credit=data.get("allow_credit", False),
        check_number=data.get("check_number", "") if data["method"] == PaymentMethod.CHECK else "",
        card_payment_method_id=method_id, is_copay=bool(data.get("is_copay")), appointment=appointment,
        memo=data.get("memo", ""), location=data.get("location") or (appointment.location if appointment else None),
    )


def _desk_locations(user) -> list[Location]:
    """The active locations where this user may take money (all of the organization's when not limited)."""
    rows = Location.objects.filter(organization_id=user.organization_id, is_active=True).order_by("name")
    allowed = user.allowed_location_ids()
    return [loc for loc in rows if allowed is None or loc.pk in allowed]


def _default_location(user, locations: list[Location], appointment_id: str) -> str:
    """Where the form starts: the visit's location for a copay, else the desk's only location."""
    if appointment_id:
        found = (Appointment.objects.filter(public_id=appointment_id, organization_id=user.organization_id)
                 .values_list("location_id", flat=True).first())
        if found and any(loc.pk == found for loc in locations):
            return str(found)
    return str(locations[0].pk) if len(locations) == 1 else ""


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE)
def payment_take(request: HttpRequest, account_public_id: str) -> HttpResponse:
    """The take-payment form. ?copay=1&appointment=<id> opens it for a copay at check-in (kept as a credit until
    the visit's charges post). The hidden idempotency key was minted when the form was shown: a double submit
    replays the first payment."""
    account = account_get(actor=request.user, public_id=account_public_id)
    summary = account_summary(actor=request.user, account=account, audit=False)
    copay = request.GET.get("copay") == "1"
    locations = _desk_locations(request.user)
    initial = {"idempotency_key": new_idempotency_key(), "is_copay": copay,
               "appointment": request.GET.get("appointment", "")[:20]}
    initial["location"] = _default_location(request.user, locations, initial["appointment"])
    if not copay and summary.patient_owes > 0:
        initial["amount"] = str(summary.patient_owes)
    elif copay and (due := _copay_due(account, initial["appointment"])) is not None:
        initial["amount"] = str(due)
    form = PaymentForm(request.POST or None, initial=initial, charges=summary.open_charges, members=summary.members,
                       locations=locations)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            key = form.cleaned_data["idempotency_key"]
            earlier = _existing(account, key)
            if earlier is not None and earlier.status != PaymentStatus.DECLINED:
                messages.info(request, "This payment was already taken; here it is.")
                return redirect("billing:payment_detail", earlier.public_id)
            try:
                payment = _take(request, account, form)
            except IdempotencyConflict as exc:
                earlier = _existing(account, key)
                if earlier is not None and earlier.status == PaymentStatus.POSTED:
                    return redirect("billing:payment_detail", earlier.public_id)
                form.add_service_errors(exc)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                if payment.status == PaymentStatus.DECLINED:
                    form.add_error("card_number", f"The card was declined: {payment.decline_reason}")
                    data = form.data.copy()
                    data["idempotency_key"] = new_idempotency_key()  # the next card is a new attempt
                    data["card_number"] = data["card_cvc"] = ""
                    errors = form.errors
                    form = PaymentForm(data, charges=summary.open_charges, members=summary.members,
                                       locations=locations)
                    form._errors = errors
                else:
                    what = "Copay" if payment.is_copay else "Payment"
                    messages.success(request, f"{what} of {format_money(payment.amount)} posted.")
                    return redirect("billing:payment_detail", payment.public_id)
    return render(request, "billing/payments/take.html",
                  {"account": account, "summary": summary, "form": form, "copay": copay}, status=status)


@require_POST
@requires(Perm.SCHEDULE_VIEW, Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE)
def copay_start(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """From the check-in page: open the patient's account if need be, then the payment form for the copay."""
    appointment = (Appointment.objects.select_related("patient")
                   .filter(public_id=appointment_id, organization_id=request.user.organization_id).first())
    if appointment is None:
        raise Http404("No such appointment.")
    with transaction.atomic():
        account = account_for_patient(patient=appointment.patient, actor=request.user)
    url = reverse("billing:payment_take", args=[account.public_id])
    return redirect(f"{url}?copay=1&appointment={appointment.public_id}")


def copay_panel(request: HttpRequest, patient: Patient, appointment: Appointment) -> dict:
    """The check-in page's Copay panel: copays already taken for this visit and the button to take one."""
    user = request.user
    if not user.has_perm_code(Perm.BILLING_VIEW):
        return {"hidden": True}
    taken = list(Payment.objects.filter(organization_id=user.organization_id, appointment=appointment, is_copay=True,
                                        status=PaymentStatus.POSTED).order_by("id"))
    return {"taken": taken, "appointment": appointment, "can_take": user.has_perm_code(Perm.PAYMENTS_TAKE),
            "due": copay_due(patient, appointment)}


def _filters(form: PaymentFilterForm) -> dict:
    data = form.cleaned_data
    return {"date_from": data.get("date_from"), "date_to": data.get("date_to"), "method": data.get("method", ""),
            "status": data.get("status", ""), "copay": {"yes": True, "no": False}.get(data.get("copay", ""))}


@require_GET
@requires(Perm.BILLING_VIEW)
def payments(request: HttpRequest) -> HttpResponse:
    """The practice's payments, newest first, filtered by date, method, status and copay."""
    form = PaymentFilterForm(request.GET or None)
    rows, error = Payment.objects.none(), ""
    if not form.is_bound or form.is_valid():
        try:
            rows = payment_list(actor=request.user, **(_filters(form) if form.is_bound else {}))
        except ValidationError as exc:
            error = " ".join(exc.messages)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "billing/payments/list.html",
                  {"form": form, "page": page, "error": error, "query": query.urlencode(),
                   "can_import": request.user.has_perm_code(Perm.PAYMENTS_TAKE)},
                  status=400 if error or (form.is_bound and form.errors) else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE)
def payments_import(request: HttpRequest) -> HttpResponse:
    """A lockbox or batch file of checks and cash. Step 1: choose the file and see what each payment would do (the
    batch is posted and rolled back). Step 2: confirm, and it is posted."""
    locations = {str(loc.pk): loc for loc in _desk_locations(request.user)}
    return CsvImport(
        upload_form=partial(PaymentImportForm, locations=locations.values()), confirm_form=PaymentImportConfirmForm,
        template="billing/payments/import.html", carry=("location",),
        run=lambda location="", **kw: payment_batch_import(organization=request.user.organization, actor=request.user,
                                                           location=locations.get(location or ""), **kw),
        decode=decode_import_file, done_url=reverse("billing:payments"), done_message=_payments_imported,
    ).response(request)


def _payments_imported(result, file_name: str) -> str:
    counts = result.counts
    return (f"Posted {file_name or 'the file'}: {counts['new']} payment{'s' if counts['new'] != 1 else ''} of "
            f"{format_money(result.total)}; {counts['unchanged']} were posted before.")


@require_GET
@requires(Perm.BILLING_VIEW)
def payments_export(request: HttpRequest) -> HttpResponse:
    form = PaymentFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponse("Check the filters.", status=400, content_type="text/plain; charset=utf-8")
    try:
        rows = list(payment_list(actor=request.user, **(_filters(form) if form.is_bound else {}))[:10000])
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    audit_events(targets=rows, action="payment.exported", actor=request.user, channel=AuditChannel.EXPORT,
                 summary="Payment listed in a CSV export")
    header = ["id", "received_on", "account", "guarantor", "method", "status", "amount", "check_number", "card",
              "copay", "taken_by"]
    return csv_response("payments.csv", header, (
        [p.public_id, p.received_on.isoformat(), p.account.number, p.account.guarantor_name, p.method, p.status,
         str(p.amount), p.check_number, f"{p.card_brand} {p.card_last4}".strip(), "yes" if p.is_copay else "",
         p.taken_by.get_username() if p.taken_by else ""] for p in rows))


def _credit_patient(payment: Payment):
    """Whose credit a refund of this payment comes from: the patient its unapplied part was held for."""
    line = (JournalLine.objects.filter(entry_id=payment.entry_id, account__role=AccountRole.PATIENT_CREDIT)
            .select_related("patient").first()) if payment.entry_id else None
    if line is not None and line.patient_id:
        return line.patient
    return payment.patient or payment.account.guarantor_patient or (
        payment.account.members.select_related("patient").first().patient if payment.account.members.exists() else None)


@require_GET
@requires(Perm.BILLING_VIEW)
def payment_detail(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = payment_get(actor=request.user, public_id=payment_id)
    audit_event(action="payment.viewed", actor=request.user, target=payment,
                patient=payment.patient or payment.account.guarantor_patient, summary="Payment opened")
    can_adjust = request.user.has_perm_code(Perm.PAYMENTS_ADJUST)
    posted = payment.status == PaymentStatus.POSTED
    card = payment.method == PaymentMethod.CARD
    return render(request, "billing/payments/detail.html", {
        "payment": payment, "applied": payment_applied(payment=payment), "refunds": list(payment.refunds.all()),
        "can_adjust": can_adjust, "can_take": request.user.has_perm_code(Perm.PAYMENTS_TAKE),
        "void_form": ReasonForm() if can_adjust and posted and not card else None,
        "refund_form": RefundForm(card=card, initial={"idempotency_key": new_idempotency_key(), "amount": str(payment.amount)})
        if can_adjust and posted else None,
    })


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def payment_void_view(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = payment_get(actor=request.user, public_id=payment_id)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError({"reason": "Say why the payment is voided."})
        payment_void(payment=payment, reason=form.cleaned_data["reason"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Payment voided; its entry was reversed.")
    return redirect("billing:payment_detail", payment.public_id)


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_ADJUST)
def payment_refund_view(request: HttpRequest, payment_id: str) -> HttpResponse:
    """Refund from the credit the payment left: back to the card for a card payment (through the processor),
    cash from the drawer or a check to mail otherwise."""
    payment = payment_get(actor=request.user, public_id=payment_id)
    card = payment.method == PaymentMethod.CARD
    form = RefundForm(request.POST, card=card)
    try:
        if not form.is_valid():
            raise ValidationError({f: list(e) for f, e in form.errors.items()})
        data = form.cleaned_data
        patient = _credit_patient(payment)
        if patient is None:
            raise ValidationError({"payment": "The payment names no patient whose credit could be refunded."})
        refund = refund_post(patient=patient, amount=data["amount"], method=data["method"], reason=data["reason"],
                             idempotency_key=data["idempotency_key"], actor=request.user,
                             payment=payment if data["method"] == RefundMethod.CARD else None)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Refund of {format_money(refund.amount)} posted ({refund.get_status_display().lower()}).")
    return redirect("billing:payment_detail", payment.public_id)


@require_GET
@requires(Perm.BILLING_VIEW)
def payment_receipt(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = payment_get(actor=request.user, public_id=payment_id)
    try:
        data = receipt_pdf(actor=request.user, payment=payment)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{payment.public_id}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@requires(Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE)
def payment_receipt_email(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = payment_get(actor=request.user, public_id=payment_id)
    try:
        message = receipt_email(actor=request.user, payment=payment, site_url=request.build_absolute_uri("/"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Receipt link e-mailed to {message.to_address} ({message.get_state_display().lower()}).")
    return redirect("billing:payment_detail", payment.public_id)


"""The patient's side of the pay link (a communications link, action "pay") and of the e-mailed receipt link.

The pay link asks the guarantor's date of birth, then shows the balance and takes a card payment through the
processor, posted with `payment_post` and an idempotency key minted when the card form was shown (a double submit
or a reload replays, never charges twice); a receipt is shown after. Both pages are throttled per address (on top
of the link page's own limit), audited, never cached."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from clinicdesk.core.access import public
from clinicdesk.core.middleware import client_ip
from clinicdesk.scheduling import throttle

from ..choices import PaymentMethod, PaymentStatus
from ..forms_payments import PayLinkForm, new_idempotency_key
from ..selectors.accounts import payment_applied
from ..services.card_entry import card_method_create
from ..services.pay_links import pay_link_account, pay_link_verify
from ..services.payments import IdempotencyConflict, payment_post
from ..services.receipts import receipt_context, receipt_from_token, receipt_pdf_bytes

SESSION_KEY = "billing.pay_link_verified"


def _birth_date(request: HttpRequest) -> date | None:
    try:
        return date.fromisoformat(request.POST.get("date_of_birth", "").strip())
    except ValueError:
        return None


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _throttled(request: HttpRequest) -> HttpResponse | None:
    try:
        throttle.hit("verify_ip", client_ip(request))
    except throttle.Throttled as exc:
        response = render(request, "communications/link_problem.html",
                          {"problem": "Too many attempts from this connection. Please try again later, or call the office."},
                          status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return None


def _balance_page(request, link, account, *, form=None, problem="", status=200) -> HttpResponse:
    from ..selectors.accounts import account_balance

    balance = account_balance(account=account)
    if form is None:
        form = PayLinkForm(initial={"idempotency_key": new_idempotency_key(),
                                    "amount": str(balance) if balance > 0 else ""})
    return render(request, "billing/pay_link/pay.html", {
        "account": account, "practice": account.organization.name, "balance": balance, "form": form,
        "problem": problem}, status=status)


def pay_link_handler(request: HttpRequest, link, token: str) -> HttpResponse:
    """GET asks for the date of birth; POST step=dob checks it; POST step=pay takes the card payment."""
    try:
        account = pay_link_account(link)
    except ValidationError:
        return render(request, "communications/link_problem.html", {"problem": "This link is not valid."}, status=404)
    verified = request.session.get(SESSION_KEY) == link.pk
    context = {"practice": account.organization.name, "problem": ""}
    if request.method != "POST":
        if verified:
            return _balance_page(request, link, account)
        return render(request, "billing/pay_link/verify.html", context)
    if request.POST.get("step") == "dob" or not verified:
        try:
            pay_link_verify(link=link, date_of_birth=_birth_date(request))
        except ValidationError as exc:
            errors = exc.message_dict
            if "token" in errors:
                return render(request, "communications/link_problem.html", {"problem": errors["token"][0]}, status=410)
            context["problem"] = errors.get("date_of_birth", ["Check the date of birth."])[0]
            return render(request, "billing/pay_link/verify.html", context, status=400)
        request.session.cycle_key()
        request.session[SESSION_KEY] = link.pk
        return _balance_page(request, link, account)
    form = PayLinkForm(request.POST)
    if not form.is_valid():
        return _balance_page(request, link, account, form=form, status=400)
    data = form.cleaned_data
    try:
        method = card_method_create(number=data["card_number"], expiry=data["card_expiry"], cvc=data["card_cvc"])
        payment = payment_post(account=account, amount=data["amount"], method=PaymentMethod.CARD,
                               idempotency_key=f"paylink:{data['idempotency_key']}", actor=None,
                               card_payment_method_id=method.id, memo="Paid online by pay link")
    except IdempotencyConflict:
        from ..models import Payment

        payment = Payment.objects.filter(organization_id=account.organization_id,
                                         idempotency_key=f"paylink:{data['idempotency_key']}").first()
        if payment is None or payment.status != PaymentStatus.POSTED:
            return _balance_page(request, link, account, problem="Please try again.", status=409)
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _balance_page(request, link, account, form=form, status=400)
    if payment.status == PaymentStatus.DECLINED:
        return _balance_page(request, link, account, problem=f"The card was declined: {payment.decline_reason}. "
                                                             "Please try another card.", status=402)
    context = receipt_context(payment)
    context["applied"] = payment_applied(payment=payment)
    return render(request, "billing/pay_link/receipt.html", context)


@public
@require_http_methods(["GET", "POST"])
def receipt_link(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mailed receipt link: GET asks for the date of birth; POST checks it and serves the PDF."""
    limited = _throttled(request)
    if limited is not None:
        return _no_store(limited)
    try:
        payment = receipt_from_token(token)
    except ValidationError as exc:
        return _no_store(render(request, "communications/link_problem.html",
                                {"problem": f"{exc.message_dict['token'][0]} Please call the office if you need help."},
                                status=410))
    practice = payment.account.organization.name
    if request.method == "POST":
        from clinicdesk.core.audit import audit_event
        from clinicdesk.core.choices import AuditOutcome

        person = payment.patient or payment.account.guarantor_patient
        if person is None or _birth_date(request) != person.date_of_birth:
            audit_event(action="payment.receipt_link_refused", target=payment, patient=person,
                        organization_id=payment.organization_id, outcome=AuditOutcome.DENIED,
                        summary="Wrong date of birth on a receipt link", actor_label="patient (receipt link)")
            return _no_store(render(request, "billing/pay_link/receipt_verify.html",
                                    {"practice": practice, "problem": "That date of birth does not match our records."},
                                    status=400))
        audit_event(action="payment.receipt_viewed_by_patient", target=payment, patient=person,
                    organization_id=payment.organization_id, summary="Receipt opened by secure link",
                    actor_label="patient (receipt link)")
        response = HttpResponse(receipt_pdf_bytes(payment), content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="receipt.pdf"'
        return _no_store(response)
    return _no_store(render(request, "billing/pay_link/receipt_verify.html", {"practice": practice, "problem": ""}))


def register_pay_link() -> None:
    """Called from BillingConfig.ready: links of action "pay" (`links.pay_url` in balance reminders) open here."""
    from clinicdesk.communications.views.links import register_link_handler

    from ..choices import PAY_LINK_ACTION

    register_link_handler(PAY_LINK_ACTION, pay_link_handler)

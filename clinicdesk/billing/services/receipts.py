"""Payment receipts: the PDF (WeasyPrint) and the e-mail that carries a secure link to it, never the PDF itself,
the way letters are e-mailed. The link is signed and expires; it asks for the date of birth before it opens."""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Location
from clinicdesk.core.money import format_money

from ..choices import PaymentStatus
from ..models import Payment

RECEIPT_LINK_DAYS = 14
RECEIPT_SALT = "billing.receipt-link"


def receipt_context(payment: Payment) -> dict:
    """What a receipt shows: the practice and location, the account, the payment and what it paid, and the
    balance left on the account."""
    from ..selectors.accounts import account_balance, payment_applied

    location = payment.location or Location.objects.filter(organization_id=payment.organization_id).order_by("pk").first()
    account = payment.account
    return {
        "payment": payment, "account": account, "organization": account.organization, "location": location,
        "patient": payment.patient or account.guarantor_patient, "applied": payment_applied(payment=payment),
        "remaining": account_balance(account=account), "printed_at": timezone.now(),
    }


def receipt_pdf_bytes(payment: Payment) -> bytes:
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML  # loading Pango costs a moment; only receipts need it here

    html = render_to_string("billing/payments/receipt_pdf.html", receipt_context(payment))
    # The page's styles live in a static file (the content security policy forbids inline styles in templates).
    stylesheet = CSS(filename=finders.find("billing/receipt-pdf.css"))
    return HTML(string=html, base_url=None, url_fetcher=_refuse_fetch).write_pdf(stylesheets=[stylesheet])


def _refuse_fetch(url: str, *args, **kwargs):
    raise ValueError(f"Receipts load nothing from outside: {url}")


def receipt_pdf(*, actor, payment: Payment) -> bytes:
    """The receipt of a posted payment as a PDF; printing it is audited as a read of the patient's account."""
    if payment.status == PaymentStatus.DECLINED:
        raise ValidationError({"status": "A declined card payment has no receipt."})
    data = receipt_pdf_bytes(payment)
    audit_event(action="payment.receipt_printed", actor=actor, target=payment,
                patient=payment.patient or payment.account.guarantor_patient,
                summary=f"Receipt for {format_money(payment.amount)} printed")
    return data


def receipt_token(payment: Payment) -> str:
    return signing.dumps({"p": payment.public_id}, salt=RECEIPT_SALT, compress=True)


def receipt_from_token(token: str) -> Payment:
    """The payment of a receipt link, or a ValidationError naming `token` (expired or not valid)."""
    try:
        data = signing.loads(token, salt=RECEIPT_SALT, max_age=timedelta(days=RECEIPT_LINK_DAYS))
    except signing.SignatureExpired:
        raise ValidationError({"token": "This link has expired."}) from None
    except signing.BadSignature:
        raise ValidationError({"token": "This link is not valid."}) from None
    payment = Payment.objects.select_related("account", "account__organization", "patient", "location").filter(
        public_id=data.get("p", "")).first()
    if payment is None or payment.status == PaymentStatus.DECLINED:
        raise ValidationError({"token": "This link is not valid."})
    return payment


@transaction.atomic
def receipt_email(*, actor, payment: Payment, site_url: str = "", to_address: str = ""):
    """E-mail the payer a secure link to the receipt (through the outbox, consent and all); the link asks for the
    date of birth and works for 14 days. Sending it again makes a new message."""
    from clinicdesk.communications.choices import MessageChannel, MessagePurpose
    from clinicdesk.communications.models import Message
    from clinicdesk.communications.services.outbox import message_queue

    if payment.status == PaymentStatus.DECLINED:
        raise ValidationError({"status": "A declined card payment has no receipt."})
    account = payment.account
    patient = payment.patient or account.guarantor_patient
    address = (to_address or account.email or (patient.email if patient else "")).strip()
    if not address:
        raise ValidationError({"email": "There is no e-mail address on the account; print the receipt instead."})
    url = site_url.rstrip("/") + reverse("billing_public:receipt_link", args=[receipt_token(payment)])
    practice = account.organization.name
    body = (f"Thank you for your payment of {format_money(payment.amount)} to {practice} on "
            f"{payment.received_on:%m/%d/%Y}.\n\nYour receipt: {url}\n\nTo keep it private, the link asks for the "
            f"date of birth on file and works for {RECEIPT_LINK_DAYS} days.")
    html = render_to_string("billing/payments/receipt_email.html",
                            {"payment": payment, "practice": practice, "url": url, "days": RECEIPT_LINK_DAYS})
    sent_before = Message.objects.filter(idempotency_key__startswith=f"receipt:{payment.public_id}:").count()
    message = message_queue(
        organization=account.organization, channel=MessageChannel.EMAIL, purpose=MessagePurpose.GENERAL,
        patient=patient, to_address=address, subject=f"Your payment receipt from {practice}", body=body,
        html_body=html, location=payment.location, actor=actor,
        idempotency_key=f"receipt:{payment.public_id}:{sent_before + 1}",
    )
    audit_event(action="payment.receipt_emailed", actor=actor, target=payment, patient=patient,
                summary=f"Secure link to the receipt e-mailed ({message.get_state_display().lower()})")
    return message

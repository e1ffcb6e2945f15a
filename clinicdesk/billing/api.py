"""API routes of patient accounts and payments (/api/v1/billing). Amounts are strings ("25.00"): a JSON number is
refused with 400 naming the field. Every payment post carries an `Idempotency-Key` header: the same key with the
same body answers exactly as the first time (status and body); the same key with another body is 409 naming
idempotency_key. Identifiers are strings."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Header, Router, Schema, Status
from pydantic import StrictBool, StrictStr

from clinicdesk.core.api_auth import api_requires
from clinicdesk.core.api_schemas import DetailOut, ErrorsOut, Strict
from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import Location
from clinicdesk.core.permissions import Perm
from clinicdesk.ledger.models import OpenItem
from clinicdesk.patients.models import Patient

from .choices import PaymentStatus
from .models import Payment
from .selectors.accounts import account_get, account_summary, payment_applied, payment_get
from .services.payment_import import payment_rows_post
from .services.payments import Allocation, IdempotencyConflict, payment_post

router = Router(tags=["billing"])


class AllocationIn(Strict):
    item: StrictStr
    amount: StrictStr


class PaymentIn(Strict):
    account: StrictStr
    amount: StrictStr
    method: StrictStr
    check_number: StrictStr = ""
    payment_method_id: StrictStr = ""
    allocations: list[AllocationIn] | None = None
    allow_credit: StrictBool = False
    patient: StrictStr | None = None
    memo: StrictStr = ""
    is_copay: StrictBool = False
    location: StrictStr | None = None


class PaidLineOut(Schema):
    service_date: str | None
    description: str
    amount: str


class PaymentOut(Schema):
    id: str
    account: str
    patient: str | None
    amount: str
    method: str
    status: str
    received_on: str
    check_number: str
    card_brand: str
    card_last4: str
    decline_reason: str
    is_copay: bool
    location: str | None = None
    applied: list[PaidLineOut]


class OpenChargeOut(Schema):
    item: str
    patient: str
    service_date: str
    description: str
    balance: str


class AccountOut(Schema):
    id: str
    number: str
    guarantor_name: str
    balance: str
    credit: str
    patient_owes: str
    insurance_pending: str
    members: list[str]
    open_charges: list[OpenChargeOut]


def _payment(payment: Payment) -> dict:
    """A payment as the API shows it: only what does not change later, so a replay is byte-identical."""
    return {
        "id": payment.public_id, "account": payment.account.public_id,
        "patient": payment.patient.public_id if payment.patient_id else None, "amount": str(payment.amount),
        "method": payment.method, "status": payment.status if payment.status != PaymentStatus.VOIDED else PaymentStatus.POSTED,
        "received_on": payment.received_on.isoformat(), "check_number": payment.check_number,
        "card_brand": payment.card_brand, "card_last4": payment.card_last4, "decline_reason": payment.decline_reason,
        "is_copay": payment.is_copay, "location": payment.location.code if payment.location_id else None,
        "applied": [{"service_date": p.service_date.isoformat() if p.service_date else None, "description": p.description,
                     "amount": str(p.amount)} for p in payment_applied(payment=payment)],
    }


def _location(user, code: str | None) -> Location | None:
    """The office where cash or a check was taken, by its code, among the locations this user works at."""
    if not code:
        return None
    location = Location.objects.filter(organization_id=user.organization_id, code=code, is_active=True).first()
    allowed = user.allowed_location_ids()
    if location is None or (allowed is not None and location.pk not in allowed):
        raise ValidationError({"location": f"'{code}' is not a location where you take payments."})
    return location


def _item(account, value: str) -> OpenItem:
    item = OpenItem.objects.filter(pk=int(value) if value.isdigit() else -1, organization_id=account.organization_id,
                                   patient__billing_membership__account=account).first()
    if item is None:
        raise ValidationError({"allocations": f"'{value}' is not an open charge on this account."})
    return item


@router.post("/payments", response={201: PaymentOut, 400: ErrorsOut, 402: PaymentOut, 404: DetailOut, 409: ErrorsOut},
             summary="Take a payment on an account (Idempotency-Key header required)")
@api_requires(Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE)
def post_payment(request: HttpRequest, payload: PaymentIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """`amount` as a string; `method` cash, check or card (card needs `payment_method_id`, a processor payment
    method); `allocations` [{"item", "amount"}] to choose the charges, else oldest first; `allow_credit` to keep
    what is over the balance as a credit (otherwise refused). A declined card answers 402 with the payment."""
    key = (idempotency_key or "").strip()
    if not key:
        raise ValidationError({"idempotency_key": "Send an Idempotency-Key header (1 to 100 characters)."})
    try:
        account = account_get(actor=request.user, public_id=payload.account)
    except Http404:
        raise ValidationError({"account": "No such account."}) from None
    patient = None
    if payload.patient:
        patient = Patient.objects.filter(public_id=payload.patient, organization_id=account.organization_id).first()
        if patient is None:
            raise ValidationError({"patient": "No such patient."})
    allocations = None
    if payload.allocations is not None:
        allocations = [Allocation(item=_item(account, a.item), amount=a.amount) for a in payload.allocations]
    location = _location(request.user, payload.location)
    try:
        payment = payment_post(
            account=account, amount=payload.amount, method=payload.method, idempotency_key=key, actor=request.user,
            patient=patient, allocations=allocations, allow_credit=payload.allow_credit,
            check_number=payload.check_number, card_payment_method_id=payload.payment_method_id,
            is_copay=payload.is_copay, memo=payload.memo, location=location,
        )
    except IdempotencyConflict as exc:
        return Status(409, {"errors": exc.message_dict})
    body = _payment(payment)
    return Status(402 if payment.status == PaymentStatus.DECLINED else 201, body)


class BatchPaymentIn(Strict):
    reference: StrictStr
    account: StrictStr
    amount: StrictStr
    method: StrictStr
    check_number: StrictStr = ""
    received_on: StrictStr = ""
    patient: StrictStr = ""
    memo: StrictStr = ""
    allow_credit: StrictBool = False


class PaymentBatchIn(Strict):
    payments: list[BatchPaymentIn]
    location: StrictStr | None = None
    preview: StrictBool = False


class BatchRowOut(Schema):
    item: int
    reference: str
    outcome: str
    message: str


class PaymentBatchOut(Schema):
    posted: bool
    total: str
    rows: list[BatchRowOut]


@router.post("/payment-batches", response={200: PaymentBatchOut, 201: PaymentBatchOut, 400: PaymentBatchOut | ErrorsOut},
             summary="Post a lockbox or batch of checks and cash (all or nothing)")
@api_requires(Perm.BILLING_VIEW, Perm.PAYMENTS_TAKE)
def post_payment_batch(request: HttpRequest, payload: PaymentBatchIn):
    """Each item's `reference` (the lockbox item or receipt number) makes it idempotent: the same batch again posts
    nothing twice (outcome `unchanged`). One bad item and nothing is posted: 400 with every item's outcome and the
    message naming the field. `preview` checks and settles the batch, then rolls it back (200). `location` (a
    location code) is where the batch's cash was taken."""
    location = _location(request.user, payload.location)
    rows = [{**item.model_dump(), "allow_credit": "yes" if item.allow_credit else ""} for item in payload.payments]
    if not rows:
        raise ValidationError({"payments": "Send at least one payment."})
    result = payment_rows_post(organization=request.user.organization, rows=rows, actor=request.user,
                               dry_run=payload.preview, location=location, first_line=1)
    body = {"posted": result.saved, "total": str(result.total),
            "rows": [{"item": r.line, "reference": r.reference, "outcome": r.outcome, "message": r.message}
                     for r in result.rows]}
    if result.errors:
        return Status(400, body)
    return Status(201 if result.saved else 200, body)


@router.get("/payments/{payment_id}", response={200: PaymentOut, 404: DetailOut}, summary="One payment")
@api_requires(Perm.BILLING_VIEW)
def get_payment(request: HttpRequest, payment_id: str):
    payment = payment_get(actor=request.user, public_id=payment_id)
    audit_event(action="payment.viewed", actor=request.user, target=payment, channel=AuditChannel.API,
                patient=payment.patient or payment.account.guarantor_patient, summary="Payment read through the API")
    body = _payment(payment)
    body["status"] = payment.status
    return body


@router.get("/accounts/{account_public_id}", response={200: AccountOut, 404: DetailOut}, summary="An account: balance, open charges")
@api_requires(Perm.BILLING_VIEW)
def get_account(request: HttpRequest, account_public_id: str):
    account = account_get(actor=request.user, public_id=account_public_id)
    summary = account_summary(actor=request.user, account=account)
    return {
        "id": account.public_id, "number": account.number, "guarantor_name": account.guarantor_name,
        "balance": str(summary.balance), "credit": str(summary.credit), "patient_owes": str(summary.patient_owes),
        "insurance_pending": str(summary.insurance_pending), "members": [m.patient.public_id for m in summary.members],
        "open_charges": [{"item": str(c.item.pk), "patient": c.item.patient.public_id,
                          "service_date": c.item.service_date.isoformat(), "description": c.item.description,
                          "balance": str(c.balance)} for c in summary.open_charges],
    }

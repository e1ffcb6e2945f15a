"""The local processor's own writes: cards, payment intents (confirm, capture, cancel), refunds, each answered
with Stripe's object or error, and the first answer to an idempotency key kept and replayed.

Each operation returns (HTTP status, body) once it has acted (a decline has acted: the intent and its failed
charge exist and the answer is kept for the key), or raises `ApiError` for a request refused before anything
happened, which is not kept: Stripe, too, saves no idempotent result for a request that failed validation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..cards import CaptureMethod, CardIntentStatus, CardRefundStatus
from ..cards.webhooks import (
    CHARGE_REFUNDED,
    PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED,
    PAYMENT_INTENT_CANCELED,
    PAYMENT_INTENT_PAYMENT_FAILED,
    PAYMENT_INTENT_SUCCEEDED,
)
from . import events, payouts, testcards
from .models import (
    ProcessorIdempotencyKey,
    ProcessorPaymentIntent,
    ProcessorPaymentMethod,
    ProcessorRefund,
    TestCardOutcome,
)

MIN_AMOUNT = 50  # Stripe's minimum charge in USD: $0.50
MAX_AMOUNT = 99_999_999  # Stripe's maximum: $999,999.99
CANCELABLE = (CardIntentStatus.REQUIRES_PAYMENT_METHOD, CardIntentStatus.REQUIRES_CAPTURE,
              CardIntentStatus.REQUIRES_CONFIRMATION, CardIntentStatus.REQUIRES_ACTION, CardIntentStatus.PROCESSING)


class ApiError(Exception):
    """A Stripe error object: HTTP status, type, code, message, and the param it is about."""

    def __init__(self, status: int, type_: str, message: str, *, code: str = "", param: str = "",
                 decline_code: str = "", extra: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"type": type_, "message": message}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param
        if decline_code:
            self.body["decline_code"] = decline_code
        self.body.update(extra or {})

    def response(self) -> tuple[int, dict]:
        return self.status, {"error": self.body}


def invalid(message: str, *, code: str = "", param: str = "", status: int = 400) -> ApiError:
    return ApiError(status, "invalid_request_error", message, code=code, param=param)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')[:24]}"


def _now() -> int:
    return int(timezone.now().timestamp())


# --- idempotency ------------------------------------------------------------------------------------------------


def request_fingerprint(method: str, path: str, params: list[tuple[str, list[str]]]) -> str:
    """A keyed hash of the request: the same key may only be used again for the same endpoint and parameters.
    Keyed (HMAC under the processor's secret), because a card's parameters include its number, and a plain hash
    of a card number can be reversed by trying every number."""
    canonical = json.dumps([method, path, sorted((name, sorted(values)) for name, values in params)])
    return hmac.new(settings.CARD_PROCESSOR_SECRET_KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def idempotent(key: str, fingerprint: str, operation: Callable[[], tuple[int, dict]]) -> tuple[int, dict, bool]:
    """Run `operation` once per key: (status, body, replayed). The key row, the objects and the answer commit
    together; a concurrent request with the same key blocks on the key's unique index until the first commits,
    then replays its answer. A refused request (ApiError) leaves no key behind."""
    if len(key) > 255:
        raise invalid("Invalid idempotency key: it may be at most 255 characters long.")
    with transaction.atomic():
        record = ProcessorIdempotencyKey(key=key, request_fingerprint=fingerprint, response_status=0, response_body={})
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            first = ProcessorIdempotencyKey.objects.filter(key=key).first()
            if first is None or first.response_status == 0:
                raise ApiError(409, "idempotency_error", "There is currently another in-progress request using this "
                               "Stripe API key (and idempotency key). Try again later.") from None
            if not hmac.compare_digest(first.request_fingerprint, fingerprint):
                raise ApiError(400, "idempotency_error", "Keys for idempotent requests can only be used with the same "
                               f"parameters they were first used with. Try using a key other than '{key}' if you "
                               "meant to execute a different request.") from None
            return first.response_status, first.response_body, True
        status, body = operation()
        record.response_status, record.response_body = status, body
        record.save(update_fields=["response_status", "response_body"])
        return status, body, False


# --- objects as the API shows them ---------------------------------------------------------------------------------


def payment_method_object(method: ProcessorPaymentMethod) -> dict:
    return {
        "id": method.pm_id, "object": "payment_method", "type": "card", "livemode": False, "metadata": {},
        "created": int(method.created_at.timestamp()), "customer": None, "billing_details": {
            "address": None, "email": None, "name": None, "phone": None},
        "card": {
            "brand": method.brand, "last4": method.last4, "exp_month": method.exp_month, "exp_year": method.exp_year,
            "funding": method.funding, "country": "US", "fingerprint": method.fingerprint,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "unchecked"},
        },
    }


def intent_object(intent: ProcessorPaymentIntent, *, expand: tuple[str, ...] = ()) -> dict:
    method = intent.payment_method
    return {
        "id": intent.pi_id, "object": "payment_intent", "amount": intent.amount,
        "amount_capturable": intent.amount_capturable, "amount_received": intent.amount_received,
        "capture_method": intent.capture_method, "client_secret": intent.client_secret,
        "confirmation_method": "automatic", "created": int(intent.created_at.timestamp()), "currency": intent.currency,
        "description": intent.description or None, "last_payment_error": intent.last_payment_error,
        "latest_charge": intent.charge_id or None, "livemode": False, "metadata": intent.metadata,
        "payment_method": (payment_method_object(method) if "payment_method" in expand else method.pm_id)
        if method else None,
        "payment_method_types": ["card"], "status": intent.status,
        "canceled_at": int(intent.canceled_at.timestamp()) if intent.canceled_at else None,
        "cancellation_reason": intent.cancellation_reason or None,
    }


def charge_object(intent: ProcessorPaymentIntent) -> dict:
    """The intent's charge (one per intent here), as the charge.refunded event carries it."""
    method = intent.payment_method
    captured = intent.status == CardIntentStatus.SUCCEEDED
    return {
        "id": intent.charge_id, "object": "charge", "amount": intent.amount,
        "amount_captured": intent.amount_received, "amount_refunded": intent.amount_refunded,
        "captured": captured, "created": int(intent.created_at.timestamp()), "currency": intent.currency,
        "livemode": False, "metadata": intent.metadata, "paid": True, "payment_intent": intent.pi_id,
        "payment_method": method.pm_id if method else None,
        "payment_method_details": {"type": "card", "card": {
            "brand": method.brand, "last4": method.last4, "exp_month": method.exp_month,
            "exp_year": method.exp_year, "funding": method.funding} if method else None},
        "refunded": captured and intent.amount_refunded >= intent.amount_received, "status": "succeeded",
    }


def refund_object(refund: ProcessorRefund) -> dict:
    return {
        "id": refund.re_id, "object": "refund", "amount": refund.amount, "charge": refund.payment_intent.charge_id,
        "created": int(refund.created_at.timestamp()), "currency": refund.payment_intent.currency,
        "metadata": refund.metadata, "payment_intent": refund.payment_intent.pi_id, "reason": refund.reason or None,
        "status": refund.status,
    }


# --- parameters ------------------------------------------------------------------------------------------------------


def integer_param(params: dict, name: str, *, required: bool = True) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing required param: {name}.", code="parameter_missing", param=name)
        return None
    if not isinstance(value, str) or not value.isdigit() or not value.isascii() or len(value) > 18:
        raise invalid(f"Invalid integer: {str(value)[:40]}", code="parameter_invalid_integer", param=name)
    return int(value)


def amount_param(params: dict, name: str, *, required: bool = True) -> int | None:
    amount = integer_param(params, name, required=required)
    if amount is None:
        return None
    if amount < MIN_AMOUNT:
        raise invalid("Amount must be at least $0.50 usd", code="amount_too_small", param=name)
    if amount > MAX_AMOUNT:
        raise invalid("Amount must be no more than $999,999.99", code="amount_too_large", param=name)
    return amount


def _dollars(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


def _card_error(code: str, message: str, param: str) -> ApiError:
    return ApiError(402, "card_error", message, code=code, param=param)


# --- operations ------------------------------------------------------------------------------------------------------


def payment_method_create(params: dict) -> tuple[int, dict]:
    """A card: checked like a processor checks it; only brand, last 4, expiry and a keyed hash are kept."""
    if params.get("type") != "card":
        raise invalid("Invalid type: must be one of card", code="parameter_invalid_empty" if not params.get("type")
                      else "parameter_unknown", param="type")
    card = params.get("card")
    if not isinstance(card, dict):
        raise invalid("Missing required param: card.", code="parameter_missing", param="card")
    for name in ("number", "exp_month", "exp_year"):
        if not card.get(name):
            raise invalid(f"Missing required param: card[{name}].", code="parameter_missing", param=f"card[{name}]")
    unknown = set(card) - {"number", "exp_month", "exp_year", "cvc"}
    if unknown:
        name = sorted(unknown)[0]
        raise invalid(f"Received unknown parameter: card[{name}]", code="parameter_unknown", param=f"card[{name}]")
    number = "".join(str(card["number"]).split())
    brand = testcards.brand_of(number)
    if not testcards.luhn_valid(number) or len(number) not in testcards.expected_lengths(brand):
        raise _card_error("incorrect_number", "Your card number is incorrect.", "card[number]")
    month, year = str(card["exp_month"]), str(card["exp_year"])
    if not (month.isdigit() and month.isascii() and 1 <= int(month) <= 12):
        raise _card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "card[exp_month]")
    if not (year.isdigit() and year.isascii() and len(year) in (2, 4)):
        raise _card_error("invalid_expiry_year", "Your card's expiration year is invalid.", "card[exp_year]")
    month_n, year_n = int(month), int(year) + (2000 if len(year) == 2 else 0)
    today = date.today()
    if year_n < today.year or year_n > today.year + 50:
        raise _card_error("invalid_expiry_year", "Your card's expiration year is invalid.", "card[exp_year]")
    if year_n == today.year and month_n < today.month:
        raise _card_error("invalid_expiry_month", "Your card's expiration month is invalid.", "card[exp_month]")
    cvc = str(card.get("cvc") or "")
    if cvc and (not cvc.isdigit() or not cvc.isascii() or len(cvc) != testcards.cvc_length(brand)):
        raise _card_error("invalid_cvc", "Your card's security code is invalid.", "card[cvc]")
    known = testcards.TEST_CARDS.get(number)
    if known is None:
        raise ApiError(402, "card_error", "Your card was declined. Your request was in test mode, but used a non test "
                       "card. For a list of valid test cards, visit: https://stripe.com/docs/testing.",
                       code="card_declined", decline_code="test_mode_live_card")
    fingerprint = hmac.new(settings.CARD_PROCESSOR_SECRET_KEY.encode(), number.encode(), hashlib.sha256).hexdigest()
    method = ProcessorPaymentMethod.objects.create(
        pm_id=new_id("pm"), brand=known[0], last4=number[-4:], exp_month=month_n, exp_year=year_n,
        fingerprint=fingerprint[:16], outcome=known[1],
    )
    return 200, payment_method_object(method)


def intent_create(params: dict, *, idempotency_key: str = "", expand: tuple[str, ...] = ()) -> tuple[int, dict]:
    """A payment intent; with confirm=true the card is authorised (manual capture) or charged (automatic), or
    declined as its test number says (402, the intent left in requires_payment_method)."""
    amount = amount_param(params, "amount")
    currency = str(params.get("currency") or "")
    if not currency:
        raise invalid("Missing required param: currency.", code="parameter_missing", param="currency")
    if currency.lower() != "usd":
        raise invalid(f"Invalid currency: {currency[:10].lower()}. The local processor takes usd only.",
                      code="parameter_invalid_empty", param="currency")
    capture_method = params.get("capture_method") or CaptureMethod.AUTOMATIC
    if capture_method not in CaptureMethod.values:
        raise invalid("Invalid capture_method: must be one of automatic or manual", code="parameter_unknown",
                      param="capture_method")
    types = params.get("payment_method_types") or ["card"]
    if types != ["card"]:
        raise invalid("The local processor takes payment_method_types[]=card only.", param="payment_method_types")
    confirm = params.get("confirm", "false")
    if confirm not in ("true", "false"):
        raise invalid("Invalid boolean: " + str(confirm)[:20], code="parameter_invalid_boolean", param="confirm")
    metadata = params.get("metadata") or {}
    if not isinstance(metadata, dict) or len(metadata) > 50 or any(
            len(k) > 40 or len(str(v)) > 500 for k, v in metadata.items()):
        raise invalid("Invalid metadata: at most 50 keys of up to 40 characters and values of up to 500.",
                      code="parameter_invalid_empty", param="metadata")
    description = str(params.get("description") or "")
    if len(description) > 1000:
        raise invalid("Invalid description: at most 1000 characters.", param="description")
    method = None
    if params.get("payment_method"):
        method = ProcessorPaymentMethod.objects.filter(pm_id=str(params["payment_method"])).first()
        if method is None:
            raise invalid(f"No such PaymentMethod: '{str(params['payment_method'])[:60]}'",
                          code="resource_missing", param="payment_method")
    elif confirm == "true":
        raise invalid("You cannot confirm this PaymentIntent because it's missing a payment method.",
                      code="payment_intent_unexpected_state", param="payment_method")
    intent = ProcessorPaymentIntent(
        pi_id=new_id("pi"), amount=amount, currency="usd", capture_method=capture_method, payment_method=method,
        description=description, metadata=metadata,
        status=CardIntentStatus.REQUIRES_CONFIRMATION if method else CardIntentStatus.REQUIRES_PAYMENT_METHOD,
    )
    intent.client_secret = f"{intent.pi_id}_secret_{secrets.token_urlsafe(18)}"
    if confirm != "true":
        intent.save(force_insert=True)
        return 200, intent_object(intent, expand=expand)
    intent.charge_id = new_id("ch")
    decline = testcards.DECLINES.get(method.outcome) if method.outcome != TestCardOutcome.SUCCEEDS else None
    if decline:
        code, decline_code, message = decline
        error = {"type": "card_error", "code": code, "decline_code": decline_code, "message": message,
                 "charge": intent.charge_id, "payment_method": payment_method_object(method),
                 "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"}
        intent.status = CardIntentStatus.REQUIRES_PAYMENT_METHOD
        intent.last_payment_error = error
        intent.save(force_insert=True)
        events.event_emit(PAYMENT_INTENT_PAYMENT_FAILED, intent_object(intent), idempotency_key=idempotency_key)
        return 402, {"error": {**error, "payment_intent": intent_object(intent)}}
    if capture_method == CaptureMethod.MANUAL:
        intent.status, intent.amount_capturable = CardIntentStatus.REQUIRES_CAPTURE, amount
        intent.save(force_insert=True)
        events.event_emit(PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED, intent_object(intent),
                          idempotency_key=idempotency_key)
    else:
        intent.status, intent.amount_received = CardIntentStatus.SUCCEEDED, amount
        intent.save(force_insert=True)
        payouts.charge_booked(intent)
        events.event_emit(PAYMENT_INTENT_SUCCEEDED, intent_object(intent), idempotency_key=idempotency_key)
    return 200, intent_object(intent, expand=expand)


def _locked_intent(pi_id: str) -> ProcessorPaymentIntent:
    intent = (ProcessorPaymentIntent.objects.select_for_update(of=("self",)).select_related("payment_method")
              .filter(pi_id=pi_id).first())
    if intent is None:
        raise invalid(f"No such payment_intent: '{pi_id[:60]}'", code="resource_missing", param="intent", status=404)
    return intent


def intent_capture(pi_id: str, params: dict, *, idempotency_key: str = "",
                   expand: tuple[str, ...] = ()) -> tuple[int, dict]:
    """Take all or part of an authorisation; what is not taken is released (Stripe: one capture per intent)."""
    intent = _locked_intent(pi_id)
    if intent.status != CardIntentStatus.REQUIRES_CAPTURE:
        raise invalid(f"This PaymentIntent could not be captured because it has a status of {intent.status}. Only a "
                      "PaymentIntent with one of the following statuses may be captured: requires_capture.",
                      code="payment_intent_unexpected_state")
    amount = integer_param(params, "amount_to_capture", required=False)
    if amount is None:
        amount = intent.amount_capturable
    if amount <= 0 or amount > intent.amount_capturable:
        raise invalid(f"The amount_to_capture ({amount}) must be greater than zero and no more than the capturable "
                      f"amount ({intent.amount_capturable}).", code="amount_too_large", param="amount_to_capture")
    intent.status, intent.amount_received, intent.amount_capturable = CardIntentStatus.SUCCEEDED, amount, 0
    intent.save(update_fields=["status", "amount_received", "amount_capturable", "updated_at"])
    payouts.charge_booked(intent)
    events.event_emit(PAYMENT_INTENT_SUCCEEDED, intent_object(intent), idempotency_key=idempotency_key)
    return 200, intent_object(intent, expand=expand)


def intent_cancel(pi_id: str, params: dict, *, idempotency_key: str = "",
                  expand: tuple[str, ...] = ()) -> tuple[int, dict]:
    """Release an intent that was not captured."""
    intent = _locked_intent(pi_id)
    if intent.status not in CANCELABLE:
        raise invalid(f"You cannot cancel this PaymentIntent because it has a status of {intent.status}. Only a "
                      "PaymentIntent with one of the following statuses may be canceled: requires_payment_method, "
                      "requires_capture, requires_confirmation, requires_action, processing.",
                      code="payment_intent_unexpected_state")
    reason = str(params.get("cancellation_reason") or "")
    if reason and reason not in ("duplicate", "fraudulent", "requested_by_customer", "abandoned"):
        raise invalid("Invalid cancellation_reason.", code="parameter_unknown", param="cancellation_reason")
    intent.status, intent.amount_capturable = CardIntentStatus.CANCELED, 0
    intent.canceled_at, intent.cancellation_reason = timezone.now(), reason
    intent.save(update_fields=["status", "amount_capturable", "canceled_at", "cancellation_reason", "updated_at"])
    events.event_emit(PAYMENT_INTENT_CANCELED, intent_object(intent), idempotency_key=idempotency_key)
    return 200, intent_object(intent, expand=expand)


def refund_create(params: dict, *, idempotency_key: str = "") -> tuple[int, dict]:
    """Give back part or all of what was captured, never more than is left."""
    pi_id = str(params.get("payment_intent") or "")
    if not pi_id:
        raise invalid("One of the following params should be provided for this request: payment_intent or charge.",
                      code="parameter_missing", param="payment_intent")
    intent = _locked_intent(pi_id)
    if intent.status != CardIntentStatus.SUCCEEDED or intent.amount_received == 0:
        raise invalid(f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                      code="charge_not_refundable", param="payment_intent")
    left = intent.amount_received - intent.amount_refunded
    if left == 0:
        raise invalid(f"Charge {intent.charge_id} has already been refunded.", code="charge_already_refunded")
    amount = integer_param(params, "amount", required=False)
    if amount is None:
        amount = left
    if amount <= 0:
        raise invalid("Invalid positive integer", code="parameter_invalid_integer", param="amount")
    if amount > left:
        raise invalid(f"Refund amount ({_dollars(amount)}) is greater than unrefunded amount on charge "
                      f"({_dollars(left)})", code="amount_too_large", param="amount")
    reason = str(params.get("reason") or "")
    if reason and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise invalid("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                      code="parameter_unknown", param="reason")
    metadata = params.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise invalid("Invalid metadata.", param="metadata")
    intent.amount_refunded += amount
    intent.save(update_fields=["amount_refunded", "updated_at"])
    refund = ProcessorRefund.objects.create(re_id=new_id("re"), payment_intent=intent, amount=amount,
                                            status=CardRefundStatus.SUCCEEDED, reason=reason, metadata=metadata)
    payouts.refund_booked(refund)
    events.event_emit(CHARGE_REFUNDED, charge_object(intent), idempotency_key=idempotency_key)
    return 200, refund_object(refund)

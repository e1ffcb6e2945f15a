"""Card payments through a hosted card processor's HTTP API.

The one adapter speaks a subset of Stripe's REST API (v1): form-encoded POSTs to {base}/v1/...,
`Authorization: Bearer <secret key>`, an `Idempotency-Key` header on every write, JSON answers, Stripe's error
objects (`{"error": {"type": "card_error", "code": "card_declined", "decline_code": ..., "message": ...}}`).
The local processor (clinicdesk.billing.cardprocessor) serves the same API under /card-processor/, with Stripe's
documented test cards deciding the outcomes and signed webhooks sent back to us, so one adapter covers both.

Why the interface takes a payment-method id. In production an office does not type card numbers into our pages:
a card is read by the processor's own terminal, or typed into the processor's hosted fields in the browser, and
either hands us a payment-method id (pm_...) while the number goes straight to the processor. `authorize` and
`charge` take that id, so a terminal, hosted fields or our own server can feed them. `payment_method_create`
sends the raw number from our server (server-side tokenisation): the local processor, the demo and the tests
use it; against the hosted API it puts our server in PCI DSS scope (SAQ D) and Stripe only accepts raw numbers
from accounts it has enabled for it, so a production office should take cards through the terminal or hosted
fields and never call it.

Money crosses this interface as Decimal dollars and is converted to integer cents exactly (`to_cents`): an amount
with a fraction of a cent, a float, or anything but a Decimal is refused before a request is made.

Failures: `CardDeclined` (the card was refused: declined, or its number, expiry or CVC is wrong; show its message),
`TemporaryFailure` (timeout, network, rate limit, the processor's 5xx, a concurrent request with the same key:
retry with the SAME idempotency key, which never charges twice), `PermanentFailure` (anything else: bad
parameters, a conflicting idempotency key, an unknown intent, bad credentials).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

import httpx
from django.conf import settings
from django.db import models

IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_HEADER = "Stripe-Signature"
CURRENCY = "usd"
# Payment intents name their payment method by id; expanded, it carries the card's brand and last 4.
EXPAND = {"expand[]": "payment_method"}


class CardIntentStatus(models.TextChoices):
    """Stripe's PaymentIntent status words."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method", "Needs a card (declined)"
    REQUIRES_CONFIRMATION = "requires_confirmation", "Not confirmed"
    REQUIRES_ACTION = "requires_action", "Needs the cardholder"
    PROCESSING = "processing", "Processing"
    REQUIRES_CAPTURE = "requires_capture", "Authorised"
    CANCELED = "canceled", "Cancelled"
    SUCCEEDED = "succeeded", "Captured"


class CaptureMethod(models.TextChoices):
    AUTOMATIC = "automatic", "Capture at once"
    MANUAL = "manual", "Authorise now, capture later"


class CardRefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Cancelled"


# --- money ---------------------------------------------------------------------------------------------------


def to_cents(amount: Decimal) -> int:
    """Decimal dollars to integer cents, exactly. Refuses floats and other types (TypeError), and amounts that are
    not finite, not positive or carry a fraction of a cent (ValueError): nothing is ever rounded here."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal):
        raise TypeError(f"A card amount must be a Decimal, not {type(amount).__name__}.")
    if not amount.is_finite():
        raise ValueError(f"A card amount must be a finite number, not {amount}.")
    try:
        cents = amount.scaleb(2)
        whole = cents.to_integral_value()
    except InvalidOperation:
        raise ValueError(f"{amount} is not a card amount.") from None
    if cents != whole:
        raise ValueError(f"{amount} has a fraction of a cent; card amounts are whole cents.")
    if whole <= 0:
        raise ValueError(f"A card amount must be more than zero, not {amount}.")
    return int(whole)


def from_cents(cents: int) -> Decimal:
    """Integer cents to Decimal dollars with two places."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"Cents must be an integer, not {type(cents).__name__}.")
    return Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))


# --- results and failures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardMethod:
    """A card the processor holds for us: only its id, brand, last four digits and expiry come back."""

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class CardAuthorization:
    """A payment intent as the processor reports it. `amount` is what was asked for; `amount_capturable` is held
    on the card (authorised, not yet taken); `amount_received` is what was captured."""

    id: str
    status: str
    amount: Decimal
    brand: str
    last4: str
    amount_capturable: Decimal = Decimal("0.00")
    amount_received: Decimal = Decimal("0.00")
    charge_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CardRefund:
    id: str
    status: str
    amount: Decimal
    intent_id: str = ""


class CardFailure(Exception):
    """The processor did not do what was asked; `message` is safe to show to staff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message[:500]


class TemporaryFailure(CardFailure):
    """Worth trying again with the same idempotency key: timeout, network, 409, 429, the processor's 5xx."""


class PermanentFailure(CardFailure):
    """Trying again will not help: bad parameters, unknown intent, conflicting idempotency key, bad credentials."""

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code, self.status = code, status


class CardDeclined(CardFailure):
    """The card was refused (Stripe's card_error): `code` (card_declined, expired_card, incorrect_cvc,
    incorrect_number ...), the issuer's `decline_code` (insufficient_funds, generic_decline ...) and a message
    to show. `intent_id` names the declined payment intent when there is one."""

    def __init__(self, code: str, decline_code: str, message: str, *, intent_id: str = "") -> None:
        super().__init__(message)
        self.code, self.decline_code, self.intent_id = code, decline_code, intent_id


@dataclass(frozen=True)
class CardPayout:
    """A payout of the processor to the practice's bank: `amount` is the net paid."""

    id: str
    amount: Decimal
    arrival_date: date
    status: str
    settlement_date: date | None = None


@dataclass(frozen=True)
class CardBalanceLine:
    """A balance transaction of a payout: `type` charge, refund, payout or another of the processor's words;
    `amount` signed (a refund is negative), `fee`, `net`; the charge or refund it is about and its payment intent."""

    id: str
    type: str
    amount: Decimal
    fee: Decimal
    net: Decimal
    source_id: str
    payment_intent_id: str
    created: datetime


# --- the interface ----------------------------------------------------------------------------------------------


class CardProcessor(Protocol):
    """What billing asks of a card processor. Every write takes an idempotency key: the same key with the same
    request never authorises, captures or refunds twice."""

    name: str

    def payment_method_create(self, *, number: str, exp_month: int, exp_year: int, cvc: str) -> CardMethod: ...

    def authorize(self, *, amount: Decimal, payment_method_id: str, idempotency_key: str, description: str = "",
                  metadata: dict[str, str] | None = None) -> CardAuthorization: ...

    def charge(self, *, amount: Decimal, payment_method_id: str, idempotency_key: str, description: str = "",
               metadata: dict[str, str] | None = None) -> CardAuthorization: ...

    def capture(self, *, intent_id: str, amount: Decimal | None = None, idempotency_key: str) -> CardAuthorization: ...

    def cancel(self, *, intent_id: str, idempotency_key: str) -> CardAuthorization: ...

    def refund(self, *, intent_id: str, amount: Decimal | None = None, idempotency_key: str) -> CardRefund: ...

    def retrieve(self, *, intent_id: str) -> CardAuthorization: ...

    def payment_method_retrieve(self, *, payment_method_id: str) -> CardMethod: ...

    def payouts_list(self, *, limit: int = 100) -> list[CardPayout]: ...

    def payout_retrieve(self, *, payout_id: str) -> CardPayout: ...

    def payout_lines(self, *, payout_id: str) -> list[CardBalanceLine]: ...


# One connection pool per process and thread, as for text messages.
_clients = threading.local()


def _client(timeout: float) -> httpx.Client:
    client = getattr(_clients, "client", None)
    if client is None or client.is_closed:
        client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        _clients.client = client
    return client


class StripeProcessor:
    """Stripe's PaymentIntents API (or the local processor that speaks it)."""

    name = "stripe"

    def __init__(self, *, base_url: str, secret_key: str, timeout: float = 20.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        self.timeout = timeout
        self._own_client = client

    @property
    def client(self) -> httpx.Client:
        return self._own_client or _client(self.timeout)

    # -- calls --

    def payment_method_create(self, *, number: str, exp_month: int, exp_year: int, cvc: str) -> CardMethod:
        """Server-side tokenisation (see the module's docstring): the local processor, the demo and the tests."""
        return _card_method(self._request("POST", "/v1/payment_methods", {
            "type": "card", "card[number]": "".join(str(number).split()), "card[exp_month]": str(exp_month),
            "card[exp_year]": str(exp_year), "card[cvc]": str(cvc),
        }))

    def authorize(self, *, amount: Decimal, payment_method_id: str, idempotency_key: str, description: str = "",
                  metadata: dict[str, str] | None = None) -> CardAuthorization:
        """Hold `amount` on the card (capture_method=manual); capture or cancel it later."""
        return self._create_intent(amount, payment_method_id, idempotency_key, description, metadata,
                                   CaptureMethod.MANUAL)

    def charge(self, *, amount: Decimal, payment_method_id: str, idempotency_key: str, description: str = "",
               metadata: dict[str, str] | None = None) -> CardAuthorization:
        """Authorise and capture in one call (capture_method=automatic)."""
        return self._create_intent(amount, payment_method_id, idempotency_key, description, metadata,
                                   CaptureMethod.AUTOMATIC)

    def capture(self, *, intent_id: str, amount: Decimal | None = None, idempotency_key: str) -> CardAuthorization:
        """Take `amount` (all that is held when None) of an authorisation; the rest is released."""
        data = {"expand[]": "payment_method"}
        if amount is not None:
            data["amount_to_capture"] = str(to_cents(amount))
        return self._authorization(self._request("POST", f"/v1/payment_intents/{_id(intent_id)}/capture", data,
                                                 idempotency_key=idempotency_key))

    def cancel(self, *, intent_id: str, idempotency_key: str) -> CardAuthorization:
        """Release an authorisation that was not captured."""
        return self._authorization(self._request("POST", f"/v1/payment_intents/{_id(intent_id)}/cancel", EXPAND,
                                                 idempotency_key=idempotency_key))

    def refund(self, *, intent_id: str, amount: Decimal | None = None, idempotency_key: str) -> CardRefund:
        """Give back `amount` (all that is left when None) of a captured payment."""
        data = {"payment_intent": _id(intent_id)}
        if amount is not None:
            data["amount"] = str(to_cents(amount))
        payload = self._request("POST", "/v1/refunds", data, idempotency_key=idempotency_key)
        return CardRefund(id=str(payload["id"]), status=str(payload.get("status", "")),
                          amount=from_cents(int(payload["amount"])), intent_id=str(payload.get("payment_intent") or ""))

    def retrieve(self, *, intent_id: str) -> CardAuthorization:
        """The intent as the processor holds it now (after a TemporaryFailure, to learn what happened)."""
        return self._authorization(self._request("GET", f"/v1/payment_intents/{_id(intent_id)}", EXPAND))

    def payment_method_retrieve(self, *, payment_method_id: str) -> CardMethod:
        """A stored card's brand, last 4 and expiry (to show it and to check it exists before it is used)."""
        return _card_method(self._request("GET", f"/v1/payment_methods/{_id(payment_method_id)}", None))

    def payouts_list(self, *, limit: int = 100) -> list[CardPayout]:
        """The newest `limit` payouts, newest first."""
        return [_payout(p) for p in self._list("/v1/payouts", {}, limit=limit)]

    def payout_retrieve(self, *, payout_id: str) -> CardPayout:
        return _payout(self._request("GET", f"/v1/payouts/{_id(payout_id)}", None))

    def payout_lines(self, *, payout_id: str) -> list[CardBalanceLine]:
        """Every balance transaction a payout paid out, with its source expanded to learn the payment intent."""
        rows = self._list("/v1/balance_transactions", {"payout": _id(payout_id), "expand[]": "data.source"})
        return [_balance_line(row) for row in rows]

    # -- plumbing --

    def _list(self, path: str, params: dict[str, str], *, limit: int | None = None) -> list[dict]:
        """All pages of a Stripe list (or the first `limit` objects)."""
        rows: list[dict] = []
        after = ""
        while True:
            page = {**params, "limit": "100"} | ({"starting_after": after} if after else {})
            payload = self._request("GET", path, page, list_answer=True)
            data = payload.get("data") if isinstance(payload.get("data"), list) else []
            rows.extend(d for d in data if isinstance(d, dict) and "id" in d)
            if (limit is not None and len(rows) >= limit) or not payload.get("has_more") or not data:
                return rows[:limit] if limit is not None else rows
            after = str(data[-1].get("id", ""))

    def _create_intent(self, amount, payment_method_id, idempotency_key, description, metadata, capture_method):
        data = {
            "amount": str(to_cents(amount)), "currency": CURRENCY, "payment_method": _id(payment_method_id),
            "payment_method_types[]": "card", "confirm": "true", "capture_method": capture_method, **EXPAND,
        }
        if description:
            data["description"] = description
        for key, value in (metadata or {}).items():
            data[f"metadata[{key}]"] = str(value)
        return self._authorization(self._request("POST", "/v1/payment_intents", data,
                                                 idempotency_key=idempotency_key))

    def _request(self, method: str, path: str, data: dict[str, str] | None, *, idempotency_key: str = "",
                 list_answer: bool = False) -> dict:
        if not self.secret_key:
            raise PermanentFailure("The card processor is not configured (CARD_PROCESSOR_SECRET_KEY).")
        if method == "POST" and not idempotency_key and path != "/v1/payment_methods":
            raise PermanentFailure("Every card payment write needs an idempotency key.")
        headers = {"Authorization": f"Bearer {self.secret_key}", "Accept": "application/json"}
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        try:
            if method == "GET":
                response = self.client.get(self.base_url + path, params=data, headers=headers)
            else:
                response = self.client.post(self.base_url + path, data=data, headers=headers)
        except httpx.TimeoutException:
            raise TemporaryFailure("The card processor did not answer in time.") from None
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"The card processor could not be reached ({type(exc).__name__}).") from None
        return _answer(response, list_answer=list_answer)

    @staticmethod
    def _authorization(payload: dict) -> CardAuthorization:
        return _authorization_from(payload)


def _id(value: str) -> str:
    """An object id goes into a URL path: refuse anything but Stripe's id characters."""
    value = str(value or "")
    if not value or not value.replace("_", "").isalnum() or not value.isascii():
        raise PermanentFailure(f"'{value[:40]}' is not a card processor id.")
    return value


def _card_method(payload: dict) -> CardMethod:
    card = payload.get("card") if isinstance(payload.get("card"), dict) else {}
    return CardMethod(id=str(payload["id"]), brand=str(card.get("brand", "")), last4=str(card.get("last4", "")),
                      exp_month=int(card.get("exp_month") or 0), exp_year=int(card.get("exp_year") or 0))


def _unix_date(value) -> date:
    return datetime.fromtimestamp(int(value or 0), tz=UTC).date()


def _payout(payload: dict) -> CardPayout:
    settled = payload.get("settlement_date")
    try:
        settlement = date.fromisoformat(settled) if isinstance(settled, str) else None
    except ValueError:
        settlement = None
    return CardPayout(id=str(payload["id"]), amount=from_cents(int(payload.get("amount") or 0)),
                      arrival_date=_unix_date(payload.get("arrival_date")), status=str(payload.get("status", "")),
                      settlement_date=settlement)


def _balance_line(payload: dict) -> CardBalanceLine:
    source = payload.get("source")
    intent = ""
    if isinstance(source, dict):
        intent = str(source.get("payment_intent") or "")
        source = source.get("id")
    return CardBalanceLine(
        id=str(payload["id"]), type=str(payload.get("type", "")), amount=from_cents(int(payload.get("amount") or 0)),
        fee=from_cents(int(payload.get("fee") or 0)), net=from_cents(int(payload.get("net") or 0)),
        source_id=str(source or ""), payment_intent_id=intent,
        created=datetime.fromtimestamp(int(payload.get("created") or 0), tz=UTC))


def _authorization_from(payload: dict) -> CardAuthorization:
    # The adapter asks for the payment method expanded (expand[]=payment_method) to learn the brand and last 4.
    method = payload.get("payment_method")
    card = (method.get("card") if isinstance(method, dict) else None) or {}
    return CardAuthorization(
        id=str(payload["id"]), status=str(payload.get("status", "")), amount=from_cents(int(payload["amount"])),
        brand=str(card.get("brand", "")), last4=str(card.get("last4", "")),
        amount_capturable=from_cents(int(payload.get("amount_capturable") or 0)),
        amount_received=from_cents(int(payload.get("amount_received") or 0)),
        charge_id=str(payload.get("latest_charge") or ""), metadata=dict(payload.get("metadata") or {}),
    )


def _answer(response: httpx.Response, *, list_answer: bool = False) -> dict:
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if 200 <= response.status_code < 300:
        if "id" not in payload and not (list_answer and payload.get("object") == "list"):
            raise TemporaryFailure("The card processor answered without an id.")
        return payload
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    message = str(error.get("message") or response.reason_phrase or "no reason given")
    code = str(error.get("code") or "")
    if error.get("type") == "card_error" or response.status_code == 402:
        intent = error.get("payment_intent") if isinstance(error.get("payment_intent"), dict) else {}
        raise CardDeclined(code or "card_declined", str(error.get("decline_code") or ""), message,
                           intent_id=str(intent.get("id") or ""))
    if response.status_code in (409, 429) or response.status_code >= 500:
        raise TemporaryFailure(f"The card processor is busy or down (HTTP {response.status_code}): {message}")
    raise PermanentFailure(f"The card processor refused the request (HTTP {response.status_code}): {message}",
                           code=code or str(error.get("type") or ""), status=response.status_code)


def card_processor() -> CardProcessor:
    """The configured processor: Stripe's API at CARD_PROCESSOR_BASE_URL (the local processor by default)."""
    return StripeProcessor(base_url=settings.CARD_PROCESSOR_BASE_URL, secret_key=settings.CARD_PROCESSOR_SECRET_KEY,
                           timeout=settings.CARD_PROCESSOR_TIMEOUT_SECONDS)

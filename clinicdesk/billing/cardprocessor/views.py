"""The local processor's HTTP API: Stripe's own paths under /card-processor/v1/, form-encoded bodies with
Stripe's bracket notation (card[number], metadata[key], expand[]), `Authorization: Bearer <secret key>`,
`Idempotency-Key` on writes, JSON answers and Stripe's error objects.

The views check the secret key themselves, as the processor does, so they are declared public. A missing or
wrong key is refused with 403 where Stripe answers 401: the project refuses every unauthenticated POST with 403
(tests/security/test_csrf.py); the adapter treats both as a permanent failure.
"""

from __future__ import annotations

import hmac
import re
import secrets

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from clinicdesk.core.access import public

from ..cards import IDEMPOTENCY_HEADER
from . import payouts as payout_store
from . import store
from .models import (
    ProcessorBalanceTransaction,
    ProcessorPaymentIntent,
    ProcessorPaymentMethod,
    ProcessorPayout,
    ProcessorRefund,
)
from .store import ApiError, invalid

_BRACKET = re.compile(r"^([A-Za-z_]+)\[([A-Za-z0-9_\-.]*)\]$")
ALLOWED = {
    "payment_methods": {"type", "card", "expand"},
    "payment_intents": {"amount", "currency", "payment_method", "confirm", "capture_method", "metadata",
                        "description", "payment_method_types", "expand"},
    "retrieve": {"expand"},
    "capture": {"amount_to_capture", "expand"},
    "cancel": {"cancellation_reason", "expand"},
    "refunds": {"payment_intent", "amount", "reason", "metadata", "expand"},
    "list": {"limit", "starting_after", "payout", "type", "expand"},
}
LIST_EXPANDS = {"data.source"}


def _answer(status: int, body: dict, *, replayed: bool = False) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Request-Id"] = "req_" + secrets.token_hex(7)
    response["Stripe-Version"] = "2024-06-20"
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _authorized(request: HttpRequest) -> bool:
    header = request.headers.get("Authorization", "")
    expected = settings.CARD_PROCESSOR_SECRET_KEY
    return bool(expected) and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), expected)


def _refused() -> JsonResponse:
    return _answer(403, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}})


def parse_params(query) -> dict:
    """Stripe's form encoding: plain names, one level of `name[key]` (card, metadata) and lists `name[]` /
    `name[0]` (expand, payment_method_types)."""
    params: dict = {}
    for name, values in query.lists():
        if "\x00" in name or any("\x00" in v for v in values):
            raise invalid("Parameters may not contain NUL characters.", code="parameter_invalid_string_empty")
        match = _BRACKET.match(name)
        if not match:
            if "[" in name:
                raise invalid(f"Invalid array: {name[:40]}", code="parameter_unknown", param=name[:40])
            params[name] = values[-1]
            continue
        outer, inner = match.groups()
        if inner == "" or inner.isdigit():
            existing = params.setdefault(outer, [])
            if not isinstance(existing, list):
                raise invalid(f"Invalid array: {outer}", param=outer)
            existing.extend(values)
        else:
            existing = params.setdefault(outer, {})
            if not isinstance(existing, dict):
                raise invalid(f"Invalid hash: {outer}", param=outer)
            existing[inner] = values[-1]
    return params


def _checked(request: HttpRequest, endpoint: str) -> tuple[dict, tuple[str, ...]]:
    params = parse_params(request.POST if request.method == "POST" else request.GET)
    unknown = set(params) - ALLOWED[endpoint]
    if unknown:
        name = sorted(unknown)[0]
        raise invalid(f"Received unknown parameter: {name[:40]}", code="parameter_unknown", param=name[:40])
    expand = params.pop("expand", [])
    allowed = LIST_EXPANDS if endpoint == "list" else {"payment_method"}
    if not isinstance(expand, list) or any(e not in allowed for e in expand):
        raise invalid(f"The local processor can expand {', '.join(sorted(allowed))} only here.", param="expand")
    return params, tuple(expand)


def _write(request: HttpRequest, endpoint: str, operation) -> JsonResponse:
    """A POST: authorised, parsed, run once per idempotency key (or once in a transaction without a key)."""
    if not _authorized(request):
        return _refused()
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    try:
        params, expand = _checked(request, endpoint)
        if not key:
            with transaction.atomic():
                status, body = operation(params, expand, "")
            return _answer(status, body)
        fingerprint = store.request_fingerprint(request.method, request.path, list(request.POST.lists()))
        status, body, replayed = store.idempotent(key, fingerprint, lambda: operation(params, expand, key))
    except ApiError as error:
        return _answer(*error.response())
    return _answer(status, body, replayed=replayed)


@public
@csrf_exempt
@require_POST
def payment_methods(request: HttpRequest) -> JsonResponse:
    """Create a card payment method (type=card, card[number], card[exp_month], card[exp_year], card[cvc])."""
    return _write(request, "payment_methods", lambda params, expand, key: store.payment_method_create(params))


@public
@csrf_exempt
@require_POST
def payment_intents(request: HttpRequest) -> JsonResponse:
    """Create (and with confirm=true, authorise or charge) a payment intent."""
    return _write(request, "payment_intents",
                  lambda params, expand, key: store.intent_create(params, idempotency_key=key, expand=expand))


@public
@require_GET
def payment_intent(request: HttpRequest, intent_id: str) -> JsonResponse:
    """One payment intent as it is now."""
    if not _authorized(request):
        return _refused()
    try:
        _, expand = _checked(request, "retrieve")
    except ApiError as error:
        return _answer(*error.response())
    intent = ProcessorPaymentIntent.objects.select_related("payment_method").filter(pi_id=intent_id).first()
    if intent is None:
        return _answer(*invalid(f"No such payment_intent: '{intent_id[:60]}'", code="resource_missing",
                                param="intent", status=404).response())
    return _answer(200, store.intent_object(intent, expand=expand))


@public
@csrf_exempt
@require_POST
def payment_intent_capture(request: HttpRequest, intent_id: str) -> JsonResponse:
    """Capture all (or amount_to_capture) of an authorised intent."""
    return _write(request, "capture", lambda params, expand, key: store.intent_capture(
        intent_id, params, idempotency_key=key, expand=expand))


@public
@csrf_exempt
@require_POST
def payment_intent_cancel(request: HttpRequest, intent_id: str) -> JsonResponse:
    """Cancel an intent that was not captured."""
    return _write(request, "cancel", lambda params, expand, key: store.intent_cancel(
        intent_id, params, idempotency_key=key, expand=expand))


@public
@csrf_exempt
@require_POST
def refunds(request: HttpRequest) -> JsonResponse:
    """Refund all (or `amount`) of what is left of a captured intent."""
    return _write(request, "refunds", lambda params, expand, key: store.refund_create(params, idempotency_key=key))


def _one(request: HttpRequest, rows, id_field: str, object_id: str, what: str, object_of) -> JsonResponse:
    """GET of one object by its id: authorised, or Stripe's 404 naming the id."""
    if not _authorized(request):
        return _refused()
    found = rows.filter(**{id_field: object_id}).first()
    if found is None:
        return _answer(*invalid(f"No such {what}: '{object_id[:60]}'", code="resource_missing", param="id",
                                status=404).response())
    return _answer(200, object_of(found))


@public
@require_GET
def refund(request: HttpRequest, refund_id: str) -> JsonResponse:
    """One refund."""
    return _one(request, ProcessorRefund.objects.select_related("payment_intent"), "re_id", refund_id, "refund",
                store.refund_object)


@public
@require_GET
def payment_method(request: HttpRequest, pm_id: str) -> JsonResponse:
    """One stored card: brand, last 4 and expiry (never the number)."""
    return _one(request, ProcessorPaymentMethod.objects.all(), "pm_id", pm_id, "PaymentMethod", store.payment_method_object)


MAX_LIMIT = 100


def _page(request: HttpRequest, rows, object_of, url: str, cursor_field: str) -> JsonResponse:
    """Stripe's list: `limit` (1..100, default 10) objects after `starting_after`, newest first, with has_more."""
    try:
        params, expand = _checked(request, "list")
        limit = store.integer_param(params, "limit", required=False) or 10
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid("Invalid limit: must be between 1 and 100.", param="limit")
        after = str(params.get("starting_after") or "")
        if after:
            cursor = rows.filter(**{cursor_field: after}).first()
            if cursor is None:
                raise invalid(f"No such object: '{after[:60]}'", code="resource_missing", param="starting_after")
            rows = rows.filter(pk__lt=cursor.pk)
    except ApiError as error:
        return _answer(*error.response())
    found = list(rows.order_by("-pk")[:limit + 1])
    return _answer(200, {"object": "list", "url": url, "has_more": len(found) > limit,
                         "data": [object_of(row, expand) for row in found[:limit]]})


@public
@require_GET
def payouts(request: HttpRequest) -> JsonResponse:
    """The payouts made, newest first."""
    if not _authorized(request):
        return _refused()
    return _page(request, ProcessorPayout.objects.all(), lambda row, expand: payout_store.payout_object(row),
                 "/v1/payouts", "po_id")


@public
@require_GET
def payout(request: HttpRequest, processor_payout_id: str) -> JsonResponse:
    """One payout."""
    return _one(request, ProcessorPayout.objects.all(), "po_id", processor_payout_id, "payout", payout_store.payout_object)


@public
@require_GET
def balance_transactions(request: HttpRequest) -> JsonResponse:
    """Balance transactions, newest first; `payout=po_...` lists what one payout paid out (and the payout's own)."""
    if not _authorized(request):
        return _refused()
    rows = ProcessorBalanceTransaction.objects.select_related(
        "payout", "refund__payment_intent", "payment_intent__payment_method")
    payout_id = request.GET.get("payout", "")
    if payout_id:
        found = ProcessorPayout.objects.filter(po_id=payout_id).first()
        if found is None:
            return _answer(*invalid(f"No such payout: '{payout_id[:60]}'", code="resource_missing",
                                    param="payout", status=404).response())
        rows = rows.filter(payout=found)
    kind = request.GET.get("type", "")
    if kind:
        rows = rows.filter(type=kind)
    return _page(request, rows, lambda row, expand: payout_store.balance_transaction_object(
        row, expand_source="data.source" in expand), "/v1/balance_transactions", "txn_id")

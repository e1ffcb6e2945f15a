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
from . import store
from .models import ProcessorPaymentIntent, ProcessorRefund
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
}


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
    if not isinstance(expand, list) or any(e != "payment_method" for e in expand):
        raise invalid("The local processor can expand payment_method only.", param="expand")
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


@public
@require_GET
def refund(request: HttpRequest, refund_id: str) -> JsonResponse:
    """One refund."""
    if not _authorized(request):
        return _refused()
    found = ProcessorRefund.objects.select_related("payment_intent").filter(re_id=refund_id).first()
    if found is None:
        return _answer(*invalid(f"No such refund: '{refund_id[:60]}'", code="resource_missing", param="id",
                                status=404).response())
    return _answer(200, store.refund_object(found))

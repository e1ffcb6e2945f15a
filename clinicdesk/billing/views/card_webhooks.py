"""The card processor's webhook: Stripe-shaped events (JSON, signed with Stripe-Signature), each handled once.

The signature is checked before anything else is read; an event is then recorded by id and its registered
handlers run (billing.cards.webhooks). An unsigned, forged or stale request is refused with 403 (the project's
answer to every unauthenticated POST; Stripe only needs a non-2xx), so the processor retries a genuine event it
sent while our secret was wrong; a replay of a handled event is acknowledged with 200 and runs nothing.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinicdesk.core.access import public

from ..cards import SIGNATURE_HEADER
from ..cards.webhooks import card_event_handle, card_event_parse, signature_valid

logger = logging.getLogger(__name__)


@public
@csrf_exempt
@require_POST
def card_webhook(request: HttpRequest) -> HttpResponse:
    """One event from the card processor."""
    body = request.body
    if not signature_valid(request.headers.get(SIGNATURE_HEADER, ""), body, settings.CARD_WEBHOOK_SECRET):
        return JsonResponse({"error": "Invalid or stale Stripe-Signature."}, status=403)
    try:
        payload = json.loads(body)
        event = card_event_parse(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return JsonResponse({"error": f"Not an event: {exc}"[:200]}, status=400)
    try:
        first = card_event_handle(event=event, payload=payload)
    except Exception:
        # Nothing was recorded: a non-2xx makes the processor send the event again later.
        logger.exception("Card webhook %s (%s): a handler failed", event.id, event.type)
        return JsonResponse({"error": "The event could not be handled; send it again later."}, status=500)
    return JsonResponse({"received": True, "replayed": not first})

"""Webhooks the providers call: SMS delivery receipts and replies (Twilio's form posts, signed with
X-Twilio-Signature), and e-mail delivery events (Mailgun's JSON, signed with HMAC-SHA256).

Each checks its signature first (403 otherwise) and is idempotent, because providers retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinicdesk.core.access import public

from ..channels.sms import SIGNATURE_HEADER, signature_valid
from ..services.delivery import message_bounced, message_email_delivered, message_receipt_record
from ..services.inbound import inbound_record

logger = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# A Mailgun event older than this is refused: a captured request cannot be replayed later.
EMAIL_EVENT_MAX_AGE_SECONDS = 15 * 60


def _signed_by_provider(request: HttpRequest) -> bool:
    # The provider signs the URL it called; behind a proxy that is the public address, not the one Django sees.
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    params = {name: request.POST.get(name, "") for name in request.POST}
    return signature_valid(url, params, settings.SMS_AUTH_TOKEN, request.headers.get(SIGNATURE_HEADER, ""))


@public
@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    """A text's delivery receipt (MessageSid, MessageStatus, ErrorCode)."""
    if not _signed_by_provider(request):
        return HttpResponseForbidden("Invalid signature.")
    message_receipt_record(
        provider_message_id=request.POST.get("MessageSid", "")[:80], status=request.POST.get("MessageStatus", ""),
        public_id=request.GET.get("m", "")[:14], error_code=request.POST.get("ErrorCode", "")[:10],
        error_message=request.POST.get("ErrorMessage", "")[:200],
    )
    return HttpResponse(status=200)


@public
@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """A patient's text to the practice's number; answered with empty TwiML (replies, if any, go out as messages)."""
    if not _signed_by_provider(request):
        return HttpResponseForbidden("Invalid signature.")
    sid = request.POST.get("MessageSid", "")
    sender = request.POST.get("From", "")
    if not sid or not sender:
        return JsonResponse({"MessageSid": "MessageSid and From are required."}, status=400)
    inbound_record(from_number=sender, to_number=request.POST.get("To", ""), body=request.POST.get("Body", ""),
                   provider=settings.SMS_PROVIDER, provider_message_id=sid)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    """Mailgun's webhook signature: hex HMAC-SHA256 of timestamp + token under the webhook signing key."""
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


@public
@csrf_exempt
@require_POST
def email_events(request: HttpRequest) -> HttpResponse:
    """An e-mail event (Mailgun's webhook format): a permanent failure bounces the message, delivered marks it."""
    try:
        payload = json.loads(request.body)
        signature = payload["signature"]
        timestamp, token, given = str(signature["timestamp"]), str(signature["token"]), str(signature["signature"])
        event = payload["event-data"]
    except (ValueError, KeyError, TypeError):
        # Without a signature there is nothing to trust: refused like a forged one.
        return HttpResponseForbidden("Expected Mailgun's JSON with a 'signature' and 'event-data'.")
    key = settings.EMAIL_WEBHOOK_SIGNING_KEY
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= EMAIL_EVENT_MAX_AGE_SECONDS
    if not key or not fresh or not hmac.compare_digest(mailgun_signature(key, timestamp, token), given):
        return HttpResponseForbidden("Invalid signature.")
    if not isinstance(event, dict):
        return JsonResponse({"event-data": "Expected an object."}, status=400)
    message_id = str(((event.get("message") or {}).get("headers") or {}).get("message-id", "")).strip("<>")
    kind = event.get("event")
    if kind == "failed" and event.get("severity") == "permanent":
        status = event.get("delivery-status") or {}
        reason = status.get("description") or status.get("message") or event.get("reason") or "permanent failure"
        code = status.get("code")
        message_bounced(provider_message_id=message_id, reason=f"{reason}" + (f" ({code})" if code else ""))
    elif kind == "delivered":
        message_email_delivered(provider_message_id=message_id)
    return HttpResponse(status=200)

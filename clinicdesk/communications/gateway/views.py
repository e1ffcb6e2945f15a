"""The local gateway's HTTP API (the provider's own paths under /sms-gateway/) and its phone page.

The API views check the provider's HTTP Basic auth themselves (AccountSid:AuthToken), like the provider
does, so they are declared public; the phone page is for staff who may send messages.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from email.utils import format_datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import public, requires
from clinicdesk.core.permissions import Perm

from ..channels.sms import IDEMPOTENCY_HEADER
from .models import GatewayMessage
from .store import GatewayRefusal, gateway_phones, gateway_reply, gateway_text_accept, gateway_thread


def _error(status: int, code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                         "status": status}, status=status)


def _authorized(request: HttpRequest, account_sid: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected_sid, expected_token = settings.SMS_ACCOUNT_SID, settings.SMS_AUTH_TOKEN
    return bool(expected_token) and hmac.compare_digest(user, expected_sid) and account_sid == expected_sid and \
        hmac.compare_digest(password, expected_token)


def _resource(text: GatewayMessage) -> dict:
    uri = f"/2010-04-01/Accounts/{text.account_sid}/Messages/{text.sid}.json"
    return {
        "account_sid": text.account_sid, "api_version": "2010-04-01", "body": text.body,
        "date_created": format_datetime(text.created_at), "date_sent": None,
        "date_updated": format_datetime(text.updated_at), "direction": text.direction,
        "error_code": text.error_code, "error_message": text.error_message or None, "from": text.from_number,
        "messaging_service_sid": None, "num_media": "0", "num_segments": str(max(1, -(-len(text.body) // 153))),
        "price": None, "price_unit": "USD", "sid": text.sid, "status": text.status,
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")}, "to": text.to_number, "uri": uri,
    }


@public
@csrf_exempt
@require_http_methods(["GET", "POST"])
def messages_api(request: HttpRequest, account_sid: str) -> HttpResponse:
    """POST: send a text (To, From, Body, StatusCallback; Idempotency-Key). GET: the texts, filtered by To/From."""
    if not _authorized(request, account_sid):
        # Twilio answers 401 here; 403 keeps the project's rule that every unauthenticated POST is refused
        # with 403 (tests/security/test_csrf.py). The adapter treats both as a permanent failure.
        return _error(403, 20003, "Authenticate")
    if request.method == "GET":
        texts = GatewayMessage.objects.filter(account_sid=account_sid)
        if to := request.GET.get("To"):
            texts = texts.filter(to_number=to)
        if from_ := request.GET.get("From"):
            texts = texts.filter(from_number=from_)
        return JsonResponse({"messages": [_resource(t) for t in texts[:50]], "page": 0, "page_size": 50})
    try:
        accepted = gateway_text_accept(
            account_sid=account_sid, to=request.POST.get("To", "").strip(), from_=request.POST.get("From", "").strip(),
            body=request.POST.get("Body", ""), status_callback=request.POST.get("StatusCallback", ""),
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, "")[:120],
        )
    except GatewayRefusal as refusal:
        return _error(refusal.status, refusal.code, refusal.message)
    response = JsonResponse(_resource(accepted.text), status=201)
    if accepted.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@public
@require_GET
def message_api(request: HttpRequest, account_sid: str, message_sid: str) -> HttpResponse:
    """One text, as the provider reports it."""
    if not _authorized(request, account_sid):
        return _error(403, 20003, "Authenticate")
    text = GatewayMessage.objects.filter(account_sid=account_sid, sid=message_sid).first()
    if text is None:
        return _error(404, 20404, f"The requested resource {request.path} was not found")
    return JsonResponse(_resource(text))


@require_GET
@requires(Perm.MESSAGES_SEND)
def phone(request: HttpRequest) -> HttpResponse:
    """The demo phone: the numbers the practice texted; pick one to read its texts and type the patient's reply."""
    number = request.GET.get("number", "").strip()
    thread = gateway_thread(actor=request.user, number=number) if number else []
    return render(request, "communications/gateway_phone.html", {
        "numbers": gateway_phones(actor=request.user), "number": number, "thread": thread,
        "unknown": bool(number) and not thread,
    }, status=404 if number and not thread else 200)


@require_POST
@requires(Perm.MESSAGES_SEND)
def phone_reply(request: HttpRequest) -> HttpResponse:
    number = request.POST.get("number", "").strip()
    try:
        gateway_reply(actor=request.user, number=number, body=request.POST.get("body", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        if not number:
            return redirect("communications_public:sms_gateway:phone")
    else:
        messages.success(request, "Reply sent from the patient's phone.")
    return redirect(f"{reverse('communications_public:sms_gateway:phone')}?{urlencode({'number': number})}")

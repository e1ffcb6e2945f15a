"""The gateway's own calls back to us, the way the hosted provider makes them: delivery receipts (the final
status only) to each text's StatusCallback and patients' replies to the inbound webhook, as signed form posts.

They leave from one background thread per process (settings.SMS_GATEWAY_RECEIPTS), so a send is answered
at once and its receipts follow, as with the real provider. With the thread off (tests) they are posted
inline through `poster`, which tests may point at Django's test client.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

import httpx
from django.conf import settings
from django.db import close_old_connections

from ..channels.sms import SIGNATURE_HEADER, twilio_signature
from .models import GatewayMessage, GatewayStatus
from .numbers import UNDELIVERABLE_ERROR, undeliverable

logger = logging.getLogger(__name__)
API_VERSION = "2010-04-01"


class Poster(Protocol):
    def __call__(self, url: str, data: dict[str, str], headers: dict[str, str]) -> int: ...


class HttpxPoster:
    """Form posts over HTTP with one pooled client per process."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def __call__(self, url: str, data: dict[str, str], headers: dict[str, str]) -> int:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=10.0)
        return self._client.post(url, data=data, headers=headers).status_code


poster: Poster = HttpxPoster()


def post_signed(url: str, params: dict[str, str]) -> int:
    """Post `params` to `url` signed like the provider signs (X-Twilio-Signature with the account's auth token)."""
    signature = twilio_signature(url, params, settings.SMS_AUTH_TOKEN)
    try:
        return poster(url, params, {SIGNATURE_HEADER: signature})
    except httpx.HTTPError as exc:
        logger.warning("SMS gateway: posting to %s failed: %s", url, exc)
        return 0


def status_params(text: GatewayMessage, status: str) -> dict[str, str]:
    """A status callback's form fields, as the provider sends them."""
    params = {
        "MessageSid": text.sid, "SmsSid": text.sid, "AccountSid": text.account_sid, "From": text.from_number,
        "To": text.to_number, "MessageStatus": status, "SmsStatus": status, "ApiVersion": API_VERSION,
    }
    if text.error_code:
        params["ErrorCode"] = str(text.error_code)
    return params


def inbound_params(text: GatewayMessage) -> dict[str, str]:
    """An incoming message webhook's form fields, as the provider sends them."""
    return {
        "MessageSid": text.sid, "SmsMessageSid": text.sid, "SmsSid": text.sid, "AccountSid": text.account_sid,
        "From": text.from_number, "To": text.to_number, "Body": text.body, "NumMedia": "0", "NumSegments": "1",
        "SmsStatus": "received", "ApiVersion": API_VERSION,
    }


def receipts_deliver(sid: str) -> list[str]:
    """Post one outbound text's final status (delivered, or undelivered with the carrier's error); returns the
    steps posted. Only the final status is posted: the hosted provider, too, may skip the intermediate ones
    (sent) when the handset answers at once, and a receiver must accept any subset in any order. One
    conditional UPDATE takes the text from queued, so a second call posts nothing."""
    text = GatewayMessage.objects.filter(sid=sid, status=GatewayStatus.QUEUED).first()
    if text is None:
        return []
    final = GatewayStatus.UNDELIVERED if undeliverable(text.to_number) else GatewayStatus.DELIVERED
    fields = {"status": final}
    if final == GatewayStatus.UNDELIVERED:
        fields.update(error_code=UNDELIVERABLE_ERROR[0], error_message=UNDELIVERABLE_ERROR[1])
    if not GatewayMessage.objects.filter(pk=text.pk, status=GatewayStatus.QUEUED).update(**fields):
        return []
    text.status = final
    text.error_code = fields.get("error_code", text.error_code)
    if text.status_callback:
        post_signed(text.status_callback, status_params(text, final))
    return [final]


def inbound_deliver(sid: str) -> int:
    """Post one reply typed on the phone page to our inbound webhook; returns the HTTP status (0: unreachable)."""
    text = GatewayMessage.objects.get(sid=sid)
    return post_signed(inbound_webhook_url(), inbound_params(text))


def inbound_webhook_url() -> str:
    from django.urls import reverse

    return settings.PUBLIC_BASE_URL + reverse("communications_public:sms_inbound")


_jobs: queue.Queue[Callable[[], object]] = queue.Queue()
_thread: list[threading.Thread] = []
_thread_lock = threading.Lock()


def _run() -> None:
    while True:
        job = _jobs.get()
        try:
            job()
        except Exception:
            logger.exception("SMS gateway: a receipt or reply could not be posted")
        finally:
            close_old_connections()


def dispatch(job: Callable[[], object]) -> None:
    """Run `job` on the receipt thread (started on first use), or now when the thread is off."""
    if not settings.SMS_GATEWAY_RECEIPTS:
        job()
        return
    with _thread_lock:
        if not _thread or not _thread[0].is_alive():
            thread = threading.Thread(target=_run, name="sms-gateway-receipts", daemon=True)
            thread.start()
            _thread[:] = [thread]
    _jobs.put(job)

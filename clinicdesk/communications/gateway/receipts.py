"""The gateway's own calls back to us, the way the hosted provider makes them: delivery receipts (the final
status only) to each text's StatusCallback and patients' replies to the inbound webhook, as signed form posts.

They leave from background threads (settings.SMS_GATEWAY_RECEIPTS): receipts from a pool of
SMS_GATEWAY_RECEIPT_THREADS threads per process, each writing the statuses of the receipts waiting (up to
RECEIPT_BATCH) at once and then posting them, replies from one thread. A send is answered at once and its
receipt follows, as with the real provider. With the thread off (tests) they are posted
inline through `poster`, which tests may point at Django's test client.
"""

from __future__ import annotations

import http.client
import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from ..channels.sms import SIGNATURE_HEADER, twilio_signature
from .models import GatewayMessage, GatewayStatus
from .numbers import UNDELIVERABLE_ERROR, undeliverable

logger = logging.getLogger(__name__)
API_VERSION = "2010-04-01"


class Poster(Protocol):
    def __call__(self, url: str, data: dict[str, str], headers: dict[str, str]) -> int: ...


class HttpPoster:
    """Form posts over HTTP/1.1 keep-alive with the standard library's client, one connection per thread and
    host: a receipt is a small form post and the pool posts thousands a minute, so the lightest client is used
    (httpx costs several times its CPU per request). A kept-alive connection the server has closed is opened
    again once; a receipt posted twice is harmless, the receiver is idempotent."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._local = threading.local()

    def __call__(self, url: str, data: dict[str, str], headers: dict[str, str]) -> int:
        parts = urlsplit(url)
        connections = self._local.__dict__.setdefault("connections", {})
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = urlencode(data)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        for attempt in (1, 2):
            connection = connections.get((parts.scheme, parts.netloc))
            if connection is None:
                kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
                connection = connections[(parts.scheme, parts.netloc)] = kind(parts.netloc, timeout=self.timeout)
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, OSError):
                connection.close()
                del connections[(parts.scheme, parts.netloc)]
                if attempt == 2:
                    raise
        return 0


poster: Poster = HttpPoster()


def post_signed(url: str, params: dict[str, str]) -> int:
    """Post `params` to `url` signed like the provider signs (X-Twilio-Signature with the account's auth token)."""
    signature = twilio_signature(url, params, settings.SMS_AUTH_TOKEN)
    try:
        return poster(url, params, {SIGNATURE_HEADER: signature})
    except (httpx.HTTPError, http.client.HTTPException, OSError) as exc:
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
    (sent) when the handset answers at once, and a receiver must accept any subset in any order. The text
    leaves queued once, so a second call posts nothing."""
    return receipts_deliver_many([sid]).get(sid, [])


def receipts_deliver_many(sids: list[str]) -> dict[str, list[str]]:
    """`receipts_deliver` for many texts: their final statuses written with one locking read and one UPDATE per
    status, then each receipt posted (one signed request per text, as the provider makes them). A text another
    call took from queued meanwhile is skipped: the locking read sees it no longer queued."""
    with transaction.atomic():
        texts = list(GatewayMessage.objects.select_for_update().filter(sid__in=sids, status=GatewayStatus.QUEUED)
                     .order_by("pk"))
        by_status: dict[str, list[GatewayMessage]] = {}
        for text in texts:
            by_status.setdefault(
                GatewayStatus.UNDELIVERED if undeliverable(text.to_number) else GatewayStatus.DELIVERED, []).append(text)
        for final, group in by_status.items():
            fields = {"status": final, "updated_at": timezone.now()}
            if final == GatewayStatus.UNDELIVERED:
                fields.update(error_code=UNDELIVERABLE_ERROR[0], error_message=UNDELIVERABLE_ERROR[1])
            GatewayMessage.objects.filter(pk__in=[t.pk for t in group]).update(**fields)
            for text in group:
                text.status = final
                text.error_code = fields.get("error_code", text.error_code)
    for text in texts:
        if text.status_callback:
            post_signed(text.status_callback, status_params(text, text.status))
    return {text.sid: [text.status] for text in texts}


def inbound_deliver(sid: str) -> int:
    """Post one reply typed on the phone page to our inbound webhook; returns the HTTP status (0: unreachable)."""
    text = GatewayMessage.objects.get(sid=sid)
    return post_signed(inbound_webhook_url(), inbound_params(text))


def inbound_webhook_url() -> str:
    from django.urls import reverse

    return settings.PUBLIC_BASE_URL + reverse("communications_public:sms_inbound")


_jobs: queue.Queue[Callable[[], object]] = queue.Queue()
_receipts: queue.Queue[str] = queue.Queue()
_threads: list[threading.Thread] = []
_thread_lock = threading.Lock()
# Receipts one pool thread writes and posts in one go (the rest wait for the next free thread).
RECEIPT_BATCH = 100


def _run() -> None:
    while True:
        job = _jobs.get()
        try:
            job()
        except Exception:
            logger.exception("SMS gateway: a receipt or reply could not be posted")
        finally:
            close_old_connections()


def _run_receipts() -> None:
    while True:
        sids = [_receipts.get()]
        while len(sids) < RECEIPT_BATCH:
            try:
                sids.append(_receipts.get_nowait())
            except queue.Empty:
                break
        try:
            receipts_deliver_many(sids)
        except Exception:
            logger.exception("SMS gateway: %d receipt(s) could not be posted", len(sids))
        finally:
            close_old_connections()


def _start_threads() -> None:
    with _thread_lock:
        if _threads and all(thread.is_alive() for thread in _threads):
            return
        _threads[:] = [threading.Thread(target=_run, name="sms-gateway-replies", daemon=True)] + [
            threading.Thread(target=_run_receipts, name=f"sms-gateway-receipts-{n}", daemon=True)
            for n in range(settings.SMS_GATEWAY_RECEIPT_THREADS)]
        for thread in _threads:
            thread.start()


def dispatch(job: Callable[[], object]) -> None:
    """Run `job` (a reply typed on the phone page) on the gateway's background thread (started on first use),
    or now when the background threads are off."""
    if not settings.SMS_GATEWAY_RECEIPTS:
        job()
        return
    _start_threads()
    _jobs.put(job)


def receipt_due(sid: str) -> None:
    """Have a taken text's receipt written and posted by the receipt pool (settings.SMS_GATEWAY_RECEIPT_THREADS
    threads, each taking up to RECEIPT_BATCH waiting receipts at a time), or now when the threads are off."""
    if not settings.SMS_GATEWAY_RECEIPTS:
        receipts_deliver(sid)
        return
    _start_threads()
    _receipts.put(sid)

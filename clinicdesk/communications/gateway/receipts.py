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
from django.db import close_old_connections, connection
from django.utils import timezone

from ..channels.sms import SIGNATURE_HEADER, twilio_signature
from . import numbers
from .models import GatewayMessage, GatewayStatus
from .numbers import UNDELIVERABLE_ERROR

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
    """`receipts_deliver` for many texts: their final statuses written with one UPDATE that returns what the
    receipts need, then each receipt posted (one signed request per text, as the provider makes them). A text
    another call took from queued meanwhile is skipped: the UPDATE matches only texts still queued (on
    PostgreSQL a concurrent one waits for the other's row lock, then finds the row no longer queued)."""
    if not sids:
        return {}
    table = GatewayMessage._meta.db_table
    undelivered = numbers.UNDELIVERABLE_LIKE
    code, reason = UNDELIVERABLE_ERROR
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET
                    status = CASE WHEN to_number LIKE %s THEN %s ELSE %s END,
                    error_code = CASE WHEN to_number LIKE %s THEN %s ELSE error_code END,
                    error_message = CASE WHEN to_number LIKE %s THEN %s ELSE error_message END,
                    updated_at = %s
                WHERE sid IN ({", ".join(["%s"] * len(sids))}) AND status = %s
                RETURNING id, sid, account_sid, from_number, to_number, status, error_code, status_callback""",  # noqa: S608  (our table; every value is a parameter)
            [undelivered, GatewayStatus.UNDELIVERED, GatewayStatus.DELIVERED, undelivered, code, undelivered, reason,
             connection.ops.adapt_datetimefield_value(timezone.now()), *sids, GatewayStatus.QUEUED],
        )
        rows = sorted(cursor.fetchall())
    texts = [GatewayMessage(id=pk, sid=sid, account_sid=account, from_number=sender, to_number=to, status=status,
                            error_code=error, status_callback=callback)
             for pk, sid, account, sender, to, status, error, callback in rows]
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

"""The local processor's webhooks: each event is stored with the change that caused it and posted to our
endpoint after that transaction commits, as JSON signed with Stripe-Signature under CARD_WEBHOOK_SECRET.

Retries: an event our endpoint does not acknowledge with a 2xx is tried again after 1, 2, 4, 8 ... minutes
(up to CARD_PROCESSOR_WEBHOOK_ATTEMPTS), by the `card_processor_events_redeliver` task that runs every minute
(registered in billing's AppConfig when the local processor is on). Stripe retries for up to three days; this
is the same idea at a smaller scale. Posts leave from one background thread per process
(CARD_PROCESSOR_WEBHOOK_THREAD, off in tests), so an API call is answered first and its events follow;
with the thread off they are posted inline through `poster`, which tests may point at an in-process client.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

import httpx
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from ..cards import SIGNATURE_HEADER
from ..cards.webhooks import signature_header
from .models import ProcessorEvent

logger = logging.getLogger(__name__)
API_VERSION = "2024-06-20"


class Poster(Protocol):
    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


class HttpxPoster:
    """JSON posts over HTTP with one pooled client per process."""

    def __init__(self) -> None:
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=10.0)
        return self._client.post(url, content=body, headers=headers).status_code


poster: Poster = HttpxPoster()


def webhook_url() -> str:
    from django.urls import reverse

    return settings.PUBLIC_BASE_URL + reverse("billing_public:card_webhook")


def event_emit(event_type: str, obj: dict, *, idempotency_key: str = "") -> ProcessorEvent:
    """Store an event about `obj` in the current transaction and post it once that transaction commits."""
    from .store import new_id

    created = int(timezone.now().timestamp())
    evt_id = new_id("evt")
    payload = {
        "id": evt_id, "object": "event", "api_version": API_VERSION, "created": created,
        "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": idempotency_key or None}, "type": event_type,
    }
    event = ProcessorEvent.objects.create(evt_id=evt_id, event_type=event_type, payload=payload)
    transaction.on_commit(lambda: dispatch(lambda: event_deliver(evt_id)))
    return event


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** max(0, attempts - 1))


def event_deliver(evt_id: str) -> int:
    """Post one event (signed now) unless it was delivered; record the answer; returns the HTTP status
    (0: our endpoint was unreachable)."""
    event = ProcessorEvent.objects.filter(evt_id=evt_id, delivered_at__isnull=True).first()
    if event is None:
        return 0
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
               SIGNATURE_HEADER: signature_header(settings.CARD_WEBHOOK_SECRET, body)}
    try:
        status = poster(webhook_url(), body, headers)
    except httpx.HTTPError as exc:
        logger.warning("Card processor: posting %s failed: %s", evt_id, exc)
        status = 0
    event.attempts += 1
    event.last_status = status
    fields = ["attempts", "last_status"]
    if 200 <= status < 300:
        event.delivered_at = timezone.now()
        fields.append("delivered_at")
    else:
        event.next_attempt_at = timezone.now() + _backoff(event.attempts)
        fields.append("next_attempt_at")
    event.save(update_fields=fields)
    return status


def events_redeliver() -> int:
    """Post again every undelivered event whose next attempt is due and that has attempts left; returns how many."""
    due = list(ProcessorEvent.objects.filter(
        delivered_at__isnull=True, next_attempt_at__lte=timezone.now(),
        attempts__lt=settings.CARD_PROCESSOR_WEBHOOK_ATTEMPTS,
    ).values_list("evt_id", flat=True)[:500])
    for evt_id in due:
        event_deliver(evt_id)
    return len(due)


_jobs: queue.Queue[Callable[[], object]] = queue.Queue()
_thread: list[threading.Thread] = []
_thread_lock = threading.Lock()


def _run() -> None:
    while True:
        job = _jobs.get()
        try:
            job()
        except Exception:
            logger.exception("Card processor: a webhook event could not be posted")
        finally:
            close_old_connections()


def dispatch(job: Callable[[], object]) -> None:
    """Run `job` on the webhook thread (started on first use), or now when the thread is off."""
    if not settings.CARD_PROCESSOR_WEBHOOK_THREAD:
        job()
        return
    with _thread_lock:
        if not _thread or not _thread[0].is_alive():
            thread = threading.Thread(target=_run, name="card-processor-webhooks", daemon=True)
            thread.start()
            _thread[:] = [thread]
    _jobs.put(job)

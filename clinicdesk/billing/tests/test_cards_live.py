"""The local processor served by a real HTTP server (pytest-django's live server, one thread per request):
twenty requests racing with one idempotency key make one payment intent, and a payment's webhook comes back
over HTTP, signed, after the processor's transaction commits."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from ..cardprocessor import events
from ..cardprocessor.models import ProcessorEvent, ProcessorIdempotencyKey, ProcessorPaymentIntent
from ..cards import CardIntentStatus, StripeProcessor
from ..cards.webhooks import PAYMENT_INTENT_SUCCEEDED, register_card_event_handler, unregister_card_event_handler
from ..models import CardWebhookEvent
from .card_processor import SECRET_KEY, card, processor_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_processor(live_server, settings, monkeypatch):
    processor_settings(settings, live_server.url)
    # The server's request threads close their database connections after each request (no persistent ones
    # left behind to block dropping the test database).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    previous = events.poster
    events.poster = events.HttpxPoster()  # real HTTP back to the live server
    yield lambda: StripeProcessor(base_url=f"{live_server.url}/card-processor", secret_key=SECRET_KEY)
    events.poster = previous


def test_twenty_concurrent_creates_with_one_key_make_one_intent(live_processor):
    # given
    method = card(live_processor())
    start = threading.Barrier(20)

    def authorise(_):
        processor = live_processor()  # each thread its own connection pool (the adapter's per-thread client)
        start.wait()
        return processor.authorize(amount=Decimal("55.00"), payment_method_id=method.id,
                                   idempotency_key="visit:77:card")

    # when
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(authorise, range(20)))
    # then
    assert len({r.id for r in results}) == 1
    assert {r.status for r in results} == {CardIntentStatus.REQUIRES_CAPTURE}
    assert ProcessorPaymentIntent.objects.count() == 1 and ProcessorIdempotencyKey.objects.count() == 1
    assert ProcessorPaymentIntent.objects.get().amount_capturable == 5500


def test_a_payment_webhook_comes_back_signed_over_http(live_processor):
    got = []
    handler = got.append
    register_card_event_handler(PAYMENT_INTENT_SUCCEEDED, handler)
    try:
        processor = live_processor()
        paid = processor.charge(amount=Decimal("12.34"), payment_method_id=card(processor).id,
                                idempotency_key="copay:1", metadata={"payment": "9"})
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        unregister_card_event_handler(PAYMENT_INTENT_SUCCEEDED, handler)
    assert [(e.type, e.object["id"], e.object["amount_received"], e.object["metadata"]) for e in got] == [
        (PAYMENT_INTENT_SUCCEEDED, paid.id, 1234, {"payment": "9"})]
    assert CardWebhookEvent.objects.get().object_id == paid.id
    assert ProcessorEvent.objects.get().last_status == 200

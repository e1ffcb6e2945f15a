"""The card processor's webhooks: Stripe's signature (valid, forged, stale), one run of the handlers per event
id, unknown events acknowledged, and the local processor's events reaching our endpoint after commit, with
retries when it does not answer."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from ..cardprocessor import events
from ..cardprocessor.models import ProcessorEvent
from ..cards import SIGNATURE_HEADER
from ..cards.webhooks import (
    CHARGE_REFUNDED,
    PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED,
    PAYMENT_INTENT_CANCELED,
    PAYMENT_INTENT_PAYMENT_FAILED,
    PAYMENT_INTENT_SUCCEEDED,
    register_card_event_handler,
    signature_header,
    signature_valid,
    stripe_signature,
    unregister_card_event_handler,
)
from ..models import CardWebhookEvent
from . import card_processor
from .card_processor import WEBHOOK_SECRET, card

processor_http = card_processor.processor_http
processor = card_processor.processor

WEBHOOK = "/webhooks/cards/"
ALL_TYPES = [PAYMENT_INTENT_SUCCEEDED, PAYMENT_INTENT_PAYMENT_FAILED, PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED,
             PAYMENT_INTENT_CANCELED, CHARGE_REFUNDED]


@pytest.fixture
def seen():
    """Every event the handlers were given, in order; the handlers are registered for the test only."""
    received = []

    def handler(event):
        received.append(event)

    for event_type in ALL_TYPES:
        register_card_event_handler(event_type, handler)
    register_card_event_handler(PAYMENT_INTENT_SUCCEEDED, handler)  # twice: still once
    yield received
    for event_type in ALL_TYPES:
        unregister_card_event_handler(event_type, handler)


def _event(event_id="evt_1", event_type=PAYMENT_INTENT_SUCCEEDED, **obj) -> bytes:
    payload = {"id": event_id, "object": "event", "type": event_type, "created": int(time.time()),
               "livemode": False, "data": {"object": {"id": "pi_1", "object": "payment_intent", **obj}}}
    return json.dumps(payload).encode()


def _post(client, body: bytes, header: str | None = None):
    header = signature_header(WEBHOOK_SECRET, body) if header is None else header
    return client.post(WEBHOOK, content=body, headers={"Content-Type": "application/json", SIGNATURE_HEADER: header})


# --- the signature --------------------------------------------------------------------------------------------


def test_a_signature_is_valid_only_for_its_body_secret_and_time():
    body, now = b'{"id":"evt_1"}', 1_800_000_000
    header = signature_header("whsec_a", body, timestamp=now)
    assert header == f"t={now},v1={stripe_signature('whsec_a', now, body)}"
    assert signature_valid(header, body, "whsec_a", now=now)
    assert signature_valid(header, body, "whsec_a", now=now + 300)
    assert not signature_valid(header, body, "whsec_a", now=now + 301)  # stale
    assert not signature_valid(header, body, "whsec_a", now=now - 301)  # from the future
    assert not signature_valid(header, body + b" ", "whsec_a", now=now)  # body changed
    assert not signature_valid(header, body, "whsec_b", now=now)  # another secret
    assert not signature_valid(header, body, "", now=now)  # no secret: nothing is trusted
    assert not signature_valid(f"t={now}", body, "whsec_a", now=now)
    assert not signature_valid("garbage", body, "whsec_a", now=now)


def test_any_matching_v1_is_enough_while_a_secret_is_rolled():
    body, now = b"{}", 1_800_000_000
    header = f"t={now},v1={'0' * 64},v1={stripe_signature('whsec_a', now, body)},v0=ignored"
    assert signature_valid(header, body, "whsec_a", now=now)


# --- the endpoint ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_event_runs_its_handler_once_and_a_replay_is_acknowledged(processor_http, seen):
    body = _event(amount=1000)
    first = _post(processor_http, body)
    replay = _post(processor_http, body)
    assert first.status_code == 200 and first.json() == {"received": True, "replayed": False}
    assert replay.status_code == 200 and replay.json() == {"received": True, "replayed": True}
    assert [(e.id, e.type, e.object["amount"]) for e in seen] == [("evt_1", PAYMENT_INTENT_SUCCEEDED, 1000)]
    record = CardWebhookEvent.objects.get()
    assert (record.event_id, record.object_id, record.handled) == ("evt_1", "pi_1", True)


@pytest.mark.django_db
@pytest.mark.parametrize("header", [
    "", "t=1,v1=abc", "garbage",
    "FORGED", "STALE",  # made when the test runs: parallel workers must collect the same test ids
])
def test_unsigned_forged_or_stale_events_are_refused_before_anything(processor_http, seen, header):
    body = _event()
    if header == "FORGED":
        header = f"t={int(time.time())},v1={'0' * 64}"
    if header == "STALE":
        header = signature_header(WEBHOOK_SECRET, body, timestamp=int(time.time()) - 301)
    response = _post(processor_http, body, header)
    assert response.status_code == 403
    assert seen == [] and CardWebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_an_event_signed_with_another_secret_is_refused(processor_http, seen):
    body = _event()
    assert _post(processor_http, body, signature_header("whsec_other", body)).status_code == 403
    assert CardWebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_unknown_event_types_are_acknowledged_and_ignored(processor_http, seen):
    response = _post(processor_http, _event("evt_2", "customer.created"))
    assert response.status_code == 200 and seen == []
    assert CardWebhookEvent.objects.get().handled is False


@pytest.mark.django_db
def test_a_signed_body_that_is_not_an_event_is_a_400(processor_http, seen):
    for body in (b"not json", b"[]", json.dumps({"id": "evt_3", "type": "x"}).encode()):
        assert _post(processor_http, body).status_code == 400
    assert CardWebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_failing_handler_records_nothing_so_the_retry_runs_it(processor_http):
    calls = []

    def flaky(event):
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")

    register_card_event_handler(PAYMENT_INTENT_CANCELED, flaky)
    try:
        body = _event("evt_4", PAYMENT_INTENT_CANCELED)
        assert _post(processor_http, body).status_code == 500
        assert CardWebhookEvent.objects.count() == 0
        assert _post(processor_http, body).status_code == 200
        assert _post(processor_http, body).json()["replayed"] is True
    finally:
        unregister_card_event_handler(PAYMENT_INTENT_CANCELED, flaky)
    assert calls == ["evt_4", "evt_4"] and CardWebhookEvent.objects.count() == 1


# --- the local processor's events ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_processor_posts_each_event_after_commit(processor, seen, django_capture_on_commit_callbacks):
    method = card(processor)
    with django_capture_on_commit_callbacks(execute=True):
        auth = processor.authorize(amount=Decimal("90.00"), payment_method_id=method.id, idempotency_key="a")
        processor.capture(intent_id=auth.id, amount=Decimal("80.00"), idempotency_key="c")
        processor.refund(intent_id=auth.id, amount=Decimal("5.00"), idempotency_key="r")
        other = processor.authorize(amount=Decimal("10.00"), payment_method_id=method.id, idempotency_key="a2")
        processor.cancel(intent_id=other.id, idempotency_key="x")
        with pytest.raises(Exception, match="insufficient funds"):
            processor.charge(amount=Decimal("10.00"), payment_method_id=card(processor, "4000000000009995").id,
                             idempotency_key="d")
        # a replayed request sends nothing new
        processor.capture(intent_id=auth.id, amount=Decimal("80.00"), idempotency_key="c")
    assert [e.type for e in seen] == [PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED, PAYMENT_INTENT_SUCCEEDED,
                                      CHARGE_REFUNDED, PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED,
                                      PAYMENT_INTENT_CANCELED, PAYMENT_INTENT_PAYMENT_FAILED]
    succeeded, refunded = seen[1].object, seen[2].object
    assert (succeeded["id"], succeeded["amount_received"], succeeded["status"]) == (auth.id, 8000, "succeeded")
    assert (refunded["object"], refunded["payment_intent"], refunded["amount_refunded"]) == ("charge", auth.id, 500)
    assert seen[5].object["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert not ProcessorEvent.objects.filter(delivered_at__isnull=True).exists()
    assert CardWebhookEvent.objects.count() == ProcessorEvent.objects.count() == 6


@pytest.mark.django_db
def test_no_event_leaves_before_commit(processor, seen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        processor.charge(amount=Decimal("10.00"), payment_method_id=card(processor).id, idempotency_key="p")
    assert seen == [] and len(pending) == 1
    assert ProcessorEvent.objects.get().delivered_at is None


@pytest.mark.django_db
def test_an_event_our_endpoint_missed_is_posted_again_later(processor, processor_http, seen, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    # given: our endpoint is down when the payment is made
    answers = iter([500, "unreachable"])

    def down(url, body, headers):
        answer = next(answers)
        if answer == "unreachable":
            raise httpx.ConnectError("refused")
        return answer

    monkeypatch.setattr(events, "poster", down)
    with django_capture_on_commit_callbacks(execute=True):
        processor.charge(amount=Decimal("10.00"), payment_method_id=card(processor).id, idempotency_key="p")
    event = ProcessorEvent.objects.get()
    assert (event.attempts, event.last_status, event.delivered_at) == (1, 500, None)
    assert event.next_attempt_at > timezone.now() + timedelta(seconds=50)
    # when: not due yet, then due but still unreachable, then due and back up
    assert events.events_redeliver() == 0
    ProcessorEvent.objects.update(next_attempt_at=timezone.now())
    assert events.events_redeliver() == 1
    event.refresh_from_db()
    assert (event.attempts, event.last_status) == (2, 0)
    assert event.next_attempt_at > timezone.now() + timedelta(seconds=110)  # backs off: 1, 2, 4 ... minutes
    monkeypatch.setattr(events, "poster", lambda url, body, headers: processor_http.post(
        url, content=body, headers=headers).status_code)
    ProcessorEvent.objects.update(next_attempt_at=timezone.now())
    assert events.events_redeliver() == 1
    # then
    event.refresh_from_db()
    assert event.delivered_at and event.attempts == 3 and [e.type for e in seen] == [PAYMENT_INTENT_SUCCEEDED]
    assert events.events_redeliver() == 0


@pytest.mark.django_db
def test_the_processor_gives_up_after_its_attempts(processor, settings, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    settings.CARD_PROCESSOR_WEBHOOK_ATTEMPTS = 2
    monkeypatch.setattr(events, "poster", lambda url, body, headers: 503)
    with django_capture_on_commit_callbacks(execute=True):
        processor.charge(amount=Decimal("10.00"), payment_method_id=card(processor).id, idempotency_key="p")
    ProcessorEvent.objects.update(next_attempt_at=timezone.now())
    assert events.events_redeliver() == 1
    ProcessorEvent.objects.update(next_attempt_at=timezone.now())
    assert events.events_redeliver() == 0
    assert ProcessorEvent.objects.get().attempts == 2

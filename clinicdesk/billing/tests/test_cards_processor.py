"""The card adapter against the local processor over HTTP: authorise, capture, decline, cancel, refund,
idempotency, and the checks a processor makes on cards and amounts."""

from decimal import Decimal

import pytest

from ..cardprocessor.models import ProcessorIdempotencyKey, ProcessorPaymentIntent, ProcessorPaymentMethod
from ..cards import CardDeclined, CardIntentStatus, PermanentFailure, StripeProcessor
from . import card_processor
from .card_processor import api_headers, card

processor_http = card_processor.processor_http
processor = card_processor.processor

pytestmark = pytest.mark.django_db


def test_authorise_then_capture(processor):
    # given
    method = card(processor)
    # when
    auth = processor.authorize(amount=Decimal("125.40"), payment_method_id=method.id, idempotency_key="visit:1:auth",
                               description="Visit 1", metadata={"payment": "42"})
    captured = processor.capture(intent_id=auth.id, idempotency_key="visit:1:capture")
    # then
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("visa", "4242", 12, 2035)
    assert auth.status == CardIntentStatus.REQUIRES_CAPTURE and auth.amount == Decimal("125.40")
    assert auth.amount_capturable == Decimal("125.40") and auth.amount_received == Decimal("0.00")
    assert (auth.brand, auth.last4, auth.metadata) == ("visa", "4242", {"payment": "42"})
    assert captured.id == auth.id and captured.status == CardIntentStatus.SUCCEEDED
    assert captured.amount_received == Decimal("125.40") and captured.amount_capturable == Decimal("0.00")
    stored = ProcessorPaymentIntent.objects.get(pi_id=auth.id)
    assert (stored.amount, stored.amount_received, stored.capture_method) == (12540, 12540, "manual")


def test_partial_capture_releases_the_rest(processor):
    auth = processor.authorize(amount=Decimal("120.00"), payment_method_id=card(processor).id, idempotency_key="a")
    captured = processor.capture(intent_id=auth.id, amount=Decimal("80.25"), idempotency_key="c")
    assert captured.status == CardIntentStatus.SUCCEEDED
    assert captured.amount_received == Decimal("80.25") and captured.amount_capturable == Decimal("0.00")
    with pytest.raises(PermanentFailure) as again:
        processor.capture(intent_id=auth.id, amount=Decimal("10.00"), idempotency_key="c2")
    assert again.value.code == "payment_intent_unexpected_state"


def test_capture_more_than_authorised_is_refused(processor):
    auth = processor.authorize(amount=Decimal("50.00"), payment_method_id=card(processor).id, idempotency_key="a")
    with pytest.raises(PermanentFailure) as refused:
        processor.capture(intent_id=auth.id, amount=Decimal("50.01"), idempotency_key="c")
    assert refused.value.code == "amount_too_large"
    assert processor.retrieve(intent_id=auth.id).status == CardIntentStatus.REQUIRES_CAPTURE


def test_charge_captures_at_once(processor):
    paid = processor.charge(amount=Decimal("30.00"), payment_method_id=card(processor, "5555555555554444").id,
                            idempotency_key="copay:7")
    assert paid.status == CardIntentStatus.SUCCEEDED and paid.amount_received == Decimal("30.00")
    assert (paid.brand, paid.last4) == ("mastercard", "4444") and paid.charge_id.startswith("ch_")


def test_amex_takes_a_four_digit_cvc(processor):
    method = card(processor, "378282246310005", cvc="1234")
    assert (method.brand, method.last4) == ("amex", "0005")
    with pytest.raises(CardDeclined) as short_cvc:
        card(processor, "378282246310005", cvc="123")
    assert short_cvc.value.code == "invalid_cvc"


@pytest.mark.parametrize("number, code, decline_code", [
    ("4000000000000002", "card_declined", "generic_decline"),
    ("4000000000009995", "card_declined", "insufficient_funds"),
    ("4000000000000069", "expired_card", "expired_card"),
    ("4000000000000127", "incorrect_cvc", "incorrect_cvc"),
])
def test_stripe_test_cards_decline_with_their_codes(processor, number, code, decline_code):
    method = card(processor, number)
    with pytest.raises(CardDeclined) as declined:
        processor.authorize(amount=Decimal("20.00"), payment_method_id=method.id, idempotency_key=f"d:{number}")
    assert (declined.value.code, declined.value.decline_code) == (code, decline_code)
    assert declined.value.message.startswith("Your card")
    intent = ProcessorPaymentIntent.objects.get(pi_id=declined.value.intent_id)
    assert intent.status == CardIntentStatus.REQUIRES_PAYMENT_METHOD and intent.amount_capturable == 0
    assert intent.last_payment_error["decline_code"] == decline_code


def test_a_decline_is_replayed_for_its_key_not_tried_again(processor):
    method = card(processor, "4000000000009995")
    with pytest.raises(CardDeclined) as first:
        processor.charge(amount=Decimal("20.00"), payment_method_id=method.id, idempotency_key="k")
    with pytest.raises(CardDeclined) as again:
        processor.charge(amount=Decimal("20.00"), payment_method_id=method.id, idempotency_key="k")
    assert first.value.intent_id == again.value.intent_id
    assert ProcessorPaymentIntent.objects.count() == 1


@pytest.mark.parametrize("number, exp_month, exp_year, code", [
    ("4242424242424241", 12, 2035, "incorrect_number"),  # Luhn fails
    ("424242424242424", 12, 2035, "incorrect_number"),  # too short for Visa
    ("4242424242424242", 13, 2035, "invalid_expiry_month"),
    ("4242424242424242", 12, 2019, "invalid_expiry_year"),
])
def test_cards_are_checked_when_given(processor, number, exp_month, exp_year, code):
    with pytest.raises(CardDeclined) as refused:
        processor.payment_method_create(number=number, exp_month=exp_month, exp_year=exp_year, cvc="123")
    assert refused.value.code == code
    assert ProcessorPaymentMethod.objects.count() == 0


def test_a_card_that_is_not_a_test_card_is_refused_and_not_kept(processor):
    with pytest.raises(CardDeclined) as refused:
        card(processor, "4111111111111111")
    assert refused.value.decline_code == "test_mode_live_card"
    assert ProcessorPaymentMethod.objects.count() == 0


def test_the_number_and_cvc_are_never_stored(processor):
    method = card(processor, "4242424242424242", cvc="987")
    row = ProcessorPaymentMethod.objects.filter(pm_id=method.id).values().get()
    stored = " ".join(str(value) for value in row.values())
    assert "4242424242424242" not in stored and "987" not in stored
    assert row["last4"] == "4242" and len(row["fingerprint"]) == 16
    # the same card gives the same fingerprint: it can be recognised without the number
    assert ProcessorPaymentMethod.objects.get(pm_id=card(processor).id).fingerprint == row["fingerprint"]


def test_refund_partial_then_the_rest(processor):
    paid = processor.charge(amount=Decimal("100.00"), payment_method_id=card(processor).id, idempotency_key="p")
    # when
    part = processor.refund(intent_id=paid.id, amount=Decimal("30.10"), idempotency_key="r1")
    rest = processor.refund(intent_id=paid.id, idempotency_key="r2")
    # then
    assert (part.amount, part.status, part.intent_id) == (Decimal("30.10"), "succeeded", paid.id)
    assert rest.amount == Decimal("69.90") and part.id != rest.id
    assert ProcessorPaymentIntent.objects.get(pi_id=paid.id).amount_refunded == 10000
    with pytest.raises(PermanentFailure) as nothing_left:
        processor.refund(intent_id=paid.id, amount=Decimal("1.00"), idempotency_key="r3")
    assert nothing_left.value.code == "charge_already_refunded"


def test_a_refund_never_passes_what_was_captured(processor):
    auth = processor.authorize(amount=Decimal("100.00"), payment_method_id=card(processor).id, idempotency_key="a")
    processor.capture(intent_id=auth.id, amount=Decimal("60.00"), idempotency_key="c")
    with pytest.raises(PermanentFailure) as too_much:
        processor.refund(intent_id=auth.id, amount=Decimal("60.01"), idempotency_key="r")
    assert too_much.value.code == "amount_too_large" and "$60.01" in too_much.value.message
    assert processor.refund(intent_id=auth.id, idempotency_key="r-all").amount == Decimal("60.00")
    assert ProcessorPaymentIntent.objects.get(pi_id=auth.id).amount_refunded == 6000


def test_an_authorisation_cannot_be_refunded_but_can_be_cancelled(processor):
    auth = processor.authorize(amount=Decimal("75.00"), payment_method_id=card(processor).id, idempotency_key="a")
    with pytest.raises(PermanentFailure) as refused:
        processor.refund(intent_id=auth.id, idempotency_key="r")
    assert refused.value.code == "charge_not_refundable"
    cancelled = processor.cancel(intent_id=auth.id, idempotency_key="x")
    assert cancelled.status == CardIntentStatus.CANCELED and cancelled.amount_capturable == Decimal("0.00")
    with pytest.raises(PermanentFailure):
        processor.capture(intent_id=auth.id, idempotency_key="c")


def test_a_captured_payment_cannot_be_cancelled(processor):
    paid = processor.charge(amount=Decimal("75.00"), payment_method_id=card(processor).id, idempotency_key="p")
    with pytest.raises(PermanentFailure) as refused:
        processor.cancel(intent_id=paid.id, idempotency_key="x")
    assert refused.value.code == "payment_intent_unexpected_state"


def test_same_key_same_request_replays_the_first_answer(processor, processor_http):
    method = card(processor)
    first = processor.authorize(amount=Decimal("40.00"), payment_method_id=method.id, idempotency_key="visit:9")
    again = processor.authorize(amount=Decimal("40.00"), payment_method_id=method.id, idempotency_key="visit:9")
    assert again == first and ProcessorPaymentIntent.objects.count() == 1
    # on the wire: the replay says so
    data = {"amount": "4000", "currency": "usd", "payment_method": method.id, "payment_method_types[]": "card",
            "confirm": "true", "capture_method": "manual", "expand[]": "payment_method"}
    raw = processor_http.post("/card-processor/v1/payment_intents", data=data, headers=api_headers("visit:9"))
    assert raw.status_code == 200 and raw.headers["Idempotent-Replayed"] == "true" and raw.json()["id"] == first.id


def test_same_key_different_parameters_is_refused(processor):
    method = card(processor)
    processor.authorize(amount=Decimal("40.00"), payment_method_id=method.id, idempotency_key="visit:9")
    with pytest.raises(PermanentFailure) as refused:
        processor.authorize(amount=Decimal("41.00"), payment_method_id=method.id, idempotency_key="visit:9")
    assert refused.value.code == "idempotency_error" and refused.value.status == 400
    assert "same parameters" in refused.value.message
    assert ProcessorPaymentIntent.objects.count() == 1


def test_a_refused_request_leaves_its_key_free(processor_http):
    bad = processor_http.post("/card-processor/v1/payment_intents", data={"amount": "12.5", "currency": "usd"},
                              headers=api_headers("k1"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "parameter_invalid_integer"
    assert not ProcessorIdempotencyKey.objects.filter(key="k1").exists()
    good = processor_http.post("/card-processor/v1/payment_intents", data={"amount": "1250", "currency": "usd"},
                               headers=api_headers("k1"))
    assert good.status_code == 200 and good.json()["status"] == "requires_payment_method"


@pytest.mark.parametrize("data, code", [
    ({"amount": "49", "currency": "usd"}, "amount_too_small"),
    ({"amount": "-100", "currency": "usd"}, "parameter_invalid_integer"),
    ({"amount": "100.00", "currency": "usd"}, "parameter_invalid_integer"),
    ({"currency": "usd"}, "parameter_missing"),
    ({"amount": "100", "currency": "usd", "surprise": "1"}, "parameter_unknown"),
    ({"amount": "100", "currency": "usd", "payment_method": "pm_nope", "confirm": "true"}, "resource_missing"),
])
def test_the_processor_refuses_bad_parameters_like_stripe(processor_http, data, code):
    response = processor_http.post("/card-processor/v1/payment_intents", data=data, headers=api_headers())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == code
    assert ProcessorPaymentIntent.objects.count() == 0


def test_the_processor_wants_its_secret_key(processor_http, settings):
    data = {"amount": "100", "currency": "usd"}
    assert processor_http.post("/card-processor/v1/payment_intents", data=data).status_code == 403
    wrong = processor_http.post("/card-processor/v1/payment_intents", data=data,
                                headers={"Authorization": "Bearer sk_test_wrong"})
    assert wrong.status_code == 403 and wrong.json()["error"]["type"] == "invalid_request_error"
    stranger = StripeProcessor(base_url=settings.CARD_PROCESSOR_BASE_URL, secret_key="sk_test_wrong",
                               client=processor_http)
    with pytest.raises(PermanentFailure):
        card(stranger)
    assert ProcessorPaymentIntent.objects.count() == 0


def test_an_unknown_intent_is_a_404(processor, processor_http):
    response = processor_http.get("/card-processor/v1/payment_intents/pi_nothing", headers=api_headers())
    assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"
    with pytest.raises(PermanentFailure):
        processor.capture(intent_id="pi_nothing", idempotency_key="c")


def test_a_card_given_with_an_idempotency_key_leaves_no_number_behind(processor_http):
    data = {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2035",
            "card[cvc]": "987"}
    first = processor_http.post("/card-processor/v1/payment_methods", data=data, headers=api_headers("pm:1"))
    again = processor_http.post("/card-processor/v1/payment_methods", data=data, headers=api_headers("pm:1"))
    assert first.status_code == again.status_code == 200 and first.json()["id"] == again.json()["id"]
    record = ProcessorIdempotencyKey.objects.values().get()
    stored = " ".join(str(value) for value in record.values())
    assert "4242424242424242" not in stored and "987" not in stored
    assert first.json()["card"]["last4"] == "4242" and "number" not in first.json()["card"]


def test_the_local_processor_is_served_only_when_it_is_on(settings):
    import importlib

    from .. import urls_public

    try:
        settings.CARD_LOCAL_PROCESSOR = False
        off = [str(p.pattern) for p in importlib.reload(urls_public).urlpatterns]
        settings.CARD_LOCAL_PROCESSOR = True
        on = [str(p.pattern) for p in importlib.reload(urls_public).urlpatterns]
    finally:
        settings.CARD_LOCAL_PROCESSOR = True
        importlib.reload(urls_public)
    assert "webhooks/cards/" in off and "card-processor/" not in off
    assert "card-processor/" in on

"""Amounts cross the card interface as Decimal dollars and become integer cents exactly, or are refused."""

from decimal import Decimal

import pytest

from ..cardprocessor.models import ProcessorPaymentIntent
from ..cards import from_cents, to_cents
from . import card_processor
from .card_processor import card

processor_http = card_processor.processor_http
processor = card_processor.processor


@pytest.mark.parametrize("amount, cents", [
    (Decimal("0.01"), 1), (Decimal("12.5"), 1250), (Decimal("125.40"), 12540), (Decimal("10.000"), 1000),
    (Decimal("999999.99"), 99999999), (Decimal("1E+2"), 10000),
])
def test_dollars_become_cents_exactly(amount, cents):
    assert to_cents(amount) == cents
    assert from_cents(cents) == amount and str(from_cents(cents)).count(".") == 1


@pytest.mark.parametrize("amount", [Decimal("10.005"), Decimal("0.001"), Decimal("19.999"), Decimal("1E-3")])
def test_fractions_of_a_cent_are_refused(amount):
    with pytest.raises(ValueError, match="fraction of a cent"):
        to_cents(amount)


@pytest.mark.parametrize("amount", [10.5, 10, "10.00", None, True])
def test_anything_but_a_decimal_is_refused(amount):
    with pytest.raises(TypeError):
        to_cents(amount)


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5.00"), Decimal("NaN"), Decimal("Infinity")])
def test_nothing_and_less_than_nothing_are_refused(amount):
    with pytest.raises(ValueError):
        to_cents(amount)


@pytest.mark.django_db
def test_the_adapter_refuses_before_calling_the_processor(processor):
    method = card(processor)
    with pytest.raises(ValueError):
        processor.authorize(amount=Decimal("10.005"), payment_method_id=method.id, idempotency_key="k1")
    with pytest.raises(TypeError):
        processor.charge(amount=10.5, payment_method_id=method.id, idempotency_key="k2")
    auth = processor.authorize(amount=Decimal("10.00"), payment_method_id=method.id, idempotency_key="k3")
    with pytest.raises(ValueError):
        processor.capture(intent_id=auth.id, amount=Decimal("5.001"), idempotency_key="k4")
    with pytest.raises(TypeError):
        processor.refund(intent_id=auth.id, amount=5.0, idempotency_key="k5")
    assert ProcessorPaymentIntent.objects.count() == 1

"""The desk's card payments against the local Stripe-compatible processor (real adapter, real processor views,
in-process HTTP): a typed card is turned into a payment method and charged once, a declining test card shows the
processor's reason and posts nothing, a card refund goes back through the processor."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from clinicdesk.billing.choices import PaymentStatus
from clinicdesk.billing.models import Payment
from clinicdesk.billing.selectors.accounts import account_balance
from clinicdesk.core.choices import Role

from . import card_processor

processor_http = card_processor.processor_http
processor = card_processor.processor
local_processor = card_processor.local_processor
pytestmark = pytest.mark.django_db


def test_a_typed_card_is_charged_once_and_a_declining_card_says_why(client, make_user, family, post_charge,
                                                                    local_processor):
    # given
    post_charge(family["parent"], "100.00", service_date=date(2026, 9, 1))
    client.force_login(make_user(Role.FRONT_DESK))
    account = family["account"]
    url = reverse("billing:payment_take", args=[account.public_id])
    key = client.get(url).context["form"].initial["idempotency_key"]
    # when: a declining card first
    declined = client.post(url, {"method": "card", "amount": "60.00", "allocation": "oldest", "idempotency_key": key,
                                 "card_number": "4000000000000002", "card_expiry": "12/35", "card_cvc": "123"})
    # then: the reason is shown, nothing posted, and a fresh key for the next card
    assert declined.status_code == 400
    reason = " ".join(declined.context["form"].errors.get("card_number", []))
    assert "declined" in reason.lower()
    assert not Payment.objects.filter(status=PaymentStatus.POSTED).exists()
    fresh = declined.context["form"].data["idempotency_key"]
    # when: a good card, submitted twice
    body = {"method": "card", "amount": "60.00", "allocation": "oldest", "idempotency_key": fresh,
            "card_number": "4242424242424242", "card_expiry": "12/35", "card_cvc": "123"}
    first = client.post(url, body)
    second = client.post(url, body)
    # then: one posted card payment, charged once
    assert first.status_code == 302 and second["Location"] == first["Location"]
    payment = Payment.objects.get(status=PaymentStatus.POSTED)
    assert payment.card_last4 == "4242" and payment.card_brand.lower() == "visa" and payment.processor_id
    assert account_balance(account=account) == Decimal("40.00")
    from clinicdesk.billing.cardprocessor.models import ProcessorPaymentIntent

    assert ProcessorPaymentIntent.objects.filter(status="succeeded").count() == 1


def test_a_card_refund_goes_back_through_the_processor(client, make_user, family, post_charge, local_processor):
    from clinicdesk.billing.services.payments import payment_post

    from .card_processor import card

    post_charge(family["parent"], "50.00")
    method = card(local_processor)
    payment = payment_post(account=family["account"], amount="80.00", method="card", idempotency_key="k",
                           card_payment_method_id=method.id, allow_credit=True, actor=None)
    client.force_login(make_user(Role.BILLER))
    client.post(reverse("billing:payment_refund", args=[payment.public_id]),
                {"amount": "30.00", "method": "card", "reason": "Overpaid", "idempotency_key": "ref-1"})
    refund = payment.refunds.get()
    assert refund.processor_id.startswith("re_") and refund.status == "paid"
    assert account_balance(account=family["account"]) == Decimal("0.00")

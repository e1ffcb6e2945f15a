"""Fixtures of the card tests: the local card processor reached over real HTTP requests handled in-process
(httpx's WSGI transport into Django's test handler), so the adapter, the processor's API and the webhook view
all run their real code inside the test's transaction; and a test card helper."""

from __future__ import annotations

import pytest

from ..cardprocessor import events
from ..cardprocessor.inprocess import in_process_client
from ..cards import StripeProcessor

TEST_BASE = "http://testserver"
SECRET_KEY = "sk_test_cards_suite"  # noqa: S105  (test value)
WEBHOOK_SECRET = "whsec_cards_suite"  # noqa: S105  (test value)


def processor_settings(settings, base: str) -> None:
    settings.PUBLIC_BASE_URL = base
    settings.CARD_PROCESSOR_BASE_URL = f"{base}/card-processor"
    settings.CARD_PROCESSOR_SECRET_KEY = SECRET_KEY
    settings.CARD_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.CARD_PROCESSOR_WEBHOOK_THREAD = False


@pytest.fixture
def processor_http(settings):
    """An httpx client whose requests go to the app in-process; the processor's webhooks are posted through it."""
    processor_settings(settings, TEST_BASE)
    client = in_process_client(TEST_BASE)
    previous = events.poster
    events.poster = lambda url, body, headers: client.post(url, content=body, headers=headers).status_code
    yield client
    events.poster = previous
    client.close()


@pytest.fixture
def processor(processor_http) -> StripeProcessor:
    """The adapter, talking to the local processor at http://testserver/card-processor."""
    return StripeProcessor(base_url=f"{TEST_BASE}/card-processor", secret_key=SECRET_KEY, client=processor_http)


@pytest.fixture
def local_processor(processor, monkeypatch) -> StripeProcessor:
    """The adapter standing in for `cards.card_processor()`, so billing's services charge through the local processor."""
    from .. import cards

    monkeypatch.setattr(cards, "card_processor", lambda: processor)
    return processor


def card(processor: StripeProcessor, number: str = "4242424242424242", *, exp_year: int = 2035, cvc: str = ""):
    return processor.payment_method_create(number=number, exp_month=12, exp_year=exp_year,
                                           cvc=cvc or ("1234" if number.startswith("3") else "123"))


def api_headers(key: str = "") -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRET_KEY}"} | ({"Idempotency-Key": key} if key else {})

"""A fake card processor behind the one seam billing uses (`clinicdesk.billing.cards`, imported when a card is
used): the card tests of payments run without the local processor of the card branch. It keeps the processor's
contract: payment_method_create, charge (idempotent by key), refund; CardDeclined for Stripe's declining test card."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from decimal import Decimal

DECLINING = "4000000000000002"


class CardFailure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemporaryFailure(CardFailure):
    pass


class PermanentFailure(CardFailure):
    pass


class CardDeclined(CardFailure):
    def __init__(self, code: str, decline_code: str, message: str, *, intent_id: str = "") -> None:
        super().__init__(message)
        self.code, self.decline_code, self.intent_id = code, decline_code, intent_id


@dataclass(frozen=True)
class CardMethod:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class CardAuthorization:
    id: str
    status: str
    amount: Decimal
    brand: str
    last4: str


@dataclass(frozen=True)
class CardRefund:
    id: str
    status: str
    amount: Decimal


@dataclass
class FakeProcessor:
    methods: dict[str, CardMethod] = field(default_factory=dict)
    charges: dict[str, CardAuthorization] = field(default_factory=dict)
    refunds: dict[str, CardRefund] = field(default_factory=dict)
    numbers_seen: list[str] = field(default_factory=list)

    def payment_method_create(self, *, number: str, exp_month: int, exp_year: int, cvc: str) -> CardMethod:
        self.numbers_seen.append(number)
        if exp_year < 2026:
            raise CardDeclined("expired_card", "", "Your card has expired.")
        brand = {"4": "visa", "5": "mastercard", "3": "amex"}.get(number[0], "unknown")
        method = CardMethod(id=f"pm_{len(self.methods) + 1}_{number[-4:]}", brand=brand, last4=number[-4:],
                            exp_month=exp_month, exp_year=exp_year)
        self.methods[method.id] = method
        return method

    def charge(self, *, amount: Decimal, payment_method_id: str, idempotency_key: str, description: str = "",
               metadata=None) -> CardAuthorization:
        if idempotency_key in self.charges:
            return self.charges[idempotency_key]
        method = self.methods.get(payment_method_id) or CardMethod(payment_method_id, "visa", "4242", 12, 2035)
        if payment_method_id.endswith(DECLINING[-4:]):
            raise CardDeclined("card_declined", "generic_decline", "Your card was declined.")
        answer = CardAuthorization(id=f"pi_{len(self.charges) + 1}", status="succeeded", amount=amount,
                                   brand=method.brand, last4=method.last4)
        self.charges[idempotency_key] = answer
        return answer

    def refund(self, *, intent_id: str, amount: Decimal | None = None, idempotency_key: str) -> CardRefund:
        if idempotency_key not in self.refunds:
            self.refunds[idempotency_key] = CardRefund(id=f"re_{len(self.refunds) + 1}", status="succeeded",
                                                       amount=amount or Decimal("0"))
        return self.refunds[idempotency_key]


def install(monkeypatch) -> FakeProcessor:
    """Stand the fake in for `clinicdesk.billing.cards` for one test."""
    processor = FakeProcessor()
    module = types.ModuleType("clinicdesk.billing.cards")
    module.CardDeclined, module.TemporaryFailure, module.PermanentFailure = CardDeclined, TemporaryFailure, PermanentFailure
    module.CardMethod, module.CardAuthorization, module.CardRefund = CardMethod, CardAuthorization, CardRefund
    module.card_processor = lambda: processor
    monkeypatch.setitem(sys.modules, "clinicdesk.billing.cards", module)
    import clinicdesk.billing as package

    monkeypatch.setattr(package, "cards", module, raising=False)
    return processor

"""Where the copay due at a visit comes from. Billing knows no insurance: a higher app (insurance) registers a
source from its AppConfig.ready; the check-in copay panel and the copay form ask `copay_due`."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

CopaySource = Callable[..., Decimal | None]
COPAY_SOURCES: list[CopaySource] = []


def register_copay_source(fn: CopaySource) -> None:
    """Add `fn(patient, appointment) -> Decimal | None`; the first source with an answer wins."""
    if fn not in COPAY_SOURCES:
        COPAY_SOURCES.append(fn)


def copay_due(patient, appointment) -> Decimal | None:
    """The copay the patient owes for the visit, or None when no source knows it."""
    for source in COPAY_SOURCES:
        amount = source(patient, appointment)
        if amount is not None:
            return Decimal(amount)
    return None

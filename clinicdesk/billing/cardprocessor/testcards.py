"""Stripe's documented test card numbers and what each does, the card checks a processor makes before it takes a
card (Luhn, length, expiry, CVC), and the brand read from the number's prefix.

Like Stripe in test mode, the local processor refuses any other card number (decline_code
`test_mode_live_card`), so a real card typed into the demo is never stored, not even its last four digits.
"""

from __future__ import annotations

from .models import TestCardOutcome

# number -> (brand, outcome)
TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("visa", TestCardOutcome.SUCCEEDS),
    "4000056655665556": ("visa", TestCardOutcome.SUCCEEDS),  # debit
    "5555555555554444": ("mastercard", TestCardOutcome.SUCCEEDS),
    "2223003122003222": ("mastercard", TestCardOutcome.SUCCEEDS),  # 2-series
    "5200828282828210": ("mastercard", TestCardOutcome.SUCCEEDS),  # debit
    "378282246310005": ("amex", TestCardOutcome.SUCCEEDS),
    "371449635398431": ("amex", TestCardOutcome.SUCCEEDS),
    "6011111111111117": ("discover", TestCardOutcome.SUCCEEDS),
    "4000000000000002": ("visa", TestCardOutcome.GENERIC_DECLINE),
    "4000000000009995": ("visa", TestCardOutcome.INSUFFICIENT_FUNDS),
    "4000000000000069": ("visa", TestCardOutcome.EXPIRED_CARD),
    "4000000000000127": ("visa", TestCardOutcome.INCORRECT_CVC),
}

# outcome -> (error code, decline code, message), Stripe's wording.
DECLINES: dict[str, tuple[str, str, str]] = {
    TestCardOutcome.GENERIC_DECLINE: ("card_declined", "generic_decline", "Your card was declined."),
    TestCardOutcome.INSUFFICIENT_FUNDS: ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    TestCardOutcome.EXPIRED_CARD: ("expired_card", "expired_card", "Your card has expired."),
    TestCardOutcome.INCORRECT_CVC: ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
}


def luhn_valid(number: str) -> bool:
    """The check digit every card number carries (ISO/IEC 7812)."""
    if not number.isdigit() or not number.isascii():
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    """Stripe's brand word from the number's prefix (IIN ranges)."""
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:1] == "4":
        return "visa"
    if "51" <= number[:2] <= "55" or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith(("6011", "65")) or "644" <= number[:3] <= "649":
        return "discover"
    return "unknown"


def expected_lengths(brand: str) -> tuple[int, ...]:
    return (15,) if brand == "amex" else (16,) if brand in ("visa", "mastercard", "discover") else tuple(range(12, 20))


def cvc_length(brand: str) -> int:
    return 4 if brand == "amex" else 3

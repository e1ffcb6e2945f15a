"""Cards typed at the desk or on the pay link: the number, expiry and CVC go straight to the processor's
`payment_method_create` and only its payment-method id comes back; nothing of the card is stored or logged.

The processor comes from `clinicdesk.billing.cards.card_processor()`, imported when used, so tests can stand a fake
processor in its place (the one seam) and a practice without card processing gets a clear message, not a 500."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError


def cards_module():
    try:
        from clinicdesk.billing import cards
    except ImportError:
        raise ValidationError({"card": "Card payments are not set up for this practice."}) from None
    return cards


def parse_expiry(text: str) -> tuple[int, int]:
    """MM/YY or MM/YYYY as (month, four-digit year)."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", text or "")
    if not match:
        raise ValidationError({"card_expiry": "Write the expiry as MM/YY."})
    month, year = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValidationError({"card_expiry": "The month is 01 to 12."})
    return month, year + 2000 if year < 100 else year


def card_method_create(*, number: str, expiry: str, cvc: str):
    """Turn a typed card into the processor's payment method (id, brand, last4). A refused card is a
    ValidationError naming `card_number` with the processor's reason."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not re.fullmatch(r"\d{12,19}", digits):
        raise ValidationError({"card_number": "Enter the card number (12 to 19 digits)."})
    month, year = parse_expiry(expiry)
    if not re.fullmatch(r"\d{3,4}", (cvc or "").strip()):
        raise ValidationError({"card_cvc": "Enter the 3- or 4-digit security code."})
    cards = cards_module()
    try:
        return cards.card_processor().payment_method_create(number=digits, exp_month=month, exp_year=year,
                                                            cvc=cvc.strip())
    except cards.CardDeclined as declined:
        raise ValidationError({"card_number": f"The card was refused: {declined}"}) from None
    except (cards.TemporaryFailure, cards.PermanentFailure) as failure:
        raise ValidationError({"card": f"The card processor did not answer: {failure}. Nothing was charged."}) from None

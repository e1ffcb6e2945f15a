"""Money: Decimal only, rounded one way (half up to the cent), shown one way."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_money(amount: Decimal) -> Decimal:
    """Round to the cent, half up, as statements and claims expect. Refuses floats: they are not money."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"Money must be a Decimal, not {type(amount).__name__}.")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, *, currency: str = "$") -> str:
    """'$1,234.50', '-$12.00': for letters, messages and pages."""
    rounded = round_money(amount)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{currency}{abs(rounded):,.2f}"

from decimal import Decimal

import pytest

from clinicdesk.core.money import format_money, round_money


@pytest.mark.parametrize(("amount", "rounded"), [("2.345", "2.35"), ("2.344", "2.34"), ("-2.345", "-2.35"), ("10", "10.00")])
def test_rounding_is_half_up_to_the_cent(amount, rounded):
    assert round_money(Decimal(amount)) == Decimal(rounded)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        round_money(2.5)


def test_amounts_are_shown_with_thousands_and_sign():
    assert format_money(Decimal("1234.5")) == "$1,234.50"
    assert format_money(Decimal("-12")) == "-$12.00"

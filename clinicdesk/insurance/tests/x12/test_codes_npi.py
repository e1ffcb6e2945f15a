"""Code descriptions and the NPI check digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicdesk.core.npi import npi_check_digit, npi_is_valid
from clinicdesk.insurance.x12 import codes


def test_the_common_codes_are_described():
    assert len(codes.CARC) >= 80 and len(codes.RARC) >= 40
    assert codes.carc("45") == "Charge above the fee schedule or contracted amount"
    assert codes.rarc("N14").startswith("Payment based on a contractual amount")
    assert codes.describe(codes.ADJUSTMENT_GROUPS, "PR") == "Patient responsibility"
    assert codes.describe(codes.CLAIM_STATUS, "22") == "Reversal of an earlier payment"
    assert codes.describe(codes.SERVICE_TYPES, "98") == "Professional (physician) visit, office"
    assert codes.describe(codes.PLACES_OF_SERVICE, "11") == "Office"


@pytest.mark.parametrize("table", [codes.CARC, codes.RARC, codes.SERVICE_TYPES, codes.PLACES_OF_SERVICE])
def test_an_unknown_code_reads_as_code_nnn(table):
    assert codes.describe(table, "ZZ999") == "Code ZZ999"


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis(npi):
    assert npi_is_valid(npi)


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678930", "3234567893", "12345678a3", ""])
def test_invalid_npis(npi):
    assert not npi_is_valid(npi)


@given(st.from_regex(r"[12]\d{8}", fullmatch=True))
def test_the_check_digit_makes_a_valid_npi_and_no_other_digit_does(first_nine):
    digit = npi_check_digit(first_nine)
    assert npi_is_valid(first_nine + digit)
    assert not any(npi_is_valid(first_nine + other) for other in "0123456789" if other != digit)

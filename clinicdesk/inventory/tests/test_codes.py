import pytest
from django.core.exceptions import ValidationError

from ..codes import cvx_normalise, gtin_check_digit, gtin_normalise, ndc_display, ndc_normalise


@pytest.mark.parametrize(("given", "eleven"), [
    ("1234-5678-90", "01234567890"),   # 4-4-2: a zero before the labeler
    ("12345-678-90", "12345067890"),   # 5-3-2: before the product
    ("12345-6789-0", "12345678900"),   # 5-4-1: before the package
    ("12345-6789-01", "12345678901"),  # already 5-4-2
    ("12345678901", "12345678901"),
    ("", ""),
])
def test_ndc_formats_normalise_to_eleven_digits(given, eleven):
    assert ndc_normalise(given) == eleven


@pytest.mark.parametrize("bad", ["1234567890", "123-4567-890", "12345-67-890", "abcde-fghi-jk", "1234-5678"])
def test_ndc_that_cannot_be_read_is_refused_naming_the_field(bad):
    with pytest.raises(ValidationError) as caught:
        ndc_normalise(bad)
    assert "ndc" in caught.value.message_dict


def test_ndc_display_is_five_four_two():
    assert ndc_display("01234567890") == "01234-5678-90"


def test_gtin_check_digit_is_verified_and_padded_to_fourteen():
    assert gtin_check_digit("400638133393") == 1  # a published GTIN-13: 4006381333931
    assert gtin_normalise("4006381333931") == "04006381333931"
    assert gtin_normalise(" 0400 6381 3339 31 ") == "04006381333931"
    with pytest.raises(ValidationError, match="check digit"):
        gtin_normalise("4006381333932")
    with pytest.raises(ValidationError, match="8, 12, 13 or 14"):
        gtin_normalise("12345")


def test_cvx_is_one_to_three_digits():
    assert cvx_normalise("088") == "88"
    with pytest.raises(ValidationError):
        cvx_normalise("A88")

"""The National Provider Identifier check digit: Luhn over the nine digits prefixed with 80840."""

from __future__ import annotations

from functools import lru_cache

NPI_PREFIX = "80840"


def _luhn_sum(digits: str) -> int:
    total = 0
    # digits counted from the right, the check digit left out: every first, third ... is doubled
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def npi_check_digit(first_nine: str) -> str:
    """The tenth digit of an NPI whose first nine digits are given."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError("an NPI check digit needs the first 9 digits")
    return str((10 - _luhn_sum(NPI_PREFIX + first_nine) % 10) % 10)


@lru_cache(maxsize=4096)
def npi_is_valid(npi: str) -> bool:
    """Ten digits, starting with 1 or 2, with the right check digit."""
    return (
        len(npi) == 10 and npi.isdigit() and npi[0] in "12" and npi_check_digit(npi[:9]) == npi[9]
    )

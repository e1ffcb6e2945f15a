"""Clinician identifiers checked before they are saved: NPI, DEA registration and state licence numbers."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from clinicdesk.core.npi import npi_is_valid

# DEA registrant type letters (first character) that a practice's prescribers hold.
DEA_REGISTRANT_TYPES = "ABCDEFGHJKLMPRSTUX"
DEA_PATTERN = re.compile(r"^[A-Z][A-Z9][0-9]{7}$")
# Licence number shapes by state, as the boards print them; other states take 4 to 15 letters and digits.
STATE_LICENSE_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "NY": (re.compile(r"^[0-9]{6}$"), "6 digits"),
    "NJ": (re.compile(r"^[0-9]{2}[A-Z]{2}[0-9]{6,8}$"), "2 digits, 2 letters and 6 to 8 digits (26NR12345600)"),
    "CA": (re.compile(r"^[A-Z]{0,3}[0-9]{4,8}$"), "up to 3 letters and 4 to 8 digits"),
    "TX": (re.compile(r"^[A-Z]?[0-9]{4,7}$"), "an optional letter and 4 to 7 digits"),
    "FL": (re.compile(r"^[A-Z]{2,4}[0-9]{4,8}$"), "2 to 4 letters and 4 to 8 digits (RN9876543)"),
    "PA": (re.compile(r"^[A-Z]{2}[0-9]{6}[A-Z]?$"), "2 letters, 6 digits and an optional letter (RN654321)"),
    "CT": (re.compile(r"^[0-9]{5,6}$"), "5 or 6 digits"),
    "MA": (re.compile(r"^[A-Z]{0,3}[0-9]{4,7}$"), "up to 3 letters and 4 to 7 digits"),
}
GENERIC_LICENSE = (re.compile(r"^[A-Z0-9-]{4,15}$"), "4 to 15 letters, digits or dashes")
US_STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "PR", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
}  # fmt: skip


def dea_check_digit(six_digits: str) -> str:
    """The DEA number's seventh digit: (d1 + d3 + d5) + 2 * (d2 + d4 + d6), last digit."""
    d = [int(c) for c in six_digits]
    return str((d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10)


def dea_problem(number: str) -> str | None:
    """What is wrong with a DEA registration number, or None when it is well formed with the right check digit."""
    number = number.strip().upper()
    if not DEA_PATTERN.match(number):
        return "A DEA number is 2 letters and 7 digits (AB1234563)."
    if number[0] not in DEA_REGISTRANT_TYPES:
        return f"A DEA number cannot start with {number[0]}."
    if dea_check_digit(number[2:8]) != number[8]:
        return "This DEA number's check digit is wrong; check it for a typing mistake."
    return None


def npi_problem(npi: str) -> str | None:
    """What is wrong with an individual NPI, or None."""
    npi = npi.strip()
    if len(npi) != 10 or not npi.isdigit():
        return "An NPI is 10 digits."
    if not npi_is_valid(npi):
        return "This NPI's check digit is wrong; check it for a typing mistake."
    return None


def license_problem(state: str, number: str) -> str | None:
    """What is wrong with a state licence number for its state, or None."""
    state = state.strip().upper()
    if state not in US_STATES:
        return f"{state or 'The state'} is not a US state code (NY, NJ, CA...)."
    pattern, shape = STATE_LICENSE_PATTERNS.get(state, GENERIC_LICENSE)
    if not pattern.match(number.strip().upper()):
        return f"A {state} licence number is {shape}."
    return None


def raise_if(problems: dict[str, str | None]) -> None:
    """Raise one ValidationError naming every field with a problem."""
    errors = {field: message for field, message in problems.items() if message}
    if errors:
        raise ValidationError(errors)

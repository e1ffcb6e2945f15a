"""Normalising what people type and what records hold, so that search ignores case, accents and punctuation."""

import re

from unidecode import unidecode

_NON_WORD = re.compile(r"[^a-z0-9 ]+")


def normalize_name(text: str) -> str:
    """'José  O'Brien-Núñez' -> 'jose obrien nunez'."""
    ascii_text = unidecode(text or "").lower().replace("'", "")
    return " ".join(_NON_WORD.sub(" ", ascii_text).split())


def phone_digits(text: str) -> str:
    """Digits of a phone number without the US country code: '+1 (555) 010-2030' -> '5550102030'."""
    digits = re.sub(r"\D", "", text or "")
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def search_fields(patient) -> tuple[str, str]:
    """The derived search columns of a patient (search_name, search_phones)."""
    names = " ".join(
        filter(None, [patient.first_name, patient.middle_name, patient.last_name, patient.preferred_name])
    )
    phones = " ".join(
        filter(None, (phone_digits(p) for p in (patient.phone_mobile, patient.phone_home, patient.phone_work)))
    )
    return normalize_name(names), phones

"""Normalising what people type and what records hold, so that search ignores case, accents and punctuation.

Nothing here touches the database: the selectors in `selectors/search.py` turn a `ParsedQuery` into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from unidecode import unidecode

_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_PHONE_CHARS = re.compile(r"^[\d()+\-. /]+$")
_DATE_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DATE_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_DATE_COMPACT = re.compile(r"^\d{8}$")
EARLIEST_BIRTH_YEAR = 1890
# A phone query must be at least a local number: four digits alone match half a practice.
MIN_PHONE_DIGITS = 7
LOCAL_PHONE_DIGITS = 7
MAX_QUERY_LENGTH = 100
MAX_NAME_WORDS = 6

# Common given-name variants. Deliberately small: the duplicate check only warns, and a same-initial
# rule catches most of the rest (Jon/Jonathan, Kate/Katherine).
_NICKNAME_GROUPS = (
    ("robert", "bob", "bobby", "rob", "robbie", "bert"),
    ("william", "bill", "billy", "will", "willie", "liam"),
    ("richard", "rick", "ricky", "dick", "rich"),
    ("elizabeth", "liz", "lizzie", "beth", "betty", "eliza", "betsy"),
    ("margaret", "maggie", "meg", "peggy", "marge"),
    ("katherine", "catherine", "kate", "katie", "kathy", "cathy", "kat"),
    ("james", "jim", "jimmy", "jamie"),
    ("john", "jack", "johnny", "jon"),
    ("michael", "mike", "mikey", "mick"),
    ("edward", "ed", "eddie", "ted", "ned"),
    ("charles", "charlie", "chuck", "chas"),
    ("anthony", "tony"),
    ("joseph", "joe", "joey"),
    ("thomas", "tom", "tommy"),
    ("alexander", "alex", "sasha", "xander"),
    ("alexandra", "alex", "sandra", "sasha"),
    ("patricia", "pat", "patty", "trish"),
    ("jennifer", "jen", "jenny"),
    ("francisco", "paco", "pancho", "frank"),
    ("jose", "pepe"),
    ("guadalupe", "lupe", "lupita"),
    ("ignacio", "nacho"),
    ("enrique", "kike", "quique"),
    ("dolores", "lola"),
    ("rosario", "chayo"),
)
NICKNAMES: dict[str, frozenset[str]] = {}
for _group in _NICKNAME_GROUPS:
    for _name in _group:
        NICKNAMES[_name] = NICKNAMES.get(_name, frozenset()) | frozenset(_group)


def normalize_name(text: str) -> str:
    """'José  O'Brien-Núñez' -> 'jose obrien nunez'."""
    ascii_text = unidecode(text or "").lower().replace("'", "")
    return " ".join(_NON_WORD.sub(" ", ascii_text).split())


def phone_digits(text: str) -> str:
    """Digits of a phone number without the US country code: '+1 (555) 010-2030' -> '5550102030'."""
    digits = re.sub(r"\D", "", text or "")
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def search_fields(patient) -> tuple[str, str]:
    """The derived search columns of a patient (search_name, search_phones).

    The last name comes first so that sorting by search_name sorts by last name (accents ignored) and a
    last-name prefix is a plain index range. Each phone is stored whole and as its 7-digit local number,
    so a word-prefix search finds '555 010 2030' typed either with or without the area code.
    """
    names = " ".join(
        filter(None, [patient.last_name, patient.first_name, patient.middle_name, patient.preferred_name])
    )
    phones: list[str] = []
    for raw in (patient.phone_mobile, patient.phone_home, patient.phone_work):
        digits = phone_digits(raw)
        if digits and digits not in phones:
            phones.append(digits)
            if len(digits) > LOCAL_PHONE_DIGITS:
                phones.append(digits[-LOCAL_PHONE_DIGITS:])
    return normalize_name(names)[:400], " ".join(phones)[:100]


@dataclass(frozen=True)
class ParsedQuery:
    """What a search box entry asks for: name words, candidate birth dates, phone digits, MRN spellings."""

    text: str
    words: tuple[str, ...] = ()
    dates: tuple[date, ...] = ()  # most likely reading first
    phone: str = ""
    mrns: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.dates or self.phone or self.mrns)


def parse_query(text: str, *, mrn_prefix: str = "", today: date | None = None) -> ParsedQuery:
    """Split a type-ahead entry into what it can mean. Never raises: unreadable parts are simply ignored."""
    text = " ".join((text or "").split())[:MAX_QUERY_LENGTH]
    today = today or date.today()
    words: list[str] = []
    dates: list[date] = []
    phone_parts: list[str] = []
    for token in text.split(" "):
        token_dates = parse_birth_date(token, today=today)
        if token_dates:
            dates.extend(d for d in token_dates if d not in dates)
        elif _PHONE_CHARS.match(token):
            phone_parts.append(token)
        elif not any(ch.isdigit() for ch in token):
            words.extend(normalize_name(token).split())
    digits = phone_digits("".join(phone_parts))
    phone = digits if len(digits) >= MIN_PHONE_DIGITS else ""
    return ParsedQuery(
        text=text,
        words=tuple(dict.fromkeys(words))[:MAX_NAME_WORDS],
        dates=tuple(dates),
        phone=phone,
        mrns=mrn_spellings(text, prefix=mrn_prefix),
    )


def mrn_spellings(text: str, *, prefix: str = "") -> tuple[str, ...]:
    """The MRNs an entry may mean, upper-cased: as typed, and with the practice's prefix added."""
    value = text.strip().upper()
    if not value or " " in value or len(value) > 20:
        return ()
    spellings = [value]
    prefix = prefix.upper()
    if prefix and not value.startswith(prefix) and len(prefix + value) <= 20:
        spellings.append(prefix + value)
    return tuple(spellings)


def parse_birth_date(token: str, *, today: date | None = None) -> list[date]:
    """The dates a token can be, US month/day reading first: '3/7/85' -> [1985-03-07, 1985-07-03]."""
    today = today or date.today()
    readings: list[tuple[int, int, int]] = []
    if match := _DATE_ISO.match(token):
        year, month, day = (int(g) for g in match.groups())
        readings.append((year, month, day))
    elif match := _DATE_NUMERIC.match(token):
        first, second, year_text = match.groups()
        year = int(year_text)
        if len(year_text) == 2:
            # A two-digit birth year is in the past: '85' is 1985, '19' is 2019 (in 2026).
            year += 2000 if 2000 + year <= today.year else 1900
        readings += [(year, int(first), int(second)), (year, int(second), int(first))]
    elif _DATE_COMPACT.match(token):
        readings += [(int(token[4:]), int(token[:2]), int(token[2:4])), (int(token[:4]), int(token[4:6]), int(token[6:]))]
    found: list[date] = []
    for year, month, day in readings:
        try:
            value = date(year, month, day)
        except ValueError:
            continue
        if year >= EARLIEST_BIRTH_YEAR and value <= today and value not in found:
            found.append(value)
    return found


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (with adjacent transpositions): 'jonh' -> 'john' is 1."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def names_similar(a: str, b: str) -> bool:
    """Two normalised names that are probably the same: equal, one a typo of the other, or one inside the other."""
    a, b = normalize_name(a).replace(" ", ""), normalize_name(b).replace(" ", "")
    if not a or not b:
        return False
    if a == b:
        return True
    if min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)):
        return True
    allowed = 1 if max(len(a), len(b)) <= 5 else 2
    return edit_distance(a, b) <= allowed


def given_names_match(a: str, b: str) -> bool:
    """Given names of one person: similar, a known nickname pair, or sharing the first initial."""
    a, b = normalize_name(a), normalize_name(b)
    if not a or not b:
        return False
    if names_similar(a, b):
        return True
    first_a, first_b = a.split()[0], b.split()[0]
    return first_b in NICKNAMES.get(first_a, frozenset()) or first_a[0] == first_b[0]

"""Finding patients from one search box: name in any order, birth date, phone or MRN.

The type-ahead runs on every keystroke, so a search is a handful of index-backed queries whose cost
does not grow with the size of the practice:

* MRN: exact, case-insensitive, with or without the practice prefix ((organization, UPPER(mrn)) index).
* Birth date and phone: the (organization, date_of_birth) index; phones by prefix of a stored number.
* Names: every typed word must begin a word of the name. Records whose last name starts with one of
  the words come first: one range of the (organization, search_name) index per word, which covers
  the check of the other words. Then the other name matches, which `_first_in_name_order` finds
  either by reading that index in name order (cheap when the words are common) or through the text
  index, SQLite FTS5 or PostgreSQL pg_trgm (cheap when they are rare).

The planners' row estimates for these conditions are poor (a LIKE on trigrams, a range in the "C"
collation), so the code chooses the access path itself rather than leaving it to them.

Results are ordered exact identifier first, then last-name prefix matches, then other name matches,
each by last name then first name (search_name puts the last name first, accents folded).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, Case, CharField, F, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Collate, Concat, Upper

from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..choices import PatientStatus
from ..models import Patient
from ..search import ParsedQuery, parse_query

MAX_LIMIT = 100
# Past this many text-index matches, reading the name index in order finds a page sooner than
# fetching and sorting every match (about the square root of rows x page size at a million rows).
DENSE_MATCHES = 3000
WALK_CHUNK = 5000
WALK_CHUNKS_BEFORE_INDEX = 1
# The FTS5 table that migration 0002 keeps in step with patients_patient (SQLite only).
FTS_MATCH_SQL = "SELECT rowid FROM patients_patient_fts WHERE patients_patient_fts MATCH %s"
# The expressions of migration 0002's PostgreSQL indexes; queries must spell them the same way.
PG_NAME_WORD_SQL = "(' ' || search_name) LIKE %s"
PG_PHONE_MATCH_SQL = "to_tsvector('simple', search_phones) @@ to_tsquery('simple', %s)"


def patient_search(*, actor: User, query: str, limit: int = 20, include_inactive: bool = True) -> list[Patient]:
    """Patients of the actor's practice matching a search-box entry, best first; merged records never appear.

    Each patient carries `search_match` ("mrn", "date_of_birth", "phone" or "name"). Inactive and
    deceased patients are included unless `include_inactive` is false; the caller shows their status.
    Actors without the patient-view permission get nothing.
    """
    if actor is None or not actor.has_perm_code(Perm.PATIENT_VIEW):
        return []
    limit = max(1, min(int(limit), MAX_LIMIT))
    prefix = actor.organization.mrn_prefix if actor.organization_id else ""
    parsed = parse_query(query, mrn_prefix=prefix)
    if parsed.is_empty:
        return []
    base = Patient.objects.filter(organization_id=actor.organization_id, merged_into__isnull=True)
    if not include_inactive:
        base = base.filter(status=PatientStatus.ACTIVE)
    base = name_walk_scope(base).alias(result_order=_result_order())

    found: dict[int, Patient] = {}

    def take(patients, match: str) -> None:
        for patient in patients:
            if patient.pk not in found and len(found) < limit:
                patient.search_match = match
                found[patient.pk] = patient

    if parsed.mrns:
        take(base.alias(mrn_upper=Upper("mrn")).filter(mrn_upper__in=parsed.mrns).order_by("result_order", "id")[:limit], "mrn")
    if parsed.dates or parsed.phone:
        take(_identifier_matches(base, parsed)[:limit], "date_of_birth" if parsed.dates else "phone")
    elif parsed.words and _searchable(parsed.words):
        ids = _name_match_ids(base, parsed.words, limit=limit - len(found), skip=set(found))
        # No ORDER BY: ordering by the model's default lets SQLite pick the name index and read it all.
        rows = {p.pk: p for p in base.filter(id__in=ids).order_by()}
        take((rows[pk] for pk in ids if pk in rows), "name")
    return list(found.values())


def name_walk_scope(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """`patients` ready for `NameWalk` and `word_scanned`: the name index's sort key and the name with a leading space."""
    return patients.alias(sort_key=_sort_key(), spaced_name=Concat(Value(" "), "search_name"))


def _sort_key():
    # PostgreSQL's default collation ignores spaces and would break prefix ranges; "C" compares bytes,
    # which for search_name (lower-case ASCII) is alphabetical order. SQLite compares bytes already.
    if connection.vendor == "postgresql":
        return Collate("search_name", "C")
    return F("search_name")


def _result_order():
    """The same order as _sort_key, but one the database cannot read from the search_name index.

    Without statistics SQLite's planner prefers walking the whole (organization, search_name) index in
    order over fetching the few rows an MRN, birth date or full-text match names and sorting them;
    the unary plus is SQLite's documented way to rule that index out for a term.
    """
    if connection.vendor == "postgresql":
        return Collate("search_name", "C")
    return Func(F("search_name"), template="+%(expressions)s", output_field=CharField())


def _searchable(words: tuple[str, ...]) -> bool:
    # One letter on its own would match most of the practice; wait for a second letter.
    return any(len(word) >= 2 for word in words)


def _identifier_matches(base: QuerySet[Patient], parsed: ParsedQuery) -> QuerySet[Patient]:
    qs = base
    if parsed.dates:
        qs = qs.filter(date_of_birth__in=parsed.dates)
    if parsed.phone:
        qs = qs.filter(phone_condition(parsed.phone))
    for word in parsed.words:
        qs = qs.filter(word_scanned(word))
    # The US reading of an ambiguous date ("07.03.1985" is July 3rd) is shown before the other one.
    first_date = Value(0)
    if parsed.dates:
        first_date = Case(When(date_of_birth=parsed.dates[0], then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.alias(first_date=first_date).order_by("first_date", "result_order", "id")


def _name_match_ids(base: QuerySet[Patient], words: tuple[str, ...], *, limit: int, skip: set[int]) -> list[int]:
    """Ids of the best name matches: last name starting with one of the words first, then the rest."""
    if limit <= 0:
        return []
    starts: dict[int, str] = {}
    for word in dict.fromkeys(w for w in words if len(w) >= 2):
        # The range bounds the read, and the (organization, search_name) index covers it: the other
        # words are checked on index entries alone, never through the text index.
        qs = base.filter(sort_key__gte=word, sort_key__lt=_next_prefix(word))
        for other in words:
            if other != word:
                qs = qs.filter(word_scanned(other))
        for search_name, pk in qs.order_by("sort_key", "id").values_list("search_name", "id")[: limit + len(skip)]:
            starts.setdefault(pk, search_name)
    ids = [pk for _, pk in sorted((name, pk) for pk, name in starts.items()) if pk not in skip][:limit]
    if len(ids) < limit:
        not_starting = ~_starts_last_name(words)
        rest = _first_in_name_order(
            base,
            within=not_starting,
            words=words,
            indexed=_words_indexed(words) & not_starting,
            limit=limit - len(ids) + len(skip),
            # One word is often a common first name; two together are rare, so ask the text index first.
            walk_first=WALK_CHUNKS_BEFORE_INDEX if len([w for w in words if len(w) >= 2]) == 1 else 0,
        )
        ids += [pk for _, pk in rest if pk not in skip][: limit - len(ids)]
    return ids


def _first_in_name_order(
    base: QuerySet[Patient], *, within: Q, words: tuple[str, ...], indexed: Q, limit: int, walk_first: int
) -> list[tuple[str, int]]:
    """The first `limit` (search_name, id) pairs in name order among rows `within` holding all `words`.

    Two ways, each cheap where the other is not. Reading the name index in order (an index-only scan)
    and checking the words here fills a page quickly when the words are common. The text index
    (`indexed`: the same rows) answers quickly when they are rare. So: read `walk_first` chunks in
    order; if the page is still not full the words are rare, and the text index is asked, with a cap
    in case they were not rare after all, in which case the ordered read goes on.
    """
    walk = NameWalk(base.filter(within), _all_words_scanned(words), limit=limit)
    for _ in range(walk_first):
        if walk.step():
            return walk.found
    probe = list(base.filter(indexed).order_by().values_list("search_name", "id")[: DENSE_MATCHES + 1])
    if len(probe) <= DENSE_MATCHES:
        return sorted(probe)[:limit]
    while not walk.step():
        pass
    return walk.found


class NameWalk:
    """Reads rows of `qs` (from `name_walk_scope`) in name order, a chunk at a time, keeping those that meet
    `condition`, a condition on the name index's entries alone (`word_scanned`).

    Each chunk is two index-only reads: where the chunk ends (an OFFSET), then the matching rows up to
    there, so only matches leave the database. Bounding each read by position, not by how many rows
    match, is what keeps the planner from guessing: it guesses few matches, and then reads the whole
    practice, in parallel or through the wrong index.
    """

    def __init__(self, qs: QuerySet[Patient], condition: Q, *, limit: int):
        self.ordered = qs.order_by("sort_key", "id").values_list("search_name", "id")
        self.condition = condition
        self.limit = limit
        self.chunk = WALK_CHUNK  # entries a step reads; a caller that knows better may change it between steps
        self.found: list[tuple[str, int]] = []
        self.after: tuple[str, int] | None = None

    def step(self) -> bool:
        """Read one chunk; True once the page is full or the rows are exhausted."""
        rest = self.ordered if self.after is None else self.ordered.filter(_after_key(self.after))
        end = list(rest[self.chunk - 1 : self.chunk])
        chunk = (rest.filter(_up_to_key(end[0])) if end else rest).filter(self.condition)
        self.found += chunk[: self.limit - len(self.found)]
        if not end:
            return True
        self.after = end[0]
        return len(self.found) >= self.limit


def _after_key(key: tuple[str, int]) -> Q:
    name, pk = key
    return Q(sort_key__gte=name) & (Q(sort_key__gt=name) | Q(sort_key=name, id__gt=pk))


def _up_to_key(key: tuple[str, int]) -> Q:
    name, pk = key
    return Q(sort_key__lte=name) & (Q(sort_key__lt=name) | Q(sort_key=name, id__lte=pk))


def _starts_last_name(words: tuple[str, ...]) -> Q:
    condition = Q()
    for word in words:
        if len(word) >= 2:
            condition |= Q(sort_key__gte=word, sort_key__lt=_next_prefix(word))
    return condition


def _next_prefix(word: str) -> str:
    """The smallest string after every string that starts with `word` (words are [a-z0-9])."""
    return word[:-1] + chr(ord(word[-1]) + 1)


def word_scanned(word: str) -> Q:
    """`word` (one word or several in a row) begins some word of the name, checked row by row.

    Deliberately not the indexed expression (Django's Concat adds COALESCE), so that the database reads
    the rows another condition chose (an index range, a birth date) instead of the text index.
    """
    return Q(spaced_name__contains=f" {word}")


def _all_words_scanned(words: tuple[str, ...]) -> Q:
    condition = Q()
    for word in words:
        condition &= word_scanned(word)
    return condition


def _words_indexed(words: tuple[str, ...]) -> Q:
    """Every word begins some word of the name, through the text index of the database."""
    indexed = [w for w in words if len(w) >= 2]
    condition = Q()
    if indexed and connection.vendor == "sqlite":
        condition = _fts_match(" AND ".join(f'search_name : "{word}"*' for word in indexed))
    elif indexed:
        for word in indexed:
            condition &= Q(RawSQL(PG_NAME_WORD_SQL, [f"% {word}%"], output_field=BooleanField()))  # noqa: S611
    # Single letters would read most of the index; they only filter what the longer words found.
    for word in words:
        if len(word) < 2:
            condition &= word_scanned(word)
    return condition


def phone_condition(digits: str) -> Q:
    """A stored number (whole, or its 7-digit local part) begins with the typed digits."""
    if connection.vendor == "sqlite":
        return _fts_match(f'search_phones : "{digits}"*')
    # Trigrams of digits are too few and too common to narrow anything; a tsvector prefix match is exact.
    return Q(RawSQL(PG_PHONE_MATCH_SQL, [f"{digits}:*"], output_field=BooleanField()))  # noqa: S611


def _fts_match(expression: str) -> Q:
    # The words in `expression` are [a-z0-9] only (see search.normalize_name), and it is passed as a parameter.
    return Q(id__in=RawSQL(FTS_MATCH_SQL, [expression]))  # noqa: S611

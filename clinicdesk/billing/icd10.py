"""ICD-10-CM diagnosis codes: look-up by code or by words, and the check that a diagnosis is billable.

The code set is the CDC's **April 1, 2026 release of ICD-10-CM** (FY2026 update), as shipped in the
`simple-icd-10-cm` package 1.5.0 (data files `code-list-April-2026.txt` and
`icd10c-tabular-April-1-2026.xml`). Billable means a leaf of the tabular list; a category or subcategory
with codes beneath it (a header) cannot go on a claim.

The package walks its XML tree for every question, too slow for a search box, and keeps that tree (about
180 MB) in memory once imported. So the first search in a process reads the code set through the package in
a short-lived child process and builds a compact in-memory index from it once (a few seconds, behind a lock;
about 25 MB); every later look-up uses the index:

- every code gets an id in rank order (billable first, then shorter codes, then the code itself), so a
  list of ids in ascending order is already a ranking;
- code search: the codes without dots in a sorted list, a prefix is a `bisect` range;
- word search: each word of the descriptions (and inclusion terms) has a sorted list of ids; a typed word
  is a prefix, i.e. a `bisect` range of the sorted vocabulary. The query's rarest term (sizes come from a
  running total over the vocabulary) is streamed in id order and its ids are kept when every other term
  also matches a word of that code, until enough hits are found to rank.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import re
import subprocess  # noqa: S404  (our own interpreter, reading the package's data)
import sys
import threading
import unicodedata
from array import array
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

RELEASE = "ICD-10-CM April 1, 2026 (FY2026)"
SUGGESTIONS = 10
# How many hits in rank order are gathered before ranking by whole-word matches.
_RERANK_POOL = 200
# Above this many codes for its rarest word, a query of several words intersects sets instead of streaming.
_STREAM_LIMIT = 3_000

_CODE_RE = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,5}$")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Icd10Hit:
    code: str
    description: str
    billable: bool


def compact(code: str) -> str:
    """'e11.9 ' -> 'E119': how codes are typed and compared."""
    return re.sub(r"[\s.]", "", code or "").upper()


def dotted(compact_code: str) -> str:
    """'E119' -> 'E11.9' (the dot follows the category)."""
    return compact_code if len(compact_code) <= 3 else f"{compact_code[:3]}.{compact_code[3:]}"


def words(text: str) -> list[str]:
    """Lower-case words without accents or punctuation: 'Alzheimer's' -> ['alzheimer', 's']."""
    folded = text.lower()
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    return _WORD.findall(folded)


def _looks_like_code(term: str) -> bool:
    return bool(_CODE_RE.match(compact(term)))


class _Index:
    """The whole code set in lists indexed by rank id; built once per process."""

    def __init__(self, entries: list[list] | None = None) -> None:
        rows = []
        for code, leaf, text, extra in entries if entries is not None else _code_set():
            key = compact(code)
            rows.append((not leaf, len(key), key, code, text, extra))
        rows.sort()
        self.codes = [r[3] for r in rows]
        self.descriptions = [r[4] for r in rows]
        self.billable_count = sum(1 for r in rows if not r[0])
        self.compact_codes = [r[2] for r in rows]
        self.id_of = {key: i for i, key in enumerate(self.compact_codes)}
        by_code = sorted(range(len(rows)), key=self.compact_codes.__getitem__)
        self.sorted_codes = [self.compact_codes[i] for i in by_code]
        self.sorted_ids = array("I", by_code)
        postings: dict[str, list[int]] = defaultdict(list)
        # All words of a code (description and inclusion terms) for matching, the description's alone for ranking,
        # each as one string " w1 w2 … ": " pre" in it is a word start, " word " a whole word. Strings rather than
        # sets keep the garbage collector from walking a hundred thousand containers in every web process.
        self.tokens: list[str] = []
        self.description_tokens: list[str] = []
        for i, r in enumerate(rows):
            described = words(r[4])
            toks = set(described).union(words(r[5]))
            self.tokens.append(f" {' '.join(sorted(toks))} ")
            self.description_tokens.append(f" {' '.join(described)} ")
            for tok in toks:
                postings[tok].append(i)  # ids ascend, so each list stays sorted
        self.vocabulary = sorted(postings)
        # Arrays of 4-byte ids instead of lists of int objects: 1.4 million ids, a tenth of the memory.
        self.postings = [array("I", postings[w]) for w in self.vocabulary]
        self.posting_totals = [0, *accumulate(len(p) for p in self.postings)]

    def __len__(self) -> int:
        return len(self.codes)

    def billable(self, i: int) -> bool:
        return i < self.billable_count

    def hit(self, i: int) -> Icd10Hit:
        return Icd10Hit(code=self.codes[i], description=self.descriptions[i], billable=self.billable(i))

    # --- ranges ---------------------------------------------------------------------------------

    def word_range(self, prefix: str) -> tuple[int, int]:
        lo = bisect_left(self.vocabulary, prefix)
        hi = bisect_left(self.vocabulary, prefix + "\x7f", lo)
        return lo, hi

    def code_range(self, prefix: str) -> tuple[int, int]:
        lo = bisect_left(self.sorted_codes, prefix)
        hi = bisect_left(self.sorted_codes, prefix + "\x7f", lo)
        return lo, hi

    @lru_cache(maxsize=256)  # noqa: B019  (one index per process, never freed: the cache may hold it)
    def word_set(self, lo: int, hi: int) -> frozenset[int]:
        """Ids of the codes with a word in vocabulary[lo:hi]; kept for the next keystrokes."""
        if hi - lo == 1:
            return frozenset(self.postings[lo])
        return frozenset().union(*self.postings[lo:hi])

    def codes_under(self, prefix: str) -> list[int]:
        """Ids of the codes whose compact form starts with `prefix`, in code order."""
        lo, hi = self.code_range(prefix)
        return self.sorted_ids[lo:hi]


# Run in a child process: the package keeps its whole XML tree in memory once imported (about 180 MB and
# 600,000 objects the garbage collector walks on every full collection); the index needs 25 MB of it.
_DUMP = """
import json, sys
import simple_icd_10_cm as cm
rows = [[c, cm.is_leaf(c), cm.get_description(c), " ".join(cm.get_inclusion_term(c) + cm.get_includes(c))]
        for c in cm.get_all_codes(with_dots=True) if cm.is_category_or_subcategory(c)]
json.dump(rows, sys.stdout)
"""


def _code_set_here() -> list[list]:
    """[code, leaf, description, inclusion terms] of every category and subcategory (not chapters or blocks)."""
    import simple_icd_10_cm as cm

    return [[c, cm.is_leaf(c), cm.get_description(c), " ".join(cm.get_inclusion_term(c) + cm.get_includes(c))]
            for c in cm.get_all_codes(with_dots=True) if cm.is_category_or_subcategory(c)]


def _code_set() -> list[list]:
    """The code set, read by a child process; in this one if a child cannot be started."""
    if "simple_icd_10_cm" not in sys.modules:
        try:
            done = subprocess.run([sys.executable, "-c", _DUMP], capture_output=True, check=True,  # noqa: S603
                                  timeout=600, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
            return json.loads(done.stdout)
        except (OSError, subprocess.SubprocessError, ValueError):
            logger.warning("Reading ICD-10-CM in a child process failed; reading it in this one", exc_info=True)
    return _code_set_here()


_index: _Index | None = None
_lock = threading.Lock()


def index() -> _Index:
    """The process's index, built on first use; concurrent first callers wait for one build."""
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = _Index()
    return _index


# --- search -------------------------------------------------------------------------------------------


def _stream_word(ix: _Index, lo: int, hi: int):
    """Ids of the codes with a word in vocabulary[lo:hi], ascending, each once."""
    if hi - lo == 1:
        yield from ix.postings[lo]
        return
    last = -1
    for i in heapq.merge(*ix.postings[lo:hi]):
        if i != last:
            yield i
            last = i


def search(query: str, *, limit: int = 20, billable_only: bool = False) -> list[Icd10Hit]:
    """Codes matching every term of `query`: a code or its start ('e11', 'E11.6') or the start of words
    of the description in any order ('diab mell type 2'). Billable codes first, then codes whose own description
    (not only an inclusion term) holds the words, whole words before word starts, then descriptions that open with a
    typed word, then shorter codes; an exactly typed code comes first of all."""
    ix = index()
    raw_terms = query.split()
    if not raw_terms or limit <= 0:
        return []
    # (size estimate, kind, prefix, range)
    terms: list[tuple[int, str, str, tuple[int, int]]] = []
    for raw in raw_terms:
        if _looks_like_code(raw):
            key = compact(raw)
            lo, hi = ix.code_range(key)
            terms.append((hi - lo, "code", key, (lo, hi)))
            # A code-like word ("b12") can also be a word of a description (vitamin B12).
            wlo, whi = ix.word_range(key.lower())
            if whi > wlo and hi == lo:
                terms[-1] = (ix.posting_totals[whi] - ix.posting_totals[wlo], "word", key.lower(), (wlo, whi))
            continue
        for w in words(raw):
            lo, hi = ix.word_range(w)
            terms.append((ix.posting_totals[hi] - ix.posting_totals[lo], "word", w, (lo, hi)))
    if not terms or any(size == 0 for size, *_ in terms):
        return []
    whole = [p for _, k, p, _ in terms if k == "word"]  # in the order typed
    terms.sort(key=lambda t: t[0])
    _, kind, first_prefix, (lo, hi) = terms[0]
    rest = terms[1:]

    def keep(i: int) -> bool:
        if billable_only and i >= ix.billable_count:
            return False
        toks = ix.tokens[i]
        for _, k, prefix, _ in rest:
            if k == "code":
                if not ix.compact_codes[i].startswith(prefix):
                    return False
            elif f" {prefix}" not in toks:
                return False
        return True

    pool_size = max(_RERANK_POOL, limit)
    words_after = [t for t in rest if t[1] == "word"]
    if kind == "word" and words_after and terms[0][0] > _STREAM_LIMIT:
        # Streaming the rarest word would test thousands of codes: intersect the words' sets first.
        found = ix.word_set(lo, hi)
        for _, _, _, (wlo, whi) in words_after:
            found = found & ix.word_set(wlo, whi)
            if not found:
                return []
        rest = [t for t in rest if t[1] == "code"]
        if billable_only:
            found = (i for i in found if i < ix.billable_count)
        pool = heapq.nsmallest(pool_size, (i for i in found if keep(i)) if rest else found)
    elif kind == "code":
        ids = ix.sorted_ids[lo:hi]
        if billable_only:
            ids = [i for i in ids if i < ix.billable_count]
        pool = heapq.nsmallest(pool_size, (i for i in ids if keep(i))) if rest else heapq.nsmallest(pool_size, ids)
    else:
        pool = []
        for i in _stream_word(ix, lo, hi):
            if billable_only and i >= ix.billable_count:
                break  # ids ascend and billable ids come first
            if not rest or keep(i):
                pool.append(i)
                if len(pool) >= pool_size:
                    break
    exact = {ix.id_of[t[2]] for t in terms if t[1] == "code" and t[2] in ix.id_of}

    def rank(i: int) -> tuple:
        described = ix.description_tokens[i]
        in_description = sum(1 for w in whole if f" {w}" in described)
        opens = bool(whole) and described.startswith(f" {whole[0]} ")
        return (i not in exact, i >= ix.billable_count, -in_description, -sum(1 for w in whole if f" {w} " in described),
                not opens, i)

    return [ix.hit(i) for i in sorted(pool, key=rank)[:limit]]


# --- checks -------------------------------------------------------------------------------------------


def normalise(code: str) -> str:
    """'e119' or ' E11.9' -> 'E11.9' (the form stored on charges and claims)."""
    return dotted(compact(code))


def describe(code: str) -> str:
    """The official description of a code (billable or header); '' for a code not in the release."""
    ix = index()
    i = ix.id_of.get(compact(code))
    return "" if i is None else ix.descriptions[i]


def leaf_codes_under(code: str, *, limit: int = SUGGESTIONS) -> list[Icd10Hit]:
    """The first billable codes beneath a header code, in code order."""
    ix = index()
    found = []
    for i in ix.codes_under(compact(code)):
        if ix.billable(i):
            found.append(ix.hit(i))
            if len(found) >= limit:
                break
    return found


def diagnosis_check(code: str) -> Icd10Hit:
    """The billable code for what was typed ('e119' -> E11.9), or a ValidationError saying why not.

    The error carries no field name (the caller puts it on its own diagnosis field); its `code` is
    "icd10_unknown" or "icd10_header", and a header's error lists the billable codes beneath it."""
    ix = index()
    key = compact(code)
    shown = dotted(key) if key else (code or "").strip()
    if not key or not _CODE_RE.match(key) or key not in ix.id_of:
        raise ValidationError(
            "%(code)s is not an ICD-10-CM diagnosis code (release: %(release)s).",
            code="icd10_unknown", params={"code": shown or "(blank)", "release": RELEASE},
        )
    i = ix.id_of[key]
    if ix.billable(i):
        return ix.hit(i)
    total = sum(1 for j in ix.codes_under(key) if ix.billable(j))
    leaves = leaf_codes_under(key)
    more = f" and {total - len(leaves)} more" if total > len(leaves) else ""
    raise ValidationError(
        "%(code)s (%(description)s) is a heading, not a billable code; choose a more specific code: %(choices)s%(more)s.",
        code="icd10_header",
        params={"code": ix.codes[i], "description": ix.descriptions[i],
                "choices": ", ".join(h.code for h in leaves), "more": more, "suggestions": [h.code for h in leaves]},
    )

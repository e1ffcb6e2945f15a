#!/usr/bin/env python
"""ICD-10-CM look-up: builds the in-memory index once (prints the time), then runs 2,000 realistic
type-ahead entries through `icd10.search` and prints p50/p95/max in milliseconds, overall and per kind.

Entries are what a coder types keystroke by keystroke: codes (with or without the dot, any case), the words
of real descriptions (partial, in any order, one to three words) and common office terms; every third
entry asks for billable codes only. No database is needed.

    .venv/bin/python bench/icd10_search.py

Target: p95 <= 20 ms per search. Never run as a test.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from _engines import fmt, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

QUERIES = 2_000
LIMIT = 20
TARGET_MS = 20.0
SEED = 2026
STOP_WORDS = {"and", "of", "the", "with", "without", "in", "to", "or", "for", "by", "due", "other", "unspecified",
              "not", "elsewhere", "classified", "s"}
OFFICE_TERMS = [
    "hypertension", "type 2 diabetes", "low back pain", "urinary tract infection", "acute sinusitis", "cough",
    "headache", "annual exam", "hyperlipidemia", "depression", "anxiety", "asthma", "otitis media", "pharyngitis",
    "chest pain", "fatigue", "obesity", "vitamin d deficiency", "gerd", "allergic rhinitis", "knee pain",
    "covid", "influenza", "dermatitis", "insomnia", "hypothyroidism", "anemia", "flu vaccine", "immunization",
    "sprain ankle", "fracture wrist", "abdominal pain", "dizziness", "constipation", "shoulder pain",
]


def keystrokes(text: str, rng: random.Random, *, start: int = 2) -> list[str]:
    """The prefixes a person's search box sends while typing `text` (debounced: some keystrokes merge)."""
    out = []
    for end in range(start, len(text) + 1):
        if text[end - 1] == " ":
            continue
        if end == len(text) or rng.random() < 0.6:
            out.append(text[:end])
    return out


def realistic_queries(count: int, ix) -> list[tuple[str, str, bool]]:
    """(kind, query, billable_only) entries, `count` of them."""
    from clinicdesk.billing import icd10

    rng = random.Random(SEED)
    entries: list[tuple[str, str, bool]] = []
    while len(entries) < count:
        roll = rng.random()
        billable_only = rng.random() < 1 / 3
        i = rng.randrange(len(ix))
        if roll < 0.35:
            code = ix.codes[i]
            typed = code if rng.random() < 0.5 else code.replace(".", "")
            typed = typed.lower() if rng.random() < 0.5 else typed
            entries += [("code", q, billable_only) for q in keystrokes(typed, rng, start=1)]
        elif roll < 0.8:
            words = [w for w in icd10.words(ix.descriptions[i]) if w not in STOP_WORDS and not w.isdigit()]
            if not words:
                continue
            chosen = rng.sample(words, min(len(words), rng.choice((1, 2, 2, 3))))
            # People type the start of words more often than whole ones.
            typed = " ".join(w[: rng.randint(min(3, len(w)), len(w))] for w in chosen)
            entries += [("words", q, billable_only) for q in keystrokes(typed, rng)]
        else:
            entries += [("office", q, billable_only) for q in keystrokes(rng.choice(OFFICE_TERMS), rng)]
    return entries[:count]


def main() -> int:
    import django

    django.setup()
    from clinicdesk.billing import icd10

    started = time.perf_counter()
    ix = icd10.index()
    build_s = time.perf_counter() - started
    print(f"icd10.search · {icd10.RELEASE} · {len(ix):,} codes ({ix.billable_count:,} billable) · "
          f"{len(ix.vocabulary):,} words")
    print(f"  index built in {build_s:.2f} s (once per process, on first use: the package reads its XML in a child process)")

    entries = realistic_queries(QUERIES, ix)
    timings: list[float] = []
    kinds: dict[str, list[float]] = {}
    slow: list[tuple[float, str]] = []
    empty = 0
    for kind, query, billable_only in entries:
        t0 = time.perf_counter()
        hits = icd10.search(query, limit=LIMIT, billable_only=billable_only)
        ms = (time.perf_counter() - t0) * 1000
        timings.append(ms)
        kinds.setdefault(kind, []).append(ms)
        slow.append((ms, query))
        empty += not hits
    print(f"  {len(entries):,} queries · limit {LIMIT} · {empty} found nothing")
    print(f"  {'':<22}{'p50':>8}{'p95':>8}{'max':>8}   ms")
    print(f"  {'all':<22}{fmt(timings)}")
    for kind, values in sorted(kinds.items()):
        print(f"  {'  ' + kind + f' ({len(values)})':<22}{fmt(values)}")
    print("  slowest: " + "; ".join(f"{q!r} {ms:.1f}" for ms, q in sorted(slow, reverse=True)[:5]))
    p95 = percentile(timings, 95)
    print(f"  target p95 <= {TARGET_MS:.0f} ms: {'met' if p95 <= TARGET_MS else 'MISSED'} ({p95:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

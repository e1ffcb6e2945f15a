"""ICD-10-CM look-up: the index answers code and word searches, and the diagnosis check refuses unknown and
heading codes with a useful message. No database needed."""

import sys
import threading

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.billing import icd10


def codes(hits):
    return [h.code for h in hits]


@pytest.fixture(scope="module")
def code_set_here():
    """The code set read in this process, once for the module: each reading parses the package's whole XML."""
    return icd10._code_set_here()


def test_the_release_is_april_2026():
    import simple_icd_10_cm

    assert "April" in icd10.RELEASE and "2026" in icd10.RELEASE
    assert simple_icd_10_cm.simple_icd_10_cm._all_codes_package_file_name == "code-list-April-2026.txt"


def test_search_by_code_prefix_with_or_without_the_dot_and_in_any_case():
    for typed in ("e11.6", "E116", " e11.6 "):
        hits = icd10.search(typed, limit=50)
        assert hits and all(h.code.startswith("E11.6") for h in hits)
    assert codes(icd10.search("e119"))[0] == "E11.9"


def test_an_exact_code_comes_first_then_billable_shorter_codes():
    hits = icd10.search("E11", limit=5)
    assert hits[0].code == "E11" and hits[0].billable is False
    assert all(h.billable for h in hits[1:])
    assert [len(h.code) for h in hits[1:]] == sorted(len(h.code) for h in hits[1:])


def test_search_by_words_in_any_order_and_by_partial_words():
    in_order = codes(icd10.search("type 2 diabetes mellitus without complications", limit=5))
    reordered = codes(icd10.search("without complications diabetes type 2", limit=5))
    partial = codes(icd10.search("diab mell type 2 without compl", limit=5))
    assert "E11.9" in in_order and "E11.9" in reordered and "E11.9" in partial


def test_words_match_accents_and_punctuation_loosely():
    assert "G30.9" in codes(icd10.search("alzheimer's disease unspecified", limit=10))
    assert "G30.9" in codes(icd10.search("ALZHEIMER DISEASE, UNSPEC", limit=10))


def test_every_word_must_match():
    hits = icd10.search("asthma uncomplicated", limit=50)
    assert hits
    for hit in hits:
        words = icd10.words(hit.description)
        assert any(w.startswith("asthma") for w in words) or hit.code.startswith("J45")


def test_inclusion_terms_are_searched():
    assert "I10" in codes(icd10.search("high blood pressure"))


def test_billable_filter_leaves_out_headings():
    everything = icd10.search("E11", limit=20)
    billable = icd10.search("E11", limit=20, billable_only=True)
    assert any(not h.billable for h in everything)
    assert billable and all(h.billable for h in billable)
    assert all(h.billable for h in icd10.search("diabetes", limit=40, billable_only=True))


def test_nothing_found_and_empty_queries():
    assert icd10.search("zzqx") == []
    assert icd10.search("   ") == []
    assert icd10.search("diabetes zzqx") == []
    assert icd10.search("E11", limit=0) == []


def test_limit_is_respected():
    assert len(icd10.search("fracture", limit=7)) == 7


def test_diagnosis_check_normalises_and_accepts_a_billable_code():
    for typed in ("e119", "E11.9", " e11.9 "):
        hit = icd10.diagnosis_check(typed)
        assert hit.code == "E11.9" and hit.billable
        assert hit.description == "Type 2 diabetes mellitus without complications"


def test_diagnosis_check_refuses_a_heading_and_suggests_codes_beneath_it():
    with pytest.raises(ValidationError) as caught:
        icd10.diagnosis_check("e11")
    error = caught.value
    message = error.messages[0]
    assert error.code == "icd10_header"
    assert message.startswith("E11 (Type 2 diabetes mellitus) is a heading")
    suggestions = error.params["suggestions"]
    assert len(suggestions) == icd10.SUGGESTIONS
    assert all(s.startswith("E11.") and icd10.diagnosis_check(s).billable for s in suggestions)
    assert ", ".join(suggestions) in message and "more" in message


def test_a_seventh_character_heading_suggests_the_encounters():
    with pytest.raises(ValidationError) as caught:
        icd10.diagnosis_check("S72.001")
    assert caught.value.params["suggestions"][0] == "S72.001A"


@pytest.mark.parametrize("typed", ["E11.99", "XYZ", "", "123", "E11.9.9", "T81.4XXA"])
def test_diagnosis_check_refuses_unknown_codes(typed):
    with pytest.raises(ValidationError) as caught:
        icd10.diagnosis_check(typed)
    assert caught.value.code == "icd10_unknown"
    assert "is not an ICD-10-CM diagnosis code" in caught.value.messages[0]


def test_describe():
    assert icd10.describe("i10") == "Essential (primary) hypertension"
    assert icd10.describe("E11") == "Type 2 diabetes mellitus"
    assert icd10.describe("nope") == ""


def test_the_index_is_built_once_even_when_threads_race(monkeypatch, code_set_here):
    built = []
    original = icd10._Index

    class Counting(original):
        def __init__(self):
            built.append(1)
            super().__init__()

    monkeypatch.setattr(icd10, "_index", None)
    monkeypatch.setattr(icd10, "_Index", Counting)
    # the build itself under the race; reading the code set in a child process has its own test below
    monkeypatch.setattr(icd10, "_code_set", lambda: code_set_here)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(icd10.index())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len({id(ix) for ix in seen}) == 1
    assert icd10.search("E11.9")[0].code == "E11.9"


def test_the_code_set_read_by_a_child_process_is_the_packages(monkeypatch, code_set_here):
    here = code_set_here
    monkeypatch.delitem(sys.modules, "simple_icd_10_cm", raising=False)
    monkeypatch.delitem(sys.modules, "simple_icd_10_cm.simple_icd_10_cm", raising=False)
    read = icd10._code_set()
    assert read == here
    assert "simple_icd_10_cm" not in sys.modules  # the package's tree stayed in the child
    assert ["E11.9", True, "Type 2 diabetes mellitus without complications", ""] in read

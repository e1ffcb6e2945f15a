"""The tokenizer, the envelopes and their errors, the writer."""

from __future__ import annotations

import contextlib
import string
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicdesk.insurance.tests.x12.builders import envelope
from clinicdesk.insurance.tests.x12.conftest import sample_params
from clinicdesk.insurance.x12.segments import (
    Composite,
    InterchangeWriter,
    Separators,
    X12Error,
    money,
    read_interchange,
    tokenize,
)


def interchange(*segments: str, se_count: int | None = None, version: str = "005010X222A1") -> str:
    """A hand-made interchange around the given transaction segments (with ST and SE)."""
    count = len(segments) + 2 if se_count is None else se_count
    lines = [
        "ISA*00*          *00*          *ZZ*CLINIC1        *ZZ*CLEARING       *261127*0930*^*00501*000000005*0*T*:",
        f"GS*HC*CLINIC1*CLEARING*20261127*0930*5*X*{version}",
        "ST*837*0001",
        *segments,
        f"SE*{count}*0001",
        "GE*1*5",
        "IEA*1*000000005",
    ]
    return "~\n".join(lines) + "~\n"


def test_separators_come_from_the_isa():
    # given: an interchange with unusual separators
    text = interchange("BHT*0019*00*B1*20261127*0930*CH").replace("*", "|").replace(":", ">").replace("~", "!")
    text = text.replace("|^|", "|}|")
    # when
    separators, segments = tokenize(text)
    # then
    assert separators == Separators(element="|", component=">", repetition="}", segment="!")
    assert segments[3].elements == ["BHT", "0019", "00", "B1", "20261127", "0930", "CH"]
    assert [segment.ordinal for segment in segments] == list(range(1, 8))


def test_a_good_interchange_reads_with_its_groups_and_transactions():
    parsed = read_interchange(interchange("BHT*0019*00*B1*20261127*0930*CH"))
    assert parsed.control_number == "000000005" and parsed.usage == "T"
    [(group, transaction)] = list(parsed.transactions())
    assert group.version == "005010X222A1" and group.control_number == "5"
    assert transaction.set_id == "837" and [s.id for s in transaction.segments] == ["BHT"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (interchange("BHT*0019*00*B1*20261127*0930*CH", se_count=12),
         "segment 5 (SE): SE01 says 12 segments, the transaction has 3"),
        (interchange("BHT*0019*00*B1*20261127*0930*CH").replace("IEA*1*000000005~\n", ""), "segment 6 (GE): no IEA"),
        (interchange("BHT*0019*00*B1*20261127*0930*CH", version="004010X098A1"),
         "segment 2 (GS): version 004010X098A1 is not 5010"),
        (interchange("BHT*0019*00*B1*20261127*0930*CH", "ZZZ*1"), "segment 5 (ZZZ): unknown segment ZZZ at segment 5"),
        (interchange("BHT*0019*00*B1*20261127*0930*CH").replace("IEA*1*000000005", "IEA*1*000000006"),
         "segment 7 (IEA): IEA02 '000000006' does not match ISA13 '000000005'"),
        (interchange("BHT*0019*00*B1*20261127*0930*CH").replace("GE*1*5", "GE*2*5"),
         "segment 6 (GE): GE01 says 2 transactions, the group has 1"),
        (interchange("BHT*0019*00*B1*20261127*0930*CH").replace("SE*3*0001", "SE*3*0002"),
         "segment 5 (SE): SE02 '0002' does not match ST02 '0001'"),
        (interchange("BHT*0019*00*B1*20261127*0930*CH").replace("20261127*0930*5", "20261327*0930*5"),
         "segment 2 (GS): GS04 '20261327' is not a date (CCYYMMDD)"),
        ("ISA*00*short~", "segment 1 (ISA): the ISA is 13 characters, it must be 106"),
        ("GS*HC~", "segment 1 (GS): an interchange starts with ISA"),
    ],
    ids=["se-count", "no-iea", "4010", "unknown-segment", "iea-control", "ge-count", "se-control", "bad-date",
         "short-isa", "no-isa"],
)
def test_a_broken_interchange_is_an_error_naming_the_segment(text, message):
    with pytest.raises(X12Error) as caught:
        read_interchange(text)
    assert str(caught.value) == message


def test_the_error_carries_the_ordinal_and_the_segment_id():
    with pytest.raises(X12Error) as caught:
        read_interchange(interchange("BHT*0019*00*B1*20261127*0930*CH", se_count=12))
    assert (caught.value.ordinal, caught.value.segment_id) == (5, "SE")


@pytest.mark.parametrize("path", sample_params("pyx12/invalid_4010/*.txt"))
def test_the_invalid_pyx12_files_are_refused_as_not_5010(path):
    with pytest.raises(X12Error) as caught:
        read_interchange(path.read_text())
    assert str(caught.value) == "segment 1 (ISA): version 00401 is not 5010 (00501)"


INVALID_4010 = {
    "bad_elements.txt": "segment 31 (SE): SE01 says 30 segments, the transaction has 29",
    "bad_header_looping.txt": "segment 74 (SE): SE01 says 39 segments, the transaction has 72",
    "fail_no_IEA.txt": "segment 4 (SE): SE01 says 0 segments, the transaction has 2",
    "bad_2010AA_bug.txt": "segment 20 (CLM): a claim before its billing provider, subscriber and payer",
}


@pytest.mark.parametrize("path", sample_params("pyx12/invalid_4010/*.txt"))
def test_read_as_4010_each_invalid_pyx12_file_names_its_own_fault(path):
    from clinicdesk.insurance.x12 import x837p

    with pytest.raises(X12Error) as caught:
        parsed = read_interchange(path.read_text(), require_5010=False)
        for _, transaction in parsed.transactions():
            batch = x837p.ClaimBatch(x837p.SUBMITTER_UNKNOWN, x837p.RECEIVER_UNKNOWN, "")
            x837p._read_transaction(transaction.segments, batch)
    assert str(caught.value) == INVALID_4010[path.name]


@pytest.mark.parametrize("path", sample_params("pyx12/invalid_4010/bad_header_looping.txt"))
def test_the_remittance_reader_names_the_bad_date_of_the_bad_header_file(path):
    from clinicdesk.insurance.x12.x835 import _read_transaction

    _, segments = tokenize(path.read_text())
    with pytest.raises(X12Error, match=r"^segment 7 \(DTM\): DTM02 '11111111' is not a date \(CCYYMMDD\)$"):
        _read_transaction(segments[3:-3], "0001")


def test_the_writer_counts_segments_and_numbers_transactions():
    # given
    writer = InterchangeWriter(envelope(42), functional_id="HC", version="005010X222A1")
    for _ in range(2):
        tx = writer.transaction("837")
        tx.add("BHT", "0019", "00", "B1", "20261127", "0930", "CH")
        tx.add("NM1", "41", "2", "A*B~C:D^E", None, None, None, None, "46", "X")
    # when
    parsed = read_interchange(writer.render())
    # then
    transactions = [transaction for _, transaction in parsed.transactions()]
    assert [t.control_number for t in transactions] == ["0001", "0002"]
    assert parsed.control_number == "000000042"
    assert transactions[0].segments[1].elements == ["NM1", "41", "2", "A B C D E", "", "", "", "", "46", "X"]


def test_the_writer_drops_trailing_empty_elements_and_components():
    writer = InterchangeWriter(envelope(), functional_id="HC", version="005010X222A1")
    tx = writer.transaction("837")
    tx.add("CLM", "C1", "100", None, None, Composite(("11", "B", "1")), None, None)
    tx.add("SV1", Composite(("HC", "99213", "", "")), "100")
    assert tx.lines == ["CLM*C1*100***11:B:1", "SV1*HC:99213*100"]


@pytest.mark.parametrize(("amount", "text"), [("125.00", "125"), ("125.50", "125.5"), ("0.05", "0.05"),
                                              ("-60", "-60"), ("0", "0"), ("1E+2", "100")])
def test_money_is_written_without_needless_zeros(amount, text):
    assert money(Decimal(amount)) == text


element_text = st.text(alphabet=string.ascii_uppercase + string.digits + " .-/#&,'()", max_size=12)
separator_sets = st.permutations(list("*|:>^}~!")).map(lambda chars: Separators(*chars[:4]))


@settings(max_examples=60, deadline=None)
@given(
    separators=separator_sets,
    rows=st.lists(st.tuples(st.sampled_from(["NM1", "REF", "DTP", "N3", "PER"]),
                            st.lists(element_text, min_size=1, max_size=8)), min_size=1, max_size=12),
)
def test_whatever_is_written_tokenizes_back_to_the_same_elements(separators, rows):
    # given: segments written with any distinct separators
    writer = InterchangeWriter(envelope(), functional_id="HC", version="005010X222A1", separators=separators)
    tx = writer.transaction("837")
    for segment_id, values in rows:
        tx.add(segment_id, *values)
    # when
    parsed = read_interchange(writer.render(newline=False))
    # then: the same values, less the trailing empty ones the writer leaves out
    [(_, transaction)] = list(parsed.transactions())
    expected = []
    for segment_id, values in rows:
        elements = [segment_id, *values]
        while len(elements) > 1 and not elements[-1]:
            elements.pop()
        expected.append(elements)
    assert [segment.elements for segment in transaction.segments] == expected
    assert parsed.separators == separators


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_text_reads_or_fails_with_an_x12_error(text):
    # nothing but an X12Error may come out of the reader, whatever it is given
    with contextlib.suppress(X12Error):
        read_interchange(text)

"""999 and 277CA: what a clearinghouse answers to an 837, written, validated by pyx12 and read back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.insurance.tests.x12.builders import RECEIVER, SUBMITTER, envelope, office_visit
from clinicdesk.insurance.tests.x12.validation import pyx12_errors
from clinicdesk.insurance.x12.segments import X12Error, read_interchange
from clinicdesk.insurance.x12.x277ca import (
    ClaimAck,
    ClaimAcknowledgement,
    ClaimStatus,
    acknowledge_claims,
    read_277ca,
    write_277ca,
)
from clinicdesk.insurance.x12.x837p import build_837p, read_837p
from clinicdesk.insurance.x12.x999 import (
    ElementError,
    FunctionalAck,
    SegmentError,
    TransactionAck,
    acknowledge,
    read_999,
    write_999,
)


def claims_file() -> str:
    claims = [office_visit("C1"), office_visit("C2")]
    return build_837p(claims, submitter=SUBMITTER, receiver=RECEIVER, envelope=envelope(7), reference="B1")


def partly_rejected() -> FunctionalAck:
    bad_clm = SegmentError("CLM", 22, "8", "2300", [ElementError(5, "7", 3, "1325", "9")])
    return FunctionalAck(
        "HC", "7", "P", "005010X222A1",
        [TransactionAck("837", "0001", "A", "005010X222A1"),
         TransactionAck("837", "0002", "R", "005010X222A1", [bad_clm, SegmentError("ZZZ", 30, "1")], ["5"])],
        2, 2, 1, ["5"],
    )


def claim_acknowledgement() -> ClaimAcknowledgement:
    accepted = ClaimAck("C1", [ClaimStatus("A2", "20", "PR")], date(2026, 11, 27), Decimal("155"), "1234567893",
                        "SUNRISE CLINIC", "DOE", "JANE", "M123", "PCN1", date(2026, 11, 20), date(2026, 11, 20))
    rejected = ClaimAck("C2", [ClaimStatus("A7", "21", "IL"), ClaimStatus("A7", "153")], date(2026, 11, 27),
                        Decimal("155"), "1234567893", "SUNRISE CLINIC", "DOE", "JANE", "M123", "",
                        date(2026, 11, 20), date(2026, 11, 21))
    return ClaimAcknowledgement("ACME HEALTH", "12345", "SUNRISE CLINIC", "SUB1", "B1", date(2026, 11, 26),
                                date(2026, 11, 27), [accepted, rejected], reference="R1")


def test_an_accepting_999_for_a_claims_file_passes_pyx12_and_reads_back():
    # given: the clearinghouse read our 837
    [group] = read_interchange(claims_file()).groups
    # when
    ack = acknowledge(group)
    text = write_999([ack], envelope=envelope(8, sender="CLEARING", receiver="CLINIC1"))
    # then
    assert pyx12_errors(text) == []
    [back] = read_999(text)
    assert back == ack
    assert back.accepted and back.status_name == "Accepted" and back.group_control_number == "7"
    assert [(t.set_id, t.control_number, t.status) for t in back.transactions] == [("837", "0001", "A")]


def test_a_partly_rejecting_999_names_the_segment_and_element():
    text = write_999([partly_rejected()], envelope=envelope(8, sender="CLEARING", receiver="CLINIC1"))
    assert pyx12_errors(text) == []
    [back] = read_999(text)
    assert back == partly_rejected()
    assert back.partially_accepted and not back.accepted and not back.rejected
    rejected = back.transactions[1]
    assert not rejected.accepted
    assert [str(error) for error in rejected.errors] == [
        "segment 22 (CLM): Segment has data element errors; CLM05-3 '9': Invalid code value",
        "segment 30 (ZZZ): Unrecognized segment",
    ]


def test_acknowledge_rejects_the_transactions_given_errors_for():
    [group] = read_interchange(claims_file()).groups
    ack = acknowledge(group, {"0001": [SegmentError("HI", 9, "8", "2300")]})
    assert ack.rejected and ack.transactions[0].status == "R" and ack.accepted_count == 0


def test_a_277ca_passes_pyx12_and_reads_back():
    text = write_277ca([claim_acknowledgement()], envelope=envelope(9, sender="CLEARING", receiver="CLINIC1"))
    assert pyx12_errors(text) == []
    assert read_277ca(text) == [claim_acknowledgement()]


def test_a_277ca_tells_accepted_from_rejected_claims_by_the_claim_id_sent():
    # given: the claims of our 837
    sent = {claim.claim_id for claim in read_837p(claims_file()).claims}
    # when
    [ack] = read_277ca(write_277ca([claim_acknowledgement()], envelope=envelope(9)))
    # then
    assert set(ack.by_claim_id()) == sent
    assert [claim.claim_id for claim in ack.accepted] == ["C1"]
    assert [claim.claim_id for claim in ack.rejected] == ["C2"]
    assert ack.rejected[0].statuses[0].category_name == "Rejected for invalid information"
    assert ack.accepted[0].payer_claim_control_number == "PCN1"
    assert ack.batch_reference == "B1"


def test_a_277ca_status_with_an_unknown_category_is_named():
    text = write_277ca([claim_acknowledgement()], envelope=envelope(9)).replace("STC*A2:20:PR", "STC*Q9:20:PR")
    with pytest.raises(X12Error, match=r"^segment \d+ \(STC\): STC01 'Q9:20:PR' does not start with a claim status"):
        read_277ca(text)


def test_a_999_with_an_unknown_acknowledgement_code_is_named():
    text = write_999([partly_rejected()], envelope=envelope(8)).replace("AK9*P*", "AK9*Q*")
    with pytest.raises(X12Error, match=r"^segment \d+ \(AK9\): AK901 'Q' is not an acknowledgement code$"):
        read_999(text)


def test_a_277ca_built_for_a_claims_file_rejects_the_claims_named():
    # given: the clearinghouse read our 837
    batch = read_837p(claims_file())
    # when
    ack = acknowledge_claims(batch, payer_name="ACME HEALTH", payer_id="12345", received=date(2026, 11, 27),
                             processed=date(2026, 11, 27), rejections={"C2": [ClaimStatus("A7", "21", "IL")]},
                             payer_claim_numbers={"C1": "PCN1"})
    text = write_277ca([ack], envelope=envelope(9, sender="CLEARING", receiver="CLINIC1"))
    # then
    assert pyx12_errors(text) == []
    [back] = read_277ca(text)
    assert [(c.claim_id, c.accepted, c.payer_claim_control_number, c.charge) for c in back.claims] == [
        ("C1", True, "PCN1", Decimal("155")), ("C2", False, "", Decimal("155"))]
    assert back.batch_reference == "B1" and back.submitter_id == "SUB1"

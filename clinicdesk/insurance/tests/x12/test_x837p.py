"""837P claim batches: pyx12 accepts what we write, it reads back the same, the levels group as they should."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.insurance.tests.x12.builders import (
    ACME,
    FIRST,
    RECEIVER,
    SUBMITTER,
    TIM,
    envelope,
    office_visit,
    secondary_claim,
    secondary_claim_with_claim_level_adjustments,
)
from clinicdesk.insurance.tests.x12.validation import pyx12_errors
from clinicdesk.insurance.x12 import x837p
from clinicdesk.insurance.x12.segments import X12Error, read_interchange
from clinicdesk.insurance.x12.x837p import ServiceLine, build_837p, read_837p


def batch() -> list[x837p.Claim]:
    return [
        office_visit("C1", prior_authorization="PA100"),
        office_visit("C2", frequency="7", original_claim_reference="PCN9"),
        office_visit("C3", patient=TIM, rendering_provider=None),
        office_visit("C4", frequency="8", original_claim_reference="PCN8", payer=FIRST),
        secondary_claim("C5"),
        office_visit("C6", patient=TIM, place_of_service="02"),
        secondary_claim_with_claim_level_adjustments("C7"),
    ]


def build(claims, control: int = 5) -> str:
    return build_837p(claims, submitter=SUBMITTER, receiver=RECEIVER, envelope=envelope(control), reference="B1")


def test_a_written_837p_passes_pyx12():
    assert pyx12_errors(build(batch())) == []


def test_a_written_837p_reads_back_the_same_claims():
    # when
    read = read_837p(build(batch()))
    # then: the same claims, in the order of their levels
    assert sorted(read.claims, key=lambda claim: claim.claim_id) == batch()
    assert (read.submitter, read.receiver, read.reference) == (SUBMITTER, RECEIVER, "B1")


def test_claims_are_grouped_by_billing_provider_then_subscriber_and_dependent():
    # given: C1, C2 for Jane, C3 and C6 for her son, C4 to another payer, C5 as secondary
    text = build(batch())
    # when
    [(_, transaction)] = list(read_interchange(text).transactions())
    levels = [(s.get(1), s.get(2), s.get(3), s.get(4)) for s in transaction.segments if s.id == "HL"]
    # then: one provider level; Jane to ACME; Jane for Tim (with his level); Jane to FIRST; Jane secondary
    assert levels == [
        ("1", "", "20", "1"),
        ("2", "1", "22", "0"), ("3", "1", "22", "1"), ("4", "3", "23", "0"),
        ("5", "1", "22", "0"), ("6", "1", "22", "0"),
    ]  # C7 shares C5's subscriber level: same subscriber, payer and patient
    claims_by_level = {}
    current = None
    for segment in transaction.segments:
        if segment.id == "HL":
            current = segment.get(1)
        elif segment.id == "CLM":
            claims_by_level.setdefault(current, []).append(segment.get(1))
    assert claims_by_level == {"2": ["C1", "C2"], "4": ["C3", "C6"], "5": ["C4"], "6": ["C5", "C7"]}


def test_replacements_and_voids_carry_the_original_reference_and_frequency():
    text = build([office_visit("C2", frequency="7", original_claim_reference="PCN9")])
    assert "CLM*C2*155***11:B:7*Y*A*Y*Y~" in text and "REF*F8*PCN9~" in text


def test_diagnoses_are_principal_then_other_and_lines_point_at_them():
    text = build([office_visit("C1")])
    assert "HI*ABK:J069*ABF:R05~" in text
    assert "SV1*HC:99213:25*125*UN*1***1:2~" in text and "DTP*472*D8*20261120~" in text


def test_a_secondary_claim_carries_the_primary_payer_and_its_line_adjudication():
    text = build([secondary_claim("C5")])
    assert "SBR*S*18*G77******CI~" in text
    assert "SBR*P*18*PG1******CI~AMT*D*80~OI***Y***Y~" in text.replace("\n", "")
    assert "SVD*99999*80*HC:99213**1~CAS*CO*45*25~CAS*PR*2*20~DTP*573*D8*20261125~" in text.replace("\n", "")


def test_big_batches_are_split_into_transactions_of_at_most_5000_claims():
    # given
    claims = [office_visit(f"C{n}", subscriber=dataclasses.replace(office_visit("x").subscriber, member_id=f"M{n % 7}"))
              for n in range(5003)]
    # when
    text = build(claims)
    # then
    transactions = [t for _, t in read_interchange(text).transactions()]
    counts = [sum(1 for s in t.segments if s.id == "CLM") for t in transactions]
    assert len(counts) == 2 and max(counts) <= 5000 and sum(counts) == 5003
    by_subscriber = sorted(claims, key=lambda claim: int(claim.subscriber.member_id[1:]))
    assert [claim.claim_id for claim in read_837p(text).claims] == [claim.claim_id for claim in by_subscriber]


def test_a_split_never_leaves_a_billing_provider_level_without_subscribers():
    # given: the second practice's claims do not fit in the first transaction
    north = dataclasses.replace(office_visit("x").billing_provider, npi="1245319599", name="SUNRISE NORTH")
    claims = [office_visit(f"A{n}") for n in range(4999)] + [office_visit(f"B{n}", billing_provider=north)
                                                              for n in range(3)]
    # when
    transactions = [t for _, t in read_interchange(build(claims)).transactions()]
    # then: every provider level (HL 20) has a subscriber level (HL 22) under it, in the same transaction
    for transaction in transactions:
        levels = [(s.get(1), s.get(2), s.get(3)) for s in transaction.segments if s.id == "HL"]
        providers = {number for number, _, level in levels if level == "20"}
        assert providers == {parent for _, parent, level in levels if level == "22"}
    assert len(transactions) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"billing_provider": dataclasses.replace(office_visit("x").billing_provider, npi="1234567890")},
         "claim C1: billing provider NPI '1234567890' is not valid"),
        ({"frequency": "7"}, "claim C1: a replacement or void needs the original claim's reference (REF*F8)"),
        ({"frequency": "5"}, "claim C1: frequency '5' is not 1, 7 or 8"),
        ({"diagnosis_codes": ()}, "claim C1: 1 to 12 diagnosis codes"),
        ({"lines": (ServiceLine("99213", Decimal("10"), date(2026, 1, 2), diagnosis_pointers=(3,)),)},
         "claim C1, line 1: 1 to 4 diagnosis pointers, each to a diagnosis of the claim"),
        ({"billing_provider": dataclasses.replace(
            office_visit("x").billing_provider,
            address=dataclasses.replace(office_visit("x").billing_provider.address, postal_code="78701"))},
         "claim C1: the billing provider's postal code must have 9 digits"),
    ],
    ids=["npi", "no-original", "frequency", "no-diagnosis", "pointer", "zip"],
)
def test_a_claim_that_cannot_be_sent_is_refused_by_name(changes, message):
    with pytest.raises(X12Error) as caught:
        build([office_visit("C1", **changes)])
    assert str(caught.value) == message


def test_a_total_that_does_not_match_its_lines_is_named_on_reading():
    text = build([office_visit("C1")]).replace("CLM*C1*155*", "CLM*C1*150*")
    with pytest.raises(X12Error, match=r"^segment \d+ \(CLM\): CLM02 says 150, the lines add up to 155$"):
        read_837p(text)


def test_claim_level_adjustments_of_the_primary_come_before_its_paid_amount():
    text = build([secondary_claim_with_claim_level_adjustments("C7")]).replace("\n", "")
    assert "SBR*P*18*PG1******CI~CAS*CO*45*25~CAS*PR*1*20**2*5.5~AMT*D*74.5~OI***Y***Y~" in text


def test_other_payers_keep_their_own_payer_on_reading():
    [claim] = read_837p(build([secondary_claim("C5")])).claims
    assert claim.payer == ACME and claim.other_payers[0].payer == FIRST and claim.other_payers[0].paid == Decimal("80")

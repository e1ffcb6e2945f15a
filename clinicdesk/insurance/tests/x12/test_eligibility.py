"""270 inquiries and 271 benefits: the samples, the front-desk reading, writing and reading back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.insurance.tests.x12.builders import CLINIC_NPI, envelope
from clinicdesk.insurance.tests.x12.conftest import sample_params
from clinicdesk.insurance.tests.x12.validation import pyx12_errors, pyx12_has_map
from clinicdesk.insurance.x12.records import Address
from clinicdesk.insurance.x12.segments import Envelope, X12Error, read_interchange
from clinicdesk.insurance.x12.x270 import EligibilityInquiry, InquiryPerson, build_270, read_270
from clinicdesk.insurance.x12.x271 import (
    Benefit,
    BenefitEntity,
    Eligibility,
    EligibilityResponse,
    Rejection,
    read_271,
    write_271,
)

NO_279_MAP = "pyx12 4.0.0 has no map for 005010X279A1 (270/271), so it cannot validate them"


def inquiry(trace: str = "T1", **changes) -> EligibilityInquiry:
    values = {
        "trace_number": trace, "payer_id": "12345", "payer_name": "ACME HEALTH", "provider_npi": CLINIC_NPI,
        "provider_name": "SUNRISE CLINIC", "member_id": "M123",
        "subscriber": InquiryPerson("DOE", "JANE", date(1980, 1, 2), "F"), "service_date": date(2026, 11, 27),
        "service_types": ("30", "98"),
    }
    return EligibilityInquiry(**(values | changes))


def response() -> EligibilityResponse:
    """Jane is covered (copays, coinsurance, deductible and out-of-pocket); her son's coverage has ended."""
    jane = Eligibility(
        role="subscriber", last_name="DOE", first_name="JANE", member_id="M123", birth_date=date(1980, 1, 2), sex="F",
        address=Address("2 ELM ST", "AUSTIN", "TX", "78701"), group_number="G77", trace_numbers=["T1"],
        dates={"346": (date(2026, 1, 1), date(2026, 1, 1)), "356": (date(2025, 6, 1), date(2025, 6, 1))},
        benefits=[
            Benefit("1", "IND", ("30",), "PR", "GOLD PPO"),
            Benefit("L", entities=[BenefitEntity("P3", "SMITH", "ANN", "XX", "1245319599")]),
            Benefit("B", "IND", ("98",), "PR", "GOLD PPO", "27", Decimal("25.00"), in_network=True),
            Benefit("B", "IND", ("98",), "PR", "GOLD PPO", "27", Decimal("60.00"), in_network=False),
            Benefit("A", "IND", ("30",), "PR", "GOLD PPO", percent=Decimal("0.2"), in_network=True),
            Benefit("C", "IND", ("30",), "PR", "GOLD PPO", "23", Decimal("1500.00"), in_network=True),
            Benefit("C", "IND", ("30",), "PR", "GOLD PPO", "29", Decimal("900.00"), in_network=True,
                    messages=["DEDUCTIBLE MET TO DATE 600"]),
            Benefit("C", "FAM", ("30",), "PR", "GOLD PPO", "23", Decimal("3000.00"), in_network=True),
            Benefit("G", "IND", ("30",), "PR", "GOLD PPO", "23", Decimal("6000.00"), in_network=True),
            Benefit("G", "IND", ("30",), "PR", "GOLD PPO", "29", Decimal("5100.50"), in_network=True,
                    dates={"292": (date(2026, 1, 1), date(2026, 12, 31))}),
        ],
    )
    tim = Eligibility(
        role="dependent", last_name="DOE", first_name="TIM", birth_date=date(2015, 3, 4), sex="M", trace_numbers=["T2"],
        dates={"357": (date(2026, 6, 30), date(2026, 6, 30))}, benefits=[Benefit("6", "", ("30",))],
    )
    nobody = Eligibility(role="subscriber", last_name="ROE", first_name="RICK", member_id="X9", trace_numbers=["T3"],
                         rejections=[Rejection("75", "C")])
    jane.dependents.append(tim)
    return EligibilityResponse("ACME HEALTH", "12345", "SUNRISE CLINIC", CLINIC_NPI, subscribers=[jane, nobody],
                               reference="R1")


@pytest.mark.parametrize("path", sample_params("linuxforhealth/270_*/*.270"))
def test_every_270_sample_reads_and_is_written_back_segment_for_segment(path):
    # given
    text = path.read_text()
    original = read_interchange(text)
    [(_, source)] = list(original.transactions())
    # when: the inquiries read are written again with the sample's own reference and originator
    inquiries = read_270(text)
    bht = source.segments[0]
    trn = next(segment for segment in source.segments if segment.id == "TRN")
    written = build_270(inquiries, envelope=Envelope("000000005", "54321", 907, 1, original.created),
                        originator_id=trn.get(3), reference=bht.get(3))
    [(_, ours)] = list(read_interchange(written).transactions())
    # then: the same segments but the time of writing
    assert [s.elements for s in ours.segments[1:]] == [s.elements for s in source.segments[1:]]
    assert inquiries[0].trace_number == "93175-012547" and inquiries[0].service_types == ("30",)


@pytest.mark.parametrize("path", sample_params("linuxforhealth/271_*/*.271"))
def test_the_271_sample_reads_into_front_desk_benefits(path):
    [answer] = read_271(path.read_text())
    [smith] = answer.subscribers
    assert (answer.payer_name, answer.provider_name) == ("ABC COMPANY", "BONE AND JOIN CLINIC")
    assert (smith.last_name, smith.first_name, smith.member_id) == ("SMITH", "JOHN", "123456789")
    assert smith.active is True and smith.plan_names == ["GOLD 123 PLAN"]
    assert smith.copay_for("98") == Decimal("10.00") and smith.copay_for("98", in_network=False) == Decimal("30.00")
    assert smith.plan_begin == date(2006, 1, 1) and smith.birth_date == date(1963, 5, 19)
    assert smith.trace_numbers == ["93175-012547"]
    pcp = smith.primary_care_provider
    assert (pcp.last_name, pcp.first_name, pcp.id_qualifier, pcp.id) == ("JONES", "MARCUS", "SV", "0202034")
    assert smith.copays[0].time_period_name == "Visit"
    assert "Professional (physician) visit, office" in smith.copays[0].service_type_names


@pytest.mark.parametrize("path", sample_params("linuxforhealth/271_*/*.271"))
def test_the_271_sample_is_written_back_segment_for_segment_but_amounts_without_needless_zeros(path):
    # given
    text = path.read_text()
    original = read_interchange(text)
    [(_, source)] = list(original.transactions())
    # when
    written = write_271(read_271(text), envelope=Envelope("000000005", "54321", 907, 1, original.created),
                        originator_id="9877281234")
    # then
    [(_, ours)] = list(read_interchange(written).transactions())
    expected = [s.elements for s in source.segments[1:]]
    for elements in expected:
        if elements[0] == "EB" and len(elements) > 7:
            elements[7] = elements[7].removesuffix(".00")
    assert [s.elements for s in ours.segments[1:]] == expected


@pytest.mark.parametrize("path", sample_params("linuxforhealth/271_*/*.271"))
def test_the_271_sample_written_again_reads_the_same(path):
    answers = read_271(path.read_text())
    assert read_271(write_271(answers, envelope=envelope(), originator_id="9877281234")) == answers


def test_a_written_271_reads_back_the_same():
    assert read_271(write_271([response()], envelope=envelope(), originator_id="1741234567")) == [response()]


def test_the_front_desk_reading_of_a_271():
    [answer] = read_271(write_271([response()], envelope=envelope(), originator_id="1741234567"))
    jane, rick = answer.subscribers
    [tim] = jane.dependents
    assert jane.active is True and tim.active is False and rick.active is None
    assert jane.copay_for("98") == Decimal("25.00") and jane.copay_for("98", in_network=False) == Decimal("60.00")
    assert jane.coinsurance[0].percent == Decimal("0.2")
    assert jane.deductible() == Decimal("1500.00") and jane.deductible(remaining=True) == Decimal("900.00")
    assert jane.out_of_pocket_total() == Decimal("6000.00")
    assert jane.out_of_pocket_remaining() == Decimal("5100.50")
    assert [benefit.time_period_name for benefit in jane.deductibles[:2]] == ["Calendar year", "Remaining"]
    assert jane.plan_begin == date(2026, 1, 1) and jane.eligibility_begin == date(2025, 6, 1)
    assert rick.rejections[0].reason_name == "Subscriber not found"
    assert jane.primary_care_provider.last_name == "SMITH" and rick.primary_care_provider is None
    assert [person.trace_numbers for person in answer.everyone()] == [["T1"], ["T2"], ["T3"]]


def test_a_270_for_many_subscribers_and_a_dependent_reads_back():
    # given
    asked = [
        inquiry("T1"),
        inquiry("T2", dependent=InquiryPerson("DOE", "TIM", date(2015, 3, 4), "M")),
        inquiry("T3", payer_id="99999", payer_name="FIRST HEALTH", member_id="P5"),
    ]
    # when
    text = build_270(asked, envelope=envelope(), originator_id="1741234567")
    # then: one payer level per payer, the dependent under its subscriber
    [(_, transaction)] = list(read_interchange(text).transactions())
    levels = [(s.get(1), s.get(2), s.get(3), s.get(4)) for s in transaction.segments if s.id == "HL"]
    assert levels == [("1", "", "20", "1"), ("2", "1", "21", "1"), ("3", "2", "22", "0"), ("4", "2", "22", "1"),
                      ("5", "4", "23", "0"), ("6", "", "20", "1"), ("7", "6", "21", "1"), ("8", "7", "22", "0")]
    assert "EQ*30^98~" in text
    assert read_270(text) == asked


def test_an_inquiry_without_a_member_id_is_refused():
    with pytest.raises(X12Error, match="inquiry T1: the member id is required"):
        build_270([inquiry(member_id="")], envelope=envelope(), originator_id="1741234567")


def test_a_bad_birth_date_in_a_271_is_named():
    text = write_271([response()], envelope=envelope(), originator_id="1741234567").replace("19800102", "19801302")
    with pytest.raises(X12Error, match=r"^segment \d+ \(DMG\): DMG02 '19801302' is not a date \(CCYYMMDD\)$"):
        read_271(text)


@pytest.mark.skipif(not pyx12_has_map("005010X279A1", "HS"), reason=NO_279_MAP)
def test_a_written_270_passes_pyx12():
    assert pyx12_errors(build_270([inquiry()], envelope=envelope(), originator_id="1741234567")) == []


@pytest.mark.skipif(not pyx12_has_map("005010X279A1", "HB"), reason=NO_279_MAP)
def test_a_written_271_passes_pyx12():
    assert pyx12_errors(write_271([response()], envelope=envelope(), originator_id="1741234567")) == []

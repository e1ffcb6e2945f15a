"""835 remittances: the samples read and balance, ours pass pyx12 and read back the same."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from clinicdesk.insurance.tests.x12.builders import envelope, remittance
from clinicdesk.insurance.tests.x12.conftest import sample_params
from clinicdesk.insurance.tests.x12.validation import pyx12_errors
from clinicdesk.insurance.x12.records import Adjustment
from clinicdesk.insurance.x12.segments import X12Error
from clinicdesk.insurance.x12.x835 import read_835, write_835

# two samples carry a defect of their own; the reader names it, and the test reads a corrected copy as well
SAMPLE_DEFECTS = {
    "managed-care.835": ("segment 4 (BPR): BPR16 '20002316' is not a date (CCYYMMDD)", "20002316", "20020316"),
    "secondary-payment.835": ("segment 29 (SVC): SVC01 'HC>12345>26' needs a qualifier and a code", ">", ":"),
}


@pytest.mark.parametrize("path", sample_params("linuxforhealth/835_*/*.835", "pyx12/valid/835_mult_loops.txt"))
def test_every_835_sample_reads_and_balances(path):
    # given
    text = path.read_text()
    if path.name in SAMPLE_DEFECTS:
        message, wrong, right = SAMPLE_DEFECTS[path.name]
        with pytest.raises(X12Error) as caught:
            read_835(text)
        assert str(caught.value) == message
        text = text.replace(wrong, right)
    # when
    remittances = read_835(text)
    # then
    assert remittances
    for remittance_ in remittances:
        assert remittance_.balanced, f"{path.name}: off by {remittance_.imbalance}"
        assert remittance_.claims


@pytest.mark.parametrize("path", sample_params("linuxforhealth/835_*/managed-care.835"))
def test_the_managed_care_sample_in_detail(path):
    [remit] = read_835(path.read_text().replace("20002316", "20020316"))
    assert (remit.payment_amount, remit.payment_method, remit.trace_number) == (Decimal("945.00"), "ACH", "7170066655")
    assert remit.payer.name == "RUSHMORE LIFE" and remit.payee.id == "5544667733"
    first = remit.claims[0]
    assert (first.claim_id, first.status_name, first.charge, first.paid, first.patient_responsibility) == (
        "5554555444", "Processed as primary", Decimal("800.00"), Decimal("450.00"), Decimal("300.00"))
    assert first.payer_claim_control_number == "94060555410000"
    assert first.adjustments == [Adjustment("CO", "A2", Decimal("50.00"))]
    [line] = first.lines
    assert (line.procedure_code, line.charge, line.paid) == ("99211", Decimal("800.00"), Decimal("500.00"))
    assert (line.adjustments[0].group_name, line.adjustments[0].reason_name) == ("Patient responsibility", "Deductible")
    assert (line.service_from.isoformat(), line.service_to.isoformat()) == ("2002-03-01", "2002-03-04")


@pytest.mark.parametrize("path", sample_params("pyx12/valid/835_mult_loops.txt"))
def test_the_multiple_loop_sample_keeps_lines_remarks_and_units(path):
    [remit] = read_835(path.read_text())
    [claim] = remit.claims
    assert claim.is_denied and claim.patient_id == "00001612"
    assert [(line.units, line.remark_codes) for line in claim.lines] == [
        (Decimal("68"), ["N14"]), (Decimal("16"), ["N14"]), (Decimal("36"), ["N14"])]
    assert sum(a.amount for line in claim.lines for a in line.adjustments) == claim.charge


def test_a_written_835_passes_pyx12():
    text = write_835([remittance()], envelope=envelope(sender="ACMEHEALTH", receiver="CLINIC1"))
    assert pyx12_errors(text, with_ack=False) == []


def test_a_written_835_reads_back_the_same():
    # given
    original = remittance()
    # when
    [back] = read_835(write_835([original], envelope=envelope()))
    # then
    assert back == original
    assert back.balanced
    assert back.claims[1].is_reversal and back.claims[1].paid == Decimal("-60")
    assert back.provider_adjustments[0].amount == Decimal("-10")


def test_a_remittance_that_does_not_balance_says_by_how_much():
    [back] = read_835(write_835([dataclasses.replace(remittance(), payment_amount=Decimal("50"))], envelope=envelope()))
    assert not back.balanced and back.imbalance == Decimal("-5")


def test_a_check_remittance_needs_no_bank_accounts():
    original = dataclasses.replace(remittance(), payment_method="CHK", bank=None, trace_number="CHK10045")
    text = write_835([original], envelope=envelope())
    assert pyx12_errors(text, with_ack=False) == []
    assert read_835(text) == [original]


def test_the_5010_writer_refuses_the_correction_group():
    original = remittance()
    original.claims[1].adjustments = [Adjustment("CR", "45", Decimal("-40"))]
    with pytest.raises(X12Error, match="claim C0: group CR is not used in 5010"):
        write_835([original], envelope=envelope())


def test_an_unknown_claim_status_is_named():
    text = write_835([remittance()], envelope=envelope()).replace("CLP*C1*1*", "CLP*C1*9*")
    with pytest.raises(X12Error, match=r"^segment 15 \(CLP\): CLP02 '9' is not a claim status$"):
        read_835(text)

"""835 import and posting: balanced entries, patient responsibility moved, re-imports, reversals, PLB, exceptions,
malformed and unbalanced files, organization isolation."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import ClaimStatus, RemitClaimState, RemittanceStatus
from clinicdesk.insurance.models import ClaimEvent, Remittance, RemittanceClaim, X12Exchange
from clinicdesk.insurance.services.remittances import remittance_claim_resolve, remittance_import
from clinicdesk.insurance.x12.x835 import write_835
from clinicdesk.ledger.choices import AccountRole, PartyKind
from clinicdesk.ledger.models import JournalEntry, JournalLine, OpenItem
from clinicdesk.patients.tests.factories import PatientFactory

from .remittances_world import claims_build, envelope, payer_for, payment_for, remit_835

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, make_user):
    biller = make_user(Role.BILLER)
    provider = make_user(Role.CLINICIAN)
    payer = payer_for(org)
    patients = [PatientFactory(organization=org) for _ in range(2)]
    claims = claims_build(org, payer=payer, provider=provider, patients=patients, count=3)
    return dataclasses.make_dataclass("World", ["org", "biller", "payer", "claims"])(org, biller, payer, claims)


def balance(org, role, **filters) -> Decimal:
    return JournalLine.objects.filter(organization=org, account__role=role, **filters).aggregate(s=Sum("amount"))["s"] or Decimal("0")


def item_balance(item) -> Decimal:
    return item.lines.aggregate(s=Sum("amount"))["s"] or Decimal("0")


def do_import(w, remits, name="era.835", control=1):
    text = write_835(remits, envelope=envelope(control))
    return remittance_import(organization=w.org, content=text, file_name=name, actor=w.biller)


def test_posting_balances_moves_patient_share_and_marks_claims_paid(world):
    w = world
    remit = remit_835([payment_for(c) for c in w.claims[:2]], payer=w.payer)
    result = do_import(w, [remit])
    [tr] = result.transactions
    assert (tr.claims_matched, tr.claims_exceptions, tr.balanced) == (2, 0, True)
    record = tr.remittance
    assert record.status == RemittanceStatus.POSTED and record.balanced and record.total_paid == remit.payment_amount
    assert record.exchange.transaction == "835" and record.exchange.direction == "in"
    # a check waits in undeposited funds; every journal line of the practice still adds up to zero
    assert balance(w.org, AccountRole.UNDEPOSITED_FUNDS) == remit.payment_amount
    assert JournalLine.objects.filter(organization=w.org).aggregate(s=Sum("amount"))["s"] == 0
    assert balance(w.org, AccountRole.CONTRACTUAL_ADJUSTMENT) == 2 * (Decimal("12.00") + Decimal("2.00"))
    for claim in w.claims[:2]:
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.PAID
        assert claim.paid_amount == Decimal("106.00") and claim.patient_responsibility == Decimal("20.00")
        assert claim.allowed_amount == Decimal("126.00")
        for line in claim.lines.all():
            assert item_balance(line.item) == 0
        patient_items = OpenItem.objects.filter(patient=claim.patient, party_kind=PartyKind.PATIENT)
        assert sum(item_balance(i) for i in patient_items) > 0
        assert ClaimEvent.objects.filter(claim=claim, to_status=ClaimStatus.PAID).exists()
    assert balance(w.org, AccountRole.PATIENT_RECEIVABLE) == Decimal("40.00")
    assert RemittanceClaim.objects.filter(remittance=record, entry__isnull=False).count() == 2
    third = w.claims[2]
    third.refresh_from_db()
    assert third.status == ClaimStatus.SUBMITTED


def test_an_eft_lands_in_the_operating_bank(world):
    w = world
    remit = remit_835([payment_for(w.claims[0])], payer=w.payer, method="ACH")
    remit.bank = __import__("clinicdesk.insurance.x12.x835", fromlist=["BankAccounts"]).BankAccounts(
        "011000015", "123456", "1512345678", "021000021", "987654")
    do_import(w, [remit])
    assert balance(w.org, AccountRole.OPERATING_BANK) == remit.payment_amount
    assert balance(w.org, AccountRole.UNDEPOSITED_FUNDS) == 0


def test_re_import_posts_nothing(world):
    w = world
    remit = remit_835([payment_for(w.claims[0])], payer=w.payer)
    do_import(w, [remit])
    entries = JournalEntry.objects.count()
    again = do_import(w, [remit])
    assert again.transactions[0].already_imported and again.transactions[0].message == "already imported"
    assert JournalEntry.objects.count() == entries
    assert Remittance.objects.count() == 1 and X12Exchange.objects.count() == 1


def test_a_reversal_undoes_the_payment_and_a_correction_follows(world):
    w = world
    claim = w.claims[0]
    do_import(w, [remit_835([payment_for(claim)], payer=w.payer)])
    first = RemittanceClaim.objects.get(claim=claim)
    original = payment_for(claim)
    reversal = dataclasses.replace(
        original, status="22", charge=-original.charge, paid=-original.paid,
        patient_responsibility=-original.patient_responsibility,
        lines=[dataclasses.replace(s, charge=-s.charge, paid=-s.paid,
                                   adjustments=[dataclasses.replace(a, amount=-a.amount) for a in s.adjustments])
               for s in original.lines])
    correction = payment_for(claim, patient_share=Decimal("10.00"))
    result = do_import(w, [remit_835([reversal, correction], payer=w.payer, trace="CHK2002")], control=2)
    assert result.transactions[0].claims_matched == 2
    first.refresh_from_db()
    assert JournalEntry.objects.filter(reverses=first.entry).exists()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID and claim.patient_responsibility == Decimal("10.00")
    assert balance(w.org, AccountRole.PATIENT_RECEIVABLE) == Decimal("10.00")
    for line in claim.lines.all():
        assert item_balance(line.item) == 0
    assert balance(w.org, AccountRole.UNDEPOSITED_FUNDS) == correction.paid


def test_a_reversal_of_nothing_waits_in_exceptions(world):
    w = world
    original = payment_for(w.claims[0])
    reversal = dataclasses.replace(original, status="22", charge=-original.charge, paid=-original.paid,
                                   patient_responsibility=Decimal("0"), lines=[])
    result = do_import(w, [remit_835([reversal], payer=w.payer)])
    assert result.transactions[0].claims_exceptions == 1
    assert "no earlier payment" in RemittanceClaim.objects.get().exception_reason


def test_provider_level_adjustments_make_the_ledger_match_bpr02(world):
    w = world
    remit = remit_835([payment_for(w.claims[0])], payer=w.payer, plb=[("L6", "INTEREST", "-3.25"), ("WO", "OVERPAY1", "40.00")])
    do_import(w, [remit])
    record = Remittance.objects.get()
    assert record.provider_adjustments.count() == 2 and record.provider_adjustments_total == Decimal("36.75")
    assert balance(w.org, AccountRole.UNDEPOSITED_FUNDS) == remit.payment_amount == Decimal("69.25")
    assert balance(w.org, AccountRole.ADMINISTRATIVE_ADJUSTMENT) == Decimal("-3.25")
    assert record.entry is not None


def test_unmatched_claims_wait_in_exceptions_and_the_rest_posts(world, other_org):
    w = world
    good = payment_for(w.claims[0])
    unknown = dataclasses.replace(payment_for(w.claims[1]), claim_id="NOPE123")
    bad_line = payment_for(w.claims[2])
    bad_line.lines[0] = dataclasses.replace(bad_line.lines[0], procedure_code="99215")
    result = do_import(w, [remit_835([good, unknown, bad_line], payer=w.payer)])
    tr = result.transactions[0]
    assert (tr.claims_matched, tr.claims_exceptions) == (1, 2)
    assert tr.remittance.status == RemittanceStatus.EXCEPTIONS
    reasons = sorted(RemittanceClaim.objects.filter(state=RemitClaimState.EXCEPTION).values_list("exception_reason", flat=True))
    assert reasons[0].startswith("line mismatch") and reasons[1].startswith("unknown claim")
    assert balance(w.org, AccountRole.UNDEPOSITED_FUNDS) == good.paid
    # resolve: one by picking the claim (it posts), one handled with a note
    waiting = RemittanceClaim.objects.get(claim_number="NOPE123")
    remittance_claim_resolve(remittance_claim=waiting, actor=w.biller, claim=w.claims[1])
    w.claims[1].refresh_from_db()
    assert w.claims[1].status == ClaimStatus.PAID
    assert balance(w.org, AccountRole.UNDEPOSITED_FUNDS) == good.paid + unknown.paid
    other = RemittanceClaim.objects.get(state=RemitClaimState.EXCEPTION)
    with pytest.raises(ValidationError):
        remittance_claim_resolve(remittance_claim=other, actor=w.biller, note="  ")
    remittance_claim_resolve(remittance_claim=other, actor=w.biller, note="Called the payer; reprocessing.")
    tr.remittance.refresh_from_db()
    assert tr.remittance.status == RemittanceStatus.POSTED


def test_payer_mismatch_goes_to_exceptions(world):
    w = world
    other = payer_for(w.org, name="Other Health", identifier="OTH01")
    result = do_import(w, [remit_835([payment_for(w.claims[0])], payer=other)])
    assert result.transactions[0].claims_exceptions == 1
    assert RemittanceClaim.objects.get().exception_reason.startswith("payer mismatch")


def test_a_malformed_file_stores_nothing_and_names_the_segment(world):
    w = world
    text = write_835([remit_835([payment_for(w.claims[0])], payer=w.payer)], envelope=envelope())
    broken = text.replace("CLP*" + w.claims[0].claim_number + "*1*", "CLP*" + w.claims[0].claim_number + "*9*")
    with pytest.raises(ValidationError) as caught:
        remittance_import(organization=w.org, content=broken, file_name="bad.835", actor=w.biller)
    message = str(caught.value)
    assert "CLP" in message and "segment" in message and "line" in message
    assert not Remittance.objects.exists() and not X12Exchange.objects.exists() and not JournalEntry.objects.filter(kind="payment").exists()


def test_an_unbalanced_file_is_refused_with_the_numbers(world):
    w = world
    remit = remit_835([payment_for(w.claims[0])], payer=w.payer)
    remit.payment_amount += Decimal("1.00")
    with pytest.raises(ValidationError) as caught:
        do_import(w, [remit])
    assert "does not balance" in str(caught.value) and "107.00" in str(caught.value)
    assert not Remittance.objects.exists() and not X12Exchange.objects.exists()


def test_claims_of_another_practice_are_never_matched(world, other_org, make_user):
    w = world
    stranger = make_user(Role.CLINICIAN, organization=other_org)
    their_payer = payer_for(other_org)
    [theirs] = claims_build(other_org, payer=their_payer, provider=stranger,
                            patients=[PatientFactory(organization=other_org)], count=1, prefix="XX")
    payment = dataclasses.replace(payment_for(theirs), claim_id=theirs.claim_number)
    result = do_import(w, [remit_835([payment], payer=w.payer)])
    assert result.transactions[0].claims_exceptions == 1
    theirs.refresh_from_db()
    assert theirs.status == ClaimStatus.SUBMITTED
    assert not JournalEntry.objects.filter(organization=other_org, kind="payment").exists()

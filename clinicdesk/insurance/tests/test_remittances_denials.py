"""Full denials wait for the biller: nothing is written off at import; appeal keeps the balance with the payer,
write-off posts each denied amount with its CARC, transfer moves the patient's share; reversals and later payments
settle a denial still open."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from clinicdesk.insurance.choices import ClaimStatus, DenialReview
from clinicdesk.insurance.models import RemittanceClaim
from clinicdesk.insurance.services.remittances import remittance_denial_decide
from clinicdesk.insurance.x12.records import Adjustment
from clinicdesk.insurance.x12.x835 import ClaimPayment, ServiceLinePayment
from clinicdesk.ledger.choices import AccountRole, PartyKind
from clinicdesk.ledger.models import JournalEntry, JournalLine, OpenItem

from .remittances_world import DAY, LINES, payment_for, remit_835, world_build
from .test_remittances_services import balance, do_import, item_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, make_user):
    return world_build(org, make_user, count=2)


def denial_for(claim, *, group="CO", reason="50", status="4") -> ClaimPayment:
    """Every line refused with one CAS for its whole charge, nothing paid."""
    lines = [ServiceLinePayment(procedure_code=code, charge=charge, paid=Decimal("0"), service_from=DAY,
                                adjustments=[Adjustment(group, reason, charge)]) for code, _, charge in LINES]
    return ClaimPayment(claim_id=claim.claim_number, status=status, charge=Decimal("140.00"), paid=Decimal("0"),
                        patient_responsibility=Decimal("140.00") if group == "PR" else Decimal("0"),
                        payer_claim_control_number=f"ICN{claim.pk}", filing_indicator="12", lines=lines)


def insurance_open(claim) -> Decimal:
    return sum((item_balance(line.item) for line in claim.lines.all()), Decimal("0"))


def everything_sums_to_zero(org) -> bool:
    return JournalLine.objects.filter(organization=org).aggregate(s=Sum("amount"))["s"] == 0


def import_denial(w, claim, **kwargs) -> RemittanceClaim:
    do_import(w, [remit_835([denial_for(claim, **kwargs)], payer=w.payer)])
    return RemittanceClaim.objects.get(claim=claim)


def test_a_denial_writes_nothing_off_and_waits_for_review(world):
    w = world
    claim = w.claims[0]
    rc = import_denial(w, claim)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DENIED and claim.denial_reason == "CO-50"
    assert rc.review == DenialReview.PENDING and rc.entry is None
    assert insurance_open(claim) == Decimal("140.00")
    assert balance(w.org, AccountRole.CONTRACTUAL_ADJUSTMENT) == 0


def test_zero_paid_with_a_denial_carc_is_a_denial_even_when_clp02_says_processed(world):
    w = world
    rc = import_denial(w, w.claims[0], reason="97", status="1")
    assert rc.review == DenialReview.PENDING and rc.entry is None


def test_zero_paid_to_the_deductible_is_not_a_denial(world):
    w = world
    claim = w.claims[0]
    payment = payment_for(claim)
    for svc in payment.lines:  # allowed 90%: CO-45 the rest, the patient's deductible the allowed
        svc.adjustments = [Adjustment("CO", "45", svc.charge - svc.allowed), Adjustment("PR", "1", svc.allowed)]
        svc.paid = Decimal("0")
    payment.paid, payment.patient_responsibility = Decimal("0"), Decimal("126.00")
    do_import(w, [remit_835([payment], payer=w.payer)])
    rc = RemittanceClaim.objects.get(claim=claim)
    assert rc.review == DenialReview.NONE and rc.entry is not None
    assert insurance_open(claim) == 0 and balance(w.org, AccountRole.PATIENT_RECEIVABLE) == Decimal("126.00")


def test_contractual_co45_on_a_paid_claim_stays_automatic(world):
    w = world
    do_import(w, [remit_835([payment_for(w.claims[0])], payer=w.payer)])
    assert balance(w.org, AccountRole.CONTRACTUAL_ADJUSTMENT) == Decimal("14.00")
    assert RemittanceClaim.objects.get().review == DenialReview.NONE


def test_appeal_keeps_the_balance_on_the_insurance_item(world):
    w = world
    claim = w.claims[0]
    rc = import_denial(w, claim)
    entries = JournalEntry.objects.count()
    remittance_denial_decide(remittance_claim=rc, decision=DenialReview.APPEALED, actor=w.biller)
    claim.refresh_from_db()
    rc.refresh_from_db()
    assert claim.status == ClaimStatus.APPEALED and rc.review == DenialReview.APPEALED
    assert JournalEntry.objects.count() == entries and insurance_open(claim) == Decimal("140.00")
    with pytest.raises(ValidationError, match="already appealed"):
        remittance_denial_decide(remittance_claim=rc, decision=DenialReview.APPEALED, actor=w.biller)


def test_write_off_posts_each_denied_amount_with_its_carc(world):
    w = world
    claim = w.claims[0]
    rc = import_denial(w, claim)
    remittance_denial_decide(remittance_claim=rc, decision=DenialReview.APPEALED, actor=w.biller)
    # the appeal was lost: the biller writes it off
    remittance_denial_decide(remittance_claim=rc, decision=DenialReview.WRITTEN_OFF, actor=w.biller)
    rc.refresh_from_db()
    claim.refresh_from_db()
    assert rc.review == DenialReview.WRITTEN_OFF and rc.entry is not None
    assert claim.status == ClaimStatus.CLOSED and insurance_open(claim) == 0
    assert balance(w.org, AccountRole.CONTRACTUAL_ADJUSTMENT) == Decimal("140.00")
    memos = list(rc.entry.lines.filter(account__role=AccountRole.CONTRACTUAL_ADJUSTMENT).values_list("memo", flat=True))
    assert len(memos) == 2 and all("CO-50" in memo for memo in memos)
    assert everything_sums_to_zero(w.org)
    with pytest.raises(ValidationError, match="not a denial waiting"):
        remittance_denial_decide(remittance_claim=rc, decision=DenialReview.WRITTEN_OFF, actor=w.biller)


def test_transfer_moves_the_patients_share_to_a_patient_item(world):
    w = world
    claim = w.claims[0]
    rc = import_denial(w, claim, group="PR", reason="96")
    assert insurance_open(claim) == Decimal("140.00")
    remittance_denial_decide(remittance_claim=rc, decision=DenialReview.TRANSFERRED, actor=w.biller)
    claim.refresh_from_db()
    assert insurance_open(claim) == 0 and claim.patient_responsibility == Decimal("140.00")
    patient_items = OpenItem.objects.filter(patient=claim.patient, party_kind=PartyKind.PATIENT)
    assert sum(item_balance(i) for i in patient_items) == Decimal("140.00")
    assert balance(w.org, AccountRole.CONTRACTUAL_ADJUSTMENT) == 0 and everything_sums_to_zero(w.org)


def test_a_contractual_denial_cannot_be_billed_to_the_patient(world):
    w = world
    rc = import_denial(w, w.claims[0])
    with pytest.raises(ValidationError, match="no patient responsibility"):
        remittance_denial_decide(remittance_claim=rc, decision=DenialReview.TRANSFERRED, actor=w.biller)
    rc.refresh_from_db()
    assert rc.review == DenialReview.PENDING and not JournalEntry.objects.filter(kind="payment").exists()


def test_a_reversal_undoes_a_write_off_and_a_later_payment_closes_an_open_denial(world):
    w = world
    first, second = w.claims
    written = import_denial(w, first)
    remittance_denial_decide(remittance_claim=written, decision=DenialReview.WRITTEN_OFF, actor=w.biller)
    appealed = import_denial(w, second)
    remittance_denial_decide(remittance_claim=appealed, decision=DenialReview.APPEALED, actor=w.biller)
    reversal = dataclasses.replace(denial_for(first), status="22", lines=[])
    do_import(w, [remit_835([reversal, payment_for(second)], payer=w.payer, trace="CHK7")], control=2)
    written.refresh_from_db()
    appealed.refresh_from_db()
    assert JournalEntry.objects.filter(reverses=written.entry).exists()
    assert insurance_open(first) == Decimal("140.00")
    assert (written.review, appealed.review) == (DenialReview.CLOSED, DenialReview.CLOSED)
    second.refresh_from_db()
    assert second.status == ClaimStatus.PAID and insurance_open(second) == 0
    assert everything_sums_to_zero(w.org)


def test_a_reversal_of_a_denial_in_review_posts_nothing(world):
    w = world
    claim = w.claims[0]
    rc = import_denial(w, claim)
    reversal = dataclasses.replace(denial_for(claim), status="22", lines=[])
    result = do_import(w, [remit_835([reversal], payer=w.payer, trace="CHK8")], control=2)
    assert result.transactions[0].claims_exceptions == 0
    rc.refresh_from_db()
    claim.refresh_from_db()
    assert rc.review == DenialReview.CLOSED and claim.status == ClaimStatus.SUBMITTED
    assert not JournalEntry.objects.filter(kind="payment").exists()


def test_the_remittance_detail_offers_the_decisions_and_posts_them(world, client):
    from django.urls import reverse

    w = world
    rc = import_denial(w, w.claims[0])
    client.force_login(w.biller)
    detail = reverse("insurance:remittance_detail", args=[rc.remittance_id])
    page = client.get(detail).content.decode()
    assert "Denied - in review" in page and 'value="appealed"' in page
    decide = reverse("insurance:remittance_denial_decide", args=[rc.pk])
    response = client.post(decide, {"decision": "transferred"})
    assert response.status_code == 302
    rc.refresh_from_db()
    assert rc.review == DenialReview.PENDING  # CO cannot go to the patient: refused, nothing changed
    assert "no patient responsibility" in client.get(detail).content.decode()
    client.post(decide, {"decision": "written_off"})
    rc.refresh_from_db()
    assert rc.review == DenialReview.WRITTEN_OFF and insurance_open(w.claims[0]) == 0
    assert 'value="written_off"' not in client.get(detail).content.decode()

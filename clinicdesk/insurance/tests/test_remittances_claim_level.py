"""Claim-level CAS (under CLP, not under an SVC): allocated over the claim's open line items by balance, the pieces
adding up exactly, and shown as claim-level on the remittance detail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from clinicdesk.insurance.models import RemittanceClaim
from clinicdesk.insurance.services.remittances import allocate
from clinicdesk.insurance.x12.records import Adjustment
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalLine

from .remittances_world import payment_for, remit_835, world_build
from .test_remittances_services import balance, do_import, item_balance

cents = st.decimals(min_value=Decimal("-5000"), max_value=Decimal("5000"), places=2)
weights = st.lists(st.decimals(min_value=Decimal("-100"), max_value=Decimal("100000"), places=2), min_size=1,
                   max_size=12)


@given(amount=cents, weights=weights)
def test_the_pieces_add_up_exactly_in_cents(amount, weights):
    pieces = allocate(amount, weights)
    assert len(pieces) == len(weights)
    assert sum(pieces, Decimal("0")) == amount
    assert all(piece == piece.quantize(Decimal("0.01")) for piece in pieces)
    # a line with nothing open gets nothing unless no line has anything open
    if any(w > 0 for w in weights):
        assert all(piece == 0 for piece, w in zip(pieces, weights, strict=True) if w <= 0)


def test_proportional_with_the_remainder_on_the_largest():
    assert allocate(Decimal("10.00"), [Decimal("1"), Decimal("1"), Decimal("1")]) == [
        Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert allocate(Decimal("14.00"), [Decimal("120"), Decimal("20")]) == [Decimal("12.00"), Decimal("2.00")]
    assert allocate(Decimal("1.00"), [Decimal("0"), Decimal("0")]) == [Decimal("0.50"), Decimal("0.50")]


@pytest.fixture
def world(org, make_user):
    return world_build(org, make_user, count=1)


def claim_level_payment(claim, *, with_lines=True):
    """Lines as usual (CO-45 on each, balanced line by line), plus a claim-level CO-253 (sequestration) of 7.00 and
    PR-3 (copay) of 14.00 that come out of the payment: CLP04 = the lines' SVC03 less the claim-level CAS."""
    payment = payment_for(claim, patient_share=Decimal("0"))
    payment.adjustments = [Adjustment("CO", "253", Decimal("7.00")), Adjustment("PR", "3", Decimal("14.00"))]
    payment.paid -= Decimal("21.00")
    payment.patient_responsibility = Decimal("14.00")
    if not with_lines:
        payment.adjustments.insert(0, Adjustment("CO", "45", Decimal("14.00")))
        payment.lines = []
    return payment


@pytest.mark.django_db
def test_claim_level_cas_is_allocated_over_the_lines_not_put_on_the_first(world):
    w = world
    claim = w.claims[0]
    do_import(w, [remit_835([claim_level_payment(claim)], payer=w.payer)])
    first, second = sorted(claim.lines.all(), key=lambda line: line.sequence)
    # the lines settle themselves (120 and 20); the claim-level 7.00 and 14.00 are shared 120:20 between them
    assert item_balance(first.item) == 0 and item_balance(second.item) == 0
    rc = RemittanceClaim.objects.get()
    claim_level = JournalLine.objects.filter(entry=rc.entry, memo__endswith="claim-level adjustment")
    assert sorted(claim_level.values_list("amount", flat=True)) == [Decimal("1.00"), Decimal("6.00")]
    assert balance(w.org, AccountRole.PATIENT_RECEIVABLE) == Decimal("14.00")
    assert balance(w.org, AccountRole.CONTRACTUAL_ADJUSTMENT) == Decimal("14.00") + Decimal("7.00")
    assert balance(w.org, AccountRole.UNDEPOSITED_FUNDS) == Decimal("105.00")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.patient_responsibility, second.patient_responsibility) == (Decimal("12.00"), Decimal("2.00"))
    assert (first.paid_amount, second.paid_amount) == (Decimal("90.00"), Decimal("15.00"))


@pytest.mark.django_db
def test_without_service_lines_claim_level_cas_closes_what_each_line_has_open(world):
    w = world
    claim = w.claims[0]
    do_import(w, [remit_835([claim_level_payment(claim, with_lines=False)], payer=w.payer)])
    first, second = sorted(claim.lines.all(), key=lambda line: line.sequence)
    # 105.00 paid goes to the first line (up to its charge), leaving 15.00 and 20.00 open: the 35.00 of claim-level
    # adjustments is shared 15:20, closing both items exactly
    assert item_balance(first.item) == 0 and item_balance(second.item) == 0
    assert balance(w.org, AccountRole.PATIENT_RECEIVABLE) == Decimal("14.00")
    assert balance(w.org, AccountRole.CONTRACTUAL_ADJUSTMENT) == Decimal("21.00")


@pytest.mark.django_db
def test_the_remittance_detail_shows_claim_level_adjustments_as_such(world, client):
    w = world
    claim = w.claims[0]
    result = do_import(w, [remit_835([claim_level_payment(claim)], payer=w.payer)])
    client.force_login(w.biller)
    page = client.get(reverse("insurance:remittance_detail", args=[result.transactions[0].remittance.pk])).content.decode()
    assert "Claim-level: CO-253" in page and "Claim-level: PR-3" in page
    assert "Claim-level: CO-45" not in page

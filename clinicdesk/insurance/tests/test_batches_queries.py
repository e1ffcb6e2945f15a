"""Building a batch reads the claims, their lines and the primaries' remittances for secondary claims in a fixed
number of queries, and submits the claims in bulk: the count does not grow with the claims."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import ClaimEventKind, ClaimStatus
from clinicdesk.insurance.models import (
    ClaimEvent,
    Payer,
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceLine,
)
from clinicdesk.insurance.services.batches import claim_batch_build
from clinicdesk.insurance.x12.x837p import read_837p

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import make_claim, make_coverage


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller")


@pytest.fixture
def maker(practice, patient, payer, plan, clearinghouse):
    """make(n) -> n scrubbed primary claims and n secondary claims whose primaries were paid on a remittance."""
    other = Payer.objects.create(organization=practice, name="Second Mutual", payer_identifier="SEC22",
                                 clearinghouse=clearinghouse)
    first = make_coverage(patient, payer, plan)
    second = make_coverage(patient, other, member_id="S777", rank=2)
    seed = make_claim(first, number="SEED", status=ClaimStatus.CLOSED)
    doctor, location = seed.rendering_provider, seed.encounter.location
    made = {"n": 0}

    def make(n: int) -> list:
        claims = []
        for _ in range(n):
            made["n"] += 1
            k = made["n"]
            claims.append(make_claim(first, number=f"P{k}", doctor=doctor, location=location))
            paid = make_claim(first, number=f"Q{k}", status=ClaimStatus.PAID, charges=("100.00",), doctor=doctor,
                              location=location)
            remittance = Remittance.objects.create(organization=practice, payer=payer, payer_name=payer.name,
                                                   check_number=f"K{k}", total_paid=Decimal("60"), sha256=f"x{k}")
            row = RemittanceClaim.objects.create(remittance=remittance, claim=paid, claim_number=paid.claim_number,
                                                 status_code="1", charge=Decimal("100"), paid=Decimal("60"))
            line = RemittanceLine.objects.create(remittance_claim=row, claim_line=paid.lines.get(),
                                                 procedure_code="99213", charge=Decimal("100"), paid=Decimal("60"),
                                                 service_date=date(2026, 11, 2))
            RemittanceAdjustment.objects.create(remittance_claim=row, line=line, group_code="CO", reason_code="45",
                                                amount=Decimal("40"))
            secondary = make_claim(second, number=f"S{k}", rank=2, primary=paid, charges=("100.00",), doctor=doctor,
                                   location=location)
            secondary.lines.update(service_line=paid.lines.get().service_line)
            claims.append(secondary)
        return claims

    return make


def test_building_does_not_query_per_claim(maker, practice, biller):
    warm, few, many = maker(1), maker(1), maker(4)
    claim_batch_build(organization=practice, claims=warm, actor=biller)  # the first batch makes the control numbers
    with CaptureQueriesContext(connection) as small:
        claim_batch_build(organization=practice, claims=few, actor=biller)
    with CaptureQueriesContext(connection) as large:
        [batch] = claim_batch_build(organization=practice, claims=many, actor=biller)
    assert len(large.captured_queries) == len(small.captured_queries)
    # and the batch is what it was: every claim submitted with its event, the secondaries carrying the primary's payment
    sent = read_837p(batch.content).claims
    assert len(sent) == 8 and sum(1 for c in sent if c.other_payers) == 4
    assert all(c.other_payers[0].paid == Decimal("60") for c in sent if c.other_payers)
    assert set(batch.claims.values_list("status", flat=True)) == {ClaimStatus.SUBMITTED}
    assert ClaimEvent.objects.filter(claim__batch=batch, kind=ClaimEventKind.STATUS,
                                     to_status=ClaimStatus.SUBMITTED).count() == 8

"""In real Chromium: the biller opens the follow-up queue from the batches page, finds the claim the payer has not
answered, and narrows the days; then decides on a denial from the remittance detail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.insurance.models import ClaimBatch
from clinicdesk.insurance.services.batches import claim_batch_build, claim_batch_read_answers
from clinicdesk.insurance.x12 import x837p
from clinicdesk.insurance.x12.x999 import FunctionalAck, write_999

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import make_claim
from .remittances_world import remit_835, world_build
from .test_batches_acknowledgements import ENVELOPE
from .test_remittances_denials import denial_for
from .test_remittances_services import do_import

pytestmark = pytest.mark.browser


def test_follow_up_the_claims_without_a_277ca(page: Page, url, sign_in, practice, coverage, make_user):
    # given a batch the 999 accepted a week ago and no 277CA since
    biller = make_user(Role.BILLER, username="biller")
    claim = make_claim(coverage, number="WAIT1")
    [batch] = claim_batch_build(organization=practice, claims=[claim], actor=biller)
    accepted = write_999([FunctionalAck("HC", str(batch.group_control_number), "A", x837p.IMPLEMENTATION)],
                         envelope=ENVELOPE)
    claim_batch_read_answers(batch=batch, ack_999=accepted, ack_277="", actor=biller)
    ClaimBatch.objects.filter(pk=batch.pk).update(sent_at=timezone.now() - timedelta(days=7))
    sign_in(biller)
    # when the biller opens the queue from the batches page
    page.goto(url(reverse("insurance:batch_list")))
    page.get_by_role("link", name="Claims without a 277CA").click()
    # then the claim is there, and asking for more days than it waited empties the list
    expect(page.locator("#follow-up tbody")).to_contain_text("WAIT1")
    page.get_by_label("Days since sent").fill("8")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#follow-up tbody")).to_contain_text("has the payer's answer")


def test_write_off_a_denial_from_the_remittance_detail(page: Page, url, sign_in, org, make_user):
    w = world_build(org, make_user)
    result = do_import(w, [remit_835([denial_for(w.claims[0])], payer=w.payer)])
    sign_in(w.biller)
    page.goto(url(reverse("insurance:remittance_detail", args=[result.transactions[0].remittance.pk])))
    row = page.locator("#remittance-claims tbody tr").first
    expect(row).to_contain_text("Denied - in review")
    row.get_by_role("button", name="Write off").click()
    expect(page.locator("#remittance-claims tbody tr").first).to_contain_text("Written off")
    expect(page.get_by_role("button", name="Write off")).to_have_count(0)

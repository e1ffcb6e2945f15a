"""In real Chromium: the biller filters the claim queue, opens a claim, scrubs it, sees the finding that blocks it,
and adds a note from the keyboard."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.insurance.services.claims import claims_build

from .claims_world import ClaimsWorld

pytestmark = pytest.mark.browser


def test_work_a_claim_from_the_queue(page: Page, url, sign_in, org):
    # given two claims, one to a patient whose city is missing
    w = ClaimsWorld(org)
    [clean] = claims_build(actor=w.biller, encounters=[w.posted()])
    patient = w.new_patient("Nocity")
    patient.__class__.objects.filter(pk=patient.pk).update(city="")
    [broken] = claims_build(actor=w.biller, encounters=[w.posted(patient)])
    sign_in(w.biller)
    # when the biller searches the queue for the second patient
    page.goto(url(reverse("insurance:claim_queue")))
    expect(page.locator("#claim-table tbody tr")).to_have_count(2)
    page.get_by_label("Claim number, MRN or last name").fill("Nocity")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#claim-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name=broken.claim_number).click()
    # then the claim page opens; scrubbing shows what to fix and where
    expect(page.get_by_role("heading", level=1)).to_contain_text(broken.claim_number)
    page.locator("#scrub-button").click()
    expect(page.locator("#findings")).to_contain_text("city is missing")
    expect(page.locator("#findings").get_by_role("link", name="Fix on the patient")).to_be_visible()
    expect(page.locator("#claim-status")).to_have_text("Draft")
    # and a note goes on the history from the keyboard
    page.locator("#id_note-text").fill("Asked the front desk for the address")
    page.locator("#note-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#history")).to_contain_text("Asked the front desk for the address")
    assert clean.claim_number

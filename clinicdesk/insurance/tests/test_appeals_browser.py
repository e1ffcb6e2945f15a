"""In real Chromium: the biller records that a denied claim's appeal went out, then that the payer upheld the
denial, and sees the claim back among the denials with the payer's reason in its history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from .claims_world import ClaimsWorld

pytestmark = pytest.mark.browser


def test_record_an_appeal_sent_then_lost(page: Page, url, sign_in, org):
    # given a denied claim with a drafted appeal
    w = ClaimsWorld(org)
    claim, appeal = w.appealed()
    sign_in(w.biller)
    page.goto(url(reverse("insurance:claim_detail", args=[claim.public_id])))
    row = page.locator(f"#appeal-{appeal.pk}")
    expect(row.locator(".appeal-status")).to_have_text("Draft")
    # when she records that it was sent ten days ago
    sent_on = timezone.localdate() - timedelta(days=10)
    row.get_by_role("textbox", name="Date").fill(sent_on.isoformat())
    row.get_by_role("button", name="Record the outcome").click()
    expect(row.locator(".appeal-status")).to_have_text("Sent")
    expect(row).to_contain_text(f"sent {sent_on:%m/%d/%Y}")
    # and that it was lost, first forgetting the payer's reason
    row.get_by_role("combobox", name="Outcome").select_option(label="Lost")
    row.get_by_role("button", name="Record the outcome").click()
    expect(row.get_by_role("alert")).to_contain_text("Say why the payer upheld the denial")
    row.get_by_label("Note (for a loss: the payer's reason)").fill("Upheld: not medically necessary, ref 77")
    row.get_by_role("button", name="Record the outcome").click()
    # then the appeal is lost, the claim denied again and the reason is in its history
    expect(row.locator(".appeal-status")).to_have_text("Lost")
    expect(page.locator("#claim-status")).to_have_text("Denied")
    expect(page.locator("#history")).to_contain_text("ref 77")
    expect(row.get_by_role("button", name="Record the outcome")).to_have_count(0)

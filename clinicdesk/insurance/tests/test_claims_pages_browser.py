"""In real Chromium, the biller's claim pages: building claims from the ready-to-bill list, working the denials
queue (filter by reason, CSV), and a payer rule written, refused, fixed, tried on a claim and switched off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.insurance.choices import ClaimStatus
from clinicdesk.insurance.models import Claim, PayerRule
from clinicdesk.insurance.services.claims import claim_transition, claims_build
from clinicdesk.insurance.services.scrubber import claim_scrub

from .claims_world import TODAY, ClaimsWorld

pytestmark = pytest.mark.browser


def _denied(w, last_name: str, reason: str, services=(("99213", "", 1),)):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted(w.new_patient(last_name), services=services)])
    claim_scrub(claim=claim, actor=w.biller, today=TODAY)
    claim_transition(claim=claim, to_status=ClaimStatus.SUBMITTED, actor=w.biller)
    claim_transition(claim=claim, to_status=ClaimStatus.DENIED, actor=w.biller, note=reason)
    return claim


def test_build_claims_from_the_ready_list(page: Page, url, sign_in, org):
    # given two posted visits with coverage and one without
    w = ClaimsWorld(org)
    first, second = w.posted(w.new_patient("Ames")), w.posted(w.new_patient("Baker"))
    w.posted(w.new_patient("Cash", covered=False))
    sign_in(w.biller)
    page.goto(url(reverse("insurance:claims_ready")))
    expect(page.locator("#ready-summary")).to_contain_text("3 posted encounters not billed · 2 with a primary")
    expect(page.locator("#ready-table")).to_contain_text("the patient pays")
    # when the biller ticks only Baker's visit and builds
    page.get_by_role("checkbox", name=re.compile("Baker")).check()
    page.locator("#build-claims").click()
    # then one claim is built and the queue shows it; Ames's visit still waits
    expect(page.get_by_role("status").first).to_contain_text("1 claim built.")
    expect(page.locator("#claim-table tbody tr")).to_have_count(1)
    expect(page.locator("#claim-table")).to_contain_text("Baker")
    assert Claim.objects.filter(encounter=second).exists() and not Claim.objects.filter(encounter=first).exists()


def test_work_the_denials_queue(page: Page, url, sign_in, org):
    w = ClaimsWorld(org)
    necessity = _denied(w, "Ames", "CO-50")
    _denied(w, "Baker", "CO-197")
    claims_build(actor=w.biller, encounters=[w.posted(w.new_patient("Open"))])  # not denied: never listed
    sign_in(w.biller)
    page.goto(url(reverse("insurance:denial_queue")))
    expect(page.locator("#claim-table tbody tr")).to_have_count(2)
    # when the biller picks the medical-necessity denials
    page.get_by_role("link", name="CO-50").click()
    expect(page.locator("#claim-table tbody tr")).to_have_count(1)
    expect(page.locator("#claim-table")).to_contain_text("Ames")
    # then the CSV carries what is shown, and the claim opens from the queue
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    csv = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert necessity.claim_number in csv and "CO-197" not in csv
    page.get_by_role("link", name=necessity.claim_number).click()
    expect(page.locator("#claim-status")).to_have_text("Denied")


def test_write_try_and_switch_off_a_payer_rule(page: Page, url, sign_in, org):
    # given a therapy claim with two units on one day
    w = ClaimsWorld(org)
    [claim] = claims_build(actor=w.biller, encounters=[w.posted(services=(("97110", "", 2),))])
    sign_in(w.biller)
    page.goto(url(reverse("insurance:payer_detail", args=[w.payer.pk])))
    page.locator("#payer-rules-link").click()
    page.get_by_role("link", name="New rule").click()
    expect(page.locator("#kind-help")).to_contain_text("At most N units")
    # when the biller writes a unit limit of nought, then of one
    page.get_by_label("Payer", exact=True).select_option(label="Acme Health")
    page.get_by_label("What the rule checks").select_option(label="At most N units of these codes per day")
    page.get_by_label("Procedure codes").fill("97110")
    page.get_by_label("Values").fill("0")
    page.locator("#rule-save").click()
    expect(page.locator("#id_values-error")).to_contain_text("one whole number greater than zero")
    page.get_by_label("Values").fill("1")
    page.locator("#rule-save").click()
    expect(page.get_by_role("status").first).to_contain_text("Payer rule added")
    # then trying it on the claim shows what the scrubber would say
    page.get_by_label("Claim number").fill(claim.claim_number)
    page.locator("#try-button").click()
    expect(page.locator("#try-result")).to_contain_text("pays at most 1 unit(s) a day; the claim has 2")
    # and it can be switched off from the list
    page.get_by_role("link", name="← Payer rules").click()
    expect(page.locator("#rules tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Switch off").click()
    expect(page.locator("#rules")).to_contain_text("Switched off")
    assert not PayerRule.objects.get().is_active

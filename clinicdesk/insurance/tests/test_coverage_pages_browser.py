"""In real Chromium, the set-up pages of coverage: a clearinghouse added and corrected, and a prior authorisation
recorded on a patient's coverage (refused dates first), then changed."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.insurance.models import Clearinghouse, PriorAuthorization

from .claims_world import ClaimsWorld

pytestmark = pytest.mark.browser


def test_add_and_correct_a_clearinghouse(page: Page, url, sign_in, make_user, org):
    sign_in(make_user(Role.BILLER, username="kim"))
    page.goto(url(reverse("insurance:clearinghouse_list")))
    expect(page.locator("tbody")).to_contain_text("No clearinghouses yet")
    # when the biller adds one, forgetting the receiver ID
    page.get_by_role("link", name="New clearinghouse").click()
    page.get_by_label("Name").fill("Availity test")
    page.get_by_label("Kind").select_option(label="Local test clearinghouse")
    page.get_by_label("Submitter ID").fill("SUB123")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_receiver_id-error")).to_be_visible()
    page.get_by_label("Receiver ID").fill("RCV456")
    page.get_by_role("button", name="Save").click()
    # then it is listed, and a correction to its submitter ID is kept
    expect(page.locator("tbody")).to_contain_text("SUB123")
    page.get_by_role("link", name="Availity test").click()
    page.get_by_label("Submitter ID").fill("SUB999")
    page.get_by_label("Usage").select_option(label="Production")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("tbody")).to_contain_text("SUB999")
    assert Clearinghouse.objects.get(name="Availity test").usage == "P"


def test_record_and_change_a_prior_authorisation(page: Page, url, sign_in, org):
    # given a covered patient
    w = ClaimsWorld(org)
    coverage = w.patient.coverages.get()
    sign_in(w.biller)
    page.goto(url(reverse("insurance:coverage_edit", args=[coverage.public_id])))
    page.get_by_role("link", name="Add an authorisation").click()
    # when the biller records one whose dates are the wrong way round
    page.get_by_label("Authorisation number").fill("PA-2026-118")
    page.get_by_label("Procedure codes").fill("97110, 97140")
    page.get_by_label("Units authorized").fill("12")
    page.get_by_label("Starts on").fill("2026-12-31")
    page.get_by_label("Ends on").fill("2026-01-01")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert not PriorAuthorization.objects.exists()
    page.get_by_label("Starts on").fill("2026-01-01")
    page.get_by_label("Ends on").fill("2026-12-31")
    page.get_by_role("button", name="Save").click()
    # then the coverage lists it, and units used can be corrected later
    expect(page.locator("#authorizations")).to_contain_text("0 of 12")
    page.get_by_role("link", name="PA-2026-118").click()
    page.get_by_label("Units used").fill("3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#authorizations")).to_contain_text("3 of 12")

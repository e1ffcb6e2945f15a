"""Eligibility and claim batches in real Chromium: the front desk checks a patient of the day and sees the answer;
the biller builds a batch, sends it and sees it accepted."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.insurance.tests.eligibility_setup import *  # noqa: F403  (the shared fixtures)
from clinicdesk.insurance.tests.eligibility_setup import enrol, make_claim
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.browser
DAY = date(2026, 12, 1)


def test_check_now_shows_the_answer(page: Page, url, sign_in, make_user, clearinghouse, coverage):
    enrol(clearinghouse, coverage)
    starts = timezone.make_aware(datetime.combine(DAY, datetime.min.time()) + timedelta(hours=9))
    AppointmentFactory(organization=coverage.organization, patient=coverage.patient, starts_at=starts,
                       ends_at=starts + timedelta(minutes=20), status=AppointmentStatus.CONFIRMED)
    sign_in(make_user(Role.FRONT_DESK, username="desk"))
    page.goto(url(reverse("insurance:eligibility_day") + f"?day={DAY.isoformat()}"))
    row = page.get_by_role("row").filter(has_text=coverage.member_id)
    expect(row).to_contain_text("Not checked")
    row.get_by_role("button", name=f"Check now: {coverage.patient}").click()
    row = page.get_by_role("row").filter(has_text=coverage.member_id)
    expect(row).to_contain_text("Coverage active")
    expect(row).to_contain_text("25.00")
    row.get_by_role("link", name="Coverage active").click()
    expect(page.locator("#eligibility-status")).to_have_text("Coverage active")
    expect(page.get_by_role("table", name="Copays")).to_contain_text("25.00")


def test_the_biller_builds_and_sends_a_batch(page: Page, url, sign_in, make_user, clearinghouse, coverage):
    enrol(clearinghouse, coverage)
    make_claim(coverage)
    sign_in(make_user(Role.BILLER, username="biller"))
    page.goto(url(reverse("insurance:batch_list")))
    page.get_by_role("button", name="Build batches (1 scrubbed claim)").click()
    expect(page.locator("#batch-status")).to_have_text("Built")
    page.get_by_role("button", name="Send to Local test clearinghouse").click()
    expect(page.locator("#batch-status")).to_have_text("Accepted (999)")
    expect(page.get_by_role("table", name="Claims")).to_contain_text("Accepted by the payer")

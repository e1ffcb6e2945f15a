"""Day close in real Chromium: the front desk counts the drawer (the running total shows the shortage), is asked why
it is short, closes the day and sees the over/short and the deposit; the office manager downloads the day sheet PDF."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.billing.choices import DayCloseStatus
from clinicdesk.billing.models import DayClose
from clinicdesk.billing.tests.day_world import DAY, fake_cards_fixture, hand_day_fixture  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_desk_closes_the_drawer_and_the_manager_prints_the_day_sheet(page: Page, url, sign_in, hand_day, tmp_path):
    # given the hand-worked day (expected cash 175.00, one check)
    sign_in(hand_day.dee)
    page.goto(url(reverse("billing:day_close_count") + f"?location={hand_day.location.pk}&on={DAY}"))
    expect(page.locator("#expected-cash")).to_have_text("175.00")
    # when the desk counts 174.75
    for label, count in (("$100 bills", "1"), ("$20 bills", "3"), ("$10 bills", "1"), ("$1 bills", "4"), ("Quarters", "3")):
        page.get_by_label(label, exact=True).fill(count)
    expect(page.locator("#counted-total")).to_have_text("$174.75")
    expect(page.locator("#over-short-live")).to_have_text("short $0.25")
    page.get_by_role("button", name="Close the day and post the deposit").click()
    # then a reason is asked for
    expect(page.get_by_role("alert").filter(has_text="short; say why")).to_be_visible()
    page.get_by_label("Why the count is over or short").fill("Quarter given twice as change")
    page.get_by_role("button", name="Close the day and post the deposit").click()
    expect(page.locator("#over-short")).to_contain_text("-0.25")
    expect(page.locator("#deposit-total")).to_have_text("134.75")
    expect(page.locator("#day-status")).to_have_text("Closed")
    assert DayClose.objects.get(location=hand_day.location, business_date=DAY).status == DayCloseStatus.CLOSED

    # the office manager approves and downloads the day sheet as a PDF
    sign_in(hand_day.manager)
    page.reload()
    page.get_by_role("button", name="Approve the over/short").click()
    expect(page.locator("#day-status")).to_have_text("Approved")
    page.goto(url(reverse("billing:report_day_sheet") + f"?on={DAY}&location={hand_day.location.pk}"))
    expect(page.locator("#total-charges")).to_have_text("360.00")
    # WeasyPrint renders the PDF in the request: allow for a busy machine.
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("link", name="Download PDF").click(timeout=60_000)
    saved = tmp_path / "day-sheet.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(saved), "-"], capture_output=True, check=True).stdout.decode()  # noqa: S603,S607
        assert "Day sheet" in text and "360.00" in text and "250.00" in text
    else:
        print("pdftotext is not installed: the PDF's text was not checked")

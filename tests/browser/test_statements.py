"""Statements in real Chromium: the biller previews a month-end run from the keyboard, saves and starts it,
watches the progress finish on the page, and opens a guarantor's statement PDF."""

from __future__ import annotations

import subprocess  # noqa: S404  (pdftotext, a fixed command)
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.billing.models import StatementRun
from clinicdesk.billing.services.accounts import account_for_patient
from clinicdesk.billing.services.statements import statement_run_execute
from clinicdesk.communications.defaults import defaults_install
from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def stored_tasks_and_media(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None}}}


def _owes(org, last_name: str, amount: str, *, email: bool) -> None:
    patient = PatientFactory(organization=org, first_name="Pat", last_name=last_name, address_line1="4 Oak Road",
                             city="Springfield", state="IL", postal_code="62704",
                             email=f"{last_name.lower()}@example.com" if email else "")
    account_for_patient(patient=patient)
    day = timezone.localdate() - timedelta(days=10)
    item = open_item_create(organization=org, patient=patient, service_date=day, description="Office visit")
    entry_post(organization=org, entry_date=day, kind=EntryKind.CHARGE, lines=[
        LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal(amount), item=item),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-Decimal(amount), patient=patient)])


def test_a_biller_runs_statements_and_opens_one(page: Page, url, sign_in, org, make_user):
    # given two guarantors who owe, one with e-mail and one for paper
    biller = make_user(Role.BILLER, username="bella")
    defaults_install(organization=org)
    _owes(org, "Emailer", "120.00", email=True)
    _owes(org, "Paperman", "80.00", email=False)
    sign_in(biller)
    # when she fills the new run from the keyboard and previews it
    page.goto(url("/billing/statements/"))
    page.get_by_role("link", name="New statement run").click()
    page.get_by_label("Minimum balance").fill("5.00")
    page.get_by_label("Minimum balance").press("Enter")
    # then the preview counts the statements before anything is saved
    preview = page.locator("#run-preview")
    expect(preview).to_contain_text("by e-mail")
    expect(preview.locator("tr", has_text="Statements")).to_contain_text("2")
    assert not StatementRun.objects.exists()
    page.get_by_role("button", name="Save the run").click()
    page.get_by_role("button", name="Start the run").click()
    # when the background task runs while the page polls
    expect(page.locator("#run-progress")).to_contain_text("Accounts done")
    statement_run_execute(run_id=StatementRun.objects.get().pk)
    # then the page follows to the results without a reload by hand
    expect(page.locator("#run-results")).to_contain_text("Sent by e-mail", timeout=10_000)
    expect(page.locator("#run-results")).to_contain_text("Printed")
    expect(page.locator("#run-statements")).to_contain_text("Pat Paperman")
    # and the statement PDF of the paper guarantor opens with the figures on it
    href = page.get_by_role("link", name="Statement PDF for Pat Paperman").get_attribute("href")
    response = page.request.get(url(href))
    assert response.headers["content-type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.body(), capture_output=True,  # noqa: S607
                          check=True).stdout.decode()
    assert "Amount due: $80.00" in " ".join(text.split())
    expect(page.get_by_role("link", name="Print batch (PDF, 1)")).to_be_visible()

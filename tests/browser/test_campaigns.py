"""Campaigns in real Chromium: the office manager builds a campaign from the keyboard, counts its audience,
starts it, and watches it finish; a patient unsubscribes from the link in the e-mail."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.communications.models import Campaign, Message
from clinicdesk.communications.services.campaigns import campaign_queue_messages
from clinicdesk.communications.services.templates import template_create
from clinicdesk.core.choices import Role
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def stored_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.COMMUNICATIONS_QUIET_HOURS = ("23:59", "00:00")


def test_a_manager_sends_a_campaign_and_a_patient_unsubscribes(page: Page, url, sign_in, org, make_user):
    # given a practice with two patients who have e-mail and a campaign template
    manager = make_user(Role.OFFICE_MANAGER, username="olga")
    for n in range(2):
        PatientFactory(organization=org, email=f"p{n}@example.com")
    template_create(actor=manager, organization=org, code="news", name="Practice news", kind="email", purpose="campaign",
                    subject="News", body="Hello {{ patient.first_name }}. <a href=\"{{ links.unsubscribe_url }}\">Unsubscribe</a>")
    sign_in(manager)
    # when she opens Campaigns from the menu and fills the form from the keyboard
    page.goto(url("/"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Practice news")
    page.get_by_label("Channel").select_option("email")
    page.get_by_label("Template").select_option(label="Practice news")
    page.get_by_role("button", name="Count the audience").click()
    # then the audience is counted before anything is saved
    expect(page.locator("#audience-count")).to_contain_text("2 patients match")
    assert not Campaign.objects.exists()
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Practice news")
    page.get_by_role("button", name="Start sending to 2 patients").click()
    expect(page.get_by_role("status").first).to_contain_text("Sending to 2 patients")
    # when the background run has queued the messages, the progress shows them all
    campaign = Campaign.objects.get()
    campaign_queue_messages(campaign_id=campaign.pk)
    page.reload()
    expect(page.locator("#campaign-progress")).to_contain_text("Messages queued: 2 of 2")
    # and a patient opens the unsubscribe link from the e-mail and confirms
    message = Message.objects.filter(campaign=campaign).first()
    token = message.body.split("/m/")[1].split("/")[0]
    page.goto(url(reverse("communications_public:link", args=[token])))
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    assert CommunicationConsent.objects.get(patient=message.patient).status == "opted_out"

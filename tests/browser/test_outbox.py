"""The outbox in real Chromium: the front desk finds a failed reminder, reads why, and sends it again; on the
local SMS gateway's phone page a patient's reply is typed and reaches the practice like a real text."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.communications.choices import InboundAction, MessageState
from clinicdesk.communications.models import InboundMessage, Message
from clinicdesk.communications.services.delivery import message_deliver
from clinicdesk.communications.tests.factories_delivery import MessageFactory
from clinicdesk.core.choices import Role
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def database_queue(settings):
    # Sending again queues the message; the worker is not under test here.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def test_find_a_failed_reminder_and_send_it_again(page: Page, url, sign_in, org, make_user):
    # given one failed and one delivered reminder
    patient = PatientFactory(organization=org, last_name="Haddad", first_name="Rana")
    failed = MessageFactory(organization=org, patient=patient, state=MessageState.FAILED,
                            reason="Unreachable destination handset. (error 30003)")
    MessageFactory(organization=org, state=MessageState.DELIVERED,
                   patient=PatientFactory(organization=org, last_name="Moreau"))
    sign_in(make_user(Role.FRONT_DESK, username="desk"))
    # when the desk opens the outbox and shows the failed ones
    page.goto(url(reverse("communications:outbox")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Outbox")
    page.get_by_role("link", name=re.compile(r"^Failed")).click()
    expect(page.get_by_role("cell", name=re.compile("Haddad"))).to_be_visible()
    expect(page.get_by_text("Moreau")).to_have_count(0)
    page.get_by_label("Patient or address").fill("hadd")
    page.get_by_label("Patient or address").press("Enter")
    expect(page.get_by_text("Unreachable destination handset. (error 30003)")).to_be_visible()
    page.locator(f"#message-{failed.public_id} a").click()
    # then the message page tells why, and sending again queues a new message linked from it
    expect(page.locator("#message-reason")).to_contain_text("error 30003")
    page.get_by_role("button", name="Send again").click()
    again = Message.objects.get(idempotency_key=f"again:{failed.public_id}:1")
    expect(page.get_by_text(f"Queued again as message {again.public_id}.")).to_be_visible()
    page.get_by_role("link", name=again.public_id).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Appointment reminder by text message")
    expect(page.get_by_role("button", name="Cancel message")).to_be_visible()


def test_a_reply_typed_on_the_gateway_phone_reaches_the_practice(page: Page, url, sign_in, org, make_user, settings,
                                                               live_server):
    # given a reminder sent through the local gateway that the live server serves
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SMS_API_BASE_URL = f"{live_server.url}/sms-gateway"
    patient = PatientFactory(organization=org, phone_mobile="+12025550144")
    message = MessageFactory(organization=org, patient=patient)
    assert message_deliver(message_id=message.pk) == "sent"
    sign_in(make_user(Role.FRONT_DESK, username="desk"))
    # when the patient's reply is typed on the phone page
    page.goto(url(reverse("communications_public:sms_gateway:phone")))
    page.get_by_role("link", name="+12025550144").click()
    expect(page.get_by_text(message.body)).to_be_visible()
    page.get_by_label("Reply from +12025550144").fill("STOP")
    page.get_by_role("button", name="Send reply").click()
    # then the practice received it as the patient's reply to that reminder
    expect(page.get_by_text("Reply sent from the patient's phone.")).to_be_visible()
    expect(page.locator(".sms-thread li.inbound")).to_contain_text("STOP")
    inbound = InboundMessage.objects.get()
    assert inbound.in_reply_to_id == message.pk and inbound.action == InboundAction.OPTED_OUT

"""The providers' webhooks: signatures, state that never goes back, idempotency, unknown messages."""

import json
import time

import pytest
from django.urls import reverse

from clinicdesk.patients.tests.factories import PatientFactory

from ..channels.sms import twilio_signature
from ..choices import MessageChannel, MessageState
from ..models import InboundMessage
from ..views.webhooks import mailgun_signature
from . import factories_delivery
from .factories_delivery import TEST_BASE, MessageFactory

local_gateway = factories_delivery.local_gateway  # the fixture, shared by the delivery tests

pytestmark = pytest.mark.django_db


def _signed_post(client, settings, path, params, *, token=None):
    signature = twilio_signature(f"{TEST_BASE}{path}", params, token or settings.SMS_AUTH_TOKEN)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def _status(client, settings, message, status, sid="SM" + "a" * 32, **extra):
    path = reverse("communications_public:sms_status") + f"?m={message.public_id}"
    return _signed_post(client, settings, path, {"MessageSid": sid, "MessageStatus": status, **extra})


def test_receipts_move_forward_only_and_once(org, client, settings, local_gateway):
    message = MessageFactory(organization=org, state=MessageState.SENT, provider_message_id="SM" + "a" * 32)
    assert _status(client, settings, message, "delivered").status_code == 200
    assert _status(client, settings, message, "delivered").status_code == 200
    assert _status(client, settings, message, "sent").status_code == 200
    message.refresh_from_db()
    assert message.state == MessageState.DELIVERED
    assert list(message.events.values_list("state", flat=True)) == [MessageState.DELIVERED]


def test_a_receipt_before_the_worker_recorded_the_send_still_counts(org, client, settings, local_gateway):
    message = MessageFactory(organization=org, state=MessageState.SENDING)
    _status(client, settings, message, "sent", sid="SM" + "b" * 32)
    message.refresh_from_db()
    assert message.state == MessageState.SENT and message.provider_message_id == "SM" + "b" * 32


def test_a_receipt_naming_another_text_is_ignored_and_delivered_records_when(org, client, settings, local_gateway):
    message = MessageFactory(organization=org, state=MessageState.SENT, provider_message_id="SM" + "a" * 32)
    assert _status(client, settings, message, "delivered", sid="SM" + "c" * 32).status_code == 200
    message.refresh_from_db()
    assert message.state == MessageState.SENT and message.provider_message_id == "SM" + "a" * 32
    assert not message.events.exists()
    _status(client, settings, message, "delivered")
    message.refresh_from_db()
    assert message.state == MessageState.DELIVERED and message.delivered_at is not None
    assert list(message.events.values_list("state", "detail")) == [(MessageState.DELIVERED, "Delivered to the phone.")]
    early = MessageFactory(organization=org, state=MessageState.SENDING)
    _status(client, settings, early, "delivered", sid="SM" + "d" * 32)
    early.refresh_from_db()
    assert early.state == MessageState.DELIVERED and early.provider_message_id == "SM" + "d" * 32
    assert early.provider == settings.SMS_PROVIDER


def test_undelivered_fails_the_message_with_the_error(org, client, settings, local_gateway):
    message = MessageFactory(organization=org, state=MessageState.SENT, provider_message_id="SM" + "a" * 32)
    _status(client, settings, message, "undelivered", ErrorCode="30005")
    message.refresh_from_db()
    assert message.state == MessageState.FAILED and "30005" in message.reason


def test_bad_signatures_are_refused_and_unknown_messages_ignored(org, client, settings, local_gateway):
    message = MessageFactory(organization=org, state=MessageState.SENT, provider_message_id="SM" + "a" * 32)
    path = reverse("communications_public:sms_status")
    forged = _signed_post(client, settings, path, {"MessageSid": message.provider_message_id,
                                                   "MessageStatus": "delivered"}, token="guessed")
    assert forged.status_code == 403
    assert client.post(path, {"MessageSid": "x", "MessageStatus": "delivered"}).status_code == 403
    unknown = _signed_post(client, settings, path, {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered"})
    assert unknown.status_code == 200
    message.refresh_from_db()
    assert message.state == MessageState.SENT


def test_an_inbound_text_is_recorded_once_against_the_last_text_to_that_number(org, client, settings, local_gateway):
    # given: two texts to the same number, the second the most recent
    patient = PatientFactory(organization=org, phone_mobile="+12025550104")
    MessageFactory(organization=org, patient=patient, state=MessageState.SENT, provider_message_id="SM1")
    latest = MessageFactory(organization=org, patient=patient, state=MessageState.DELIVERED, provider_message_id="SM2")
    params = {"MessageSid": "SM" + "c" * 32, "From": "+12025550104", "To": "+15005550006", "Body": "Running late"}
    path = reverse("communications_public:sms_inbound")
    # when: the provider delivers the webhook twice
    first = _signed_post(client, settings, path, params)
    second = _signed_post(client, settings, path, params)
    # then
    assert first.status_code == second.status_code == 200
    assert first["Content-Type"].startswith("text/xml") and b"<Response>" in first.content
    inbound = InboundMessage.objects.get()
    assert inbound.in_reply_to_id == latest.pk and inbound.patient_id == patient.pk and inbound.action
    assert _signed_post(client, settings, path, params, token="wrong").status_code == 403


def _mailgun(settings, event, *, age=0):
    timestamp, token = str(int(time.time()) - age), "a" * 50
    return json.dumps({"signature": {"timestamp": timestamp, "token": token,
                                     "signature": mailgun_signature(settings.EMAIL_WEBHOOK_SIGNING_KEY, timestamp, token)},
                       "event-data": event})


def test_an_email_bounce_marks_the_message_bounced_with_the_reason(org, client, settings):
    settings.EMAIL_WEBHOOK_SIGNING_KEY = "mailgun-key"
    message = MessageFactory(organization=org, channel=MessageChannel.EMAIL, state=MessageState.DELIVERED,
                             provider_message_id="abc@clinic.test")
    event = {"event": "failed", "severity": "permanent", "message": {"headers": {"message-id": "abc@clinic.test"}},
             "delivery-status": {"code": 550, "description": "No such mailbox"}}
    path = reverse("communications_public:email_events")
    assert client.post(path, _mailgun(settings, event), content_type="application/json").status_code == 200
    message.refresh_from_db()
    assert message.state == MessageState.BOUNCED and message.reason == "Bounced: No such mailbox (550)"
    stale = client.post(path, _mailgun(settings, event, age=3600), content_type="application/json")
    assert stale.status_code == 403
    bad = client.post(path, "not json", content_type="application/json")
    assert bad.status_code == 403 and b"signature" in bad.content

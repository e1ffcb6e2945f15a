"""message_deliver: exactly once, retries with back-off, failures with the provider's reason; the sweep."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.patients.tests.factories import PatientFactory

from ..channels.email import message_id_for
from ..choices import MessageChannel, MessageState
from ..gateway.models import GatewayMessage
from ..models import Message
from ..services.delivery import (
    MAX_ATTEMPTS,
    message_cancel,
    message_deliver,
    message_send_again,
    outbox_dispatch_due,
)
from . import factories_delivery
from .factories_delivery import MessageFactory

local_gateway = factories_delivery.local_gateway  # the fixture, shared by the delivery tests

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def _sms(org, number="+12025550123", **kwargs):
    patient = PatientFactory(organization=org, phone_mobile=number)
    return MessageFactory(organization=org, patient=patient, **kwargs)


def test_a_text_is_sent_once_through_the_gateway_and_recorded(org, local_gateway):
    # given
    message = _sms(org)
    # when
    outcome = message_deliver(message_id=message.pk)
    again = message_deliver(message_id=message.pk)
    # then
    message.refresh_from_db()
    assert (outcome, again) == ("sent", "skipped")
    assert message.state == MessageState.SENT and message.attempts == 1 and message.sent_at
    text = GatewayMessage.objects.get()
    assert message.provider_message_id == text.sid and message.provider == "twilio"
    assert text.to_number == "+12025550123" and text.idempotency_key == message.idempotency_key
    assert text.status_callback.endswith(f"/webhooks/sms/status/?m={message.public_id}")
    assert list(message.events.values_list("state", flat=True)) == [MessageState.SENT]
    assert AuditEvent.objects.filter(action="message.sent", patient_id=message.patient_id).count() == 1


def test_a_worker_that_died_mid_send_is_replaced_without_a_second_text(org, local_gateway):
    # given: the provider took the text but the worker died before recording it (its lease has run out)
    message = _sms(org)
    assert message_deliver(message_id=message.pk) == "sent"
    sid = message.__class__.objects.get(pk=message.pk).provider_message_id
    Message.objects.filter(pk=message.pk).update(state=MessageState.SENDING, sent_at=None, provider_message_id="",
                                                 claimed_until=timezone.now() - timedelta(seconds=1))
    # when: the sweep hands it out again and another worker sends it
    assert outbox_dispatch_due() == 1
    outcome = message_deliver(message_id=message.pk)
    # then: the same key got the same text back; the gateway holds one
    message.refresh_from_db()
    assert outcome == "sent" and message.state == MessageState.SENT and message.attempts == 2
    assert message.provider_message_id == sid and GatewayMessage.objects.count() == 1


def test_a_message_held_by_a_live_worker_is_not_taken(org, local_gateway):
    message = _sms(org)
    Message.objects.filter(pk=message.pk).update(state=MessageState.SENDING,
                                                 claimed_until=timezone.now() + timedelta(minutes=2))
    assert message_deliver(message_id=message.pk) == "skipped"
    assert outbox_dispatch_due() == 0
    assert GatewayMessage.objects.count() == 0


def test_a_gateway_that_is_down_means_retries_with_back_off_then_failed(org, local_gateway,
                                                                       django_capture_on_commit_callbacks):
    # given: a number in the gateway's "down" range
    message = _sms(org, number="+15005550142")
    # when
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert message_deliver(message_id=message.pk) == "retry"
    # then: queued again, a minute later, with the reason, and a deferred task
    message.refresh_from_db()
    assert message.state == MessageState.QUEUED and message.attempts == 1
    assert "HTTP 503" in message.reason
    assert timedelta(seconds=55) < message.next_attempt_at - before < timedelta(seconds=65)
    deferred = DBTaskResult.objects.get(task_path="clinicdesk.communications.tasks.message_send")
    assert deferred.run_after == message.next_attempt_at
    assert message_deliver(message_id=message.pk) == "skipped"  # not due yet
    # when: every further attempt fails too
    for _ in range(2, MAX_ATTEMPTS + 1):
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        outcome = message_deliver(message_id=message.pk)
    # then
    message.refresh_from_db()
    assert outcome == MessageState.FAILED and message.state == MessageState.FAILED and message.attempts == MAX_ATTEMPTS
    assert f"Gave up after {MAX_ATTEMPTS} attempts" in message.reason
    assert GatewayMessage.objects.count() == 0


def test_the_back_off_doubles(org, local_gateway):
    message = _sms(org, number="+15005550100")
    waits = []
    for _ in range(4):
        Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
        start = timezone.now()
        message_deliver(message_id=message.pk)
        waits.append(round((Message.objects.get(pk=message.pk).next_attempt_at - start).total_seconds() / 60))
    assert waits == [1, 2, 4, 8]


def test_an_invalid_number_fails_at_once_with_the_providers_reason(org, local_gateway):
    message = _sms(org, number="+15005550001")
    assert message_deliver(message_id=message.pk) == MessageState.FAILED
    message.refresh_from_db()
    assert message.state == MessageState.FAILED and "21211" in message.reason and "not a valid phone number" in message.reason
    assert AuditEvent.objects.filter(action="message.failed", patient_id=message.patient_id).count() == 1


def test_consent_withdrawn_after_queueing_stops_the_send(org, local_gateway):
    message = _sms(org)
    CommunicationConsent.objects.create(patient=message.patient, channel=Channel.SMS, status=ConsentStatus.OPTED_OUT)
    assert message_deliver(message_id=message.pk) == MessageState.SUPPRESSED
    message.refresh_from_db()
    assert message.state == MessageState.SUPPRESSED and "opted out" in message.reason
    assert GatewayMessage.objects.count() == 0


def test_a_message_due_later_is_not_sent_early(org, local_gateway):
    message = _sms(org, send_after=timezone.now() + timedelta(hours=3))
    assert message_deliver(message_id=message.pk) == "skipped"
    assert outbox_dispatch_due() == 0


def test_an_email_carries_a_message_id_from_its_key(org, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    patient = PatientFactory(organization=org, email="ana@example.com")
    message = MessageFactory(organization=org, patient=patient, channel=MessageChannel.EMAIL, subject="Your visit",
                             html_body='<p>See you</p><a rel="unsubscribe" href="https://x.test/m/abc/">Unsubscribe</a>')
    assert message_deliver(message_id=message.pk) == "sent"
    message.refresh_from_db()
    (email,) = mail.outbox
    assert email.to == ["ana@example.com"] and email.subject == "Your visit"
    assert email.extra_headers["Message-ID"] == f"<{message_id_for(message.idempotency_key)}>"
    assert message.provider_message_id == message_id_for(message.idempotency_key)
    assert email.extra_headers["List-Unsubscribe"] == "<https://x.test/m/abc/>"
    assert email.alternatives[0].mimetype == "text/html"


def test_the_sweep_hands_out_each_due_message_once_per_lease(org, local_gateway):
    # given
    due = [_sms(org, number=f"+1202555{n:04d}") for n in range(3)]
    _sms(org, number="+12025559999", send_after=timezone.now() + timedelta(hours=1))
    # when
    first = outbox_dispatch_due()
    second = outbox_dispatch_due()
    # then
    assert (first, second) == (3, 0)
    # one send task for the batch, naming the three due messages
    handed = DBTaskResult.objects.filter(task_path="clinicdesk.communications.tasks.message_send_batch")
    assert [sorted(t.args_kwargs["kwargs"]["message_ids"]) for t in handed] == [sorted(m.pk for m in due)]
    for message in due:
        assert message_deliver(message_id=message.pk) == "sent"


def test_cancel_and_send_again(org, local_gateway, front_desk):
    queued = _sms(org)
    message_cancel(message=queued, actor=front_desk)
    assert queued.state == MessageState.SUPPRESSED and "Cancelled by" in queued.reason
    assert message_deliver(message_id=queued.pk) == "skipped"
    with pytest.raises(Exception, match="Only a queued message"):
        message_cancel(message=queued, actor=front_desk)

    failed = _sms(org, number="+15005550001")
    message_deliver(message_id=failed.pk)
    failed.refresh_from_db()
    failed.patient.phone_mobile = "+12025550177"
    failed.patient.save(update_fields=["phone_mobile"])
    again = message_send_again(message=failed, actor=front_desk)
    failed.refresh_from_db()
    assert again.pk != failed.pk and again.idempotency_key != failed.idempotency_key
    assert again.to_address == "+12025550177" and again.state == MessageState.QUEUED
    assert f"Sent again as {again.public_id}" in failed.reason
    Message.objects.filter(pk=again.pk).update(send_after=timezone.now())  # quiet hours may have moved it
    assert message_deliver(message_id=again.pk) == "sent"

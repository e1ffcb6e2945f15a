from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from freezegun import freeze_time

from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import MessageChannel, MessageState
from ..models import Message
from ..services.outbox import message_queue, outside_quiet_hours, sms_sensitive_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_worker(settings):
    # Queueing is under test here, not sending: the database backend only stores the task.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def test_queueing_twice_with_one_key_gives_one_message(org):
    patient = PatientFactory(organization=org, phone_mobile="+12025550111")
    first = message_queue(organization=org, patient=patient, channel=MessageChannel.SMS, body="See you soon", idempotency_key="k1")
    again = message_queue(organization=org, patient=patient, channel=MessageChannel.SMS, body="See you soon", idempotency_key="k1")
    assert first.pk == again.pk and Message.objects.count() == 1
    assert first.state == MessageState.QUEUED and first.to_address == "+12025550111"
    assert AuditEvent.objects.filter(action="message.queued", patient_id=patient.pk).count() == 1


def test_an_opted_out_channel_is_never_used(org):
    patient = PatientFactory(organization=org, email="amy@example.com")
    CommunicationConsent.objects.create(patient=patient, channel=Channel.EMAIL, status=ConsentStatus.OPTED_OUT)
    message = message_queue(organization=org, patient=patient, channel=MessageChannel.EMAIL, body="Hello", idempotency_key="k2")
    assert message.state == MessageState.SUPPRESSED and "opted out" in message.reason


def test_no_address_and_sensitive_sms_are_kept_unsent_with_the_reason(org):
    patient = PatientFactory(organization=org, phone_mobile="", email="")
    message = message_queue(organization=org, patient=patient, channel=MessageChannel.SMS, body="Hi", idempotency_key="k3")
    assert message.state == MessageState.SUPPRESSED and message.reason == "No mobile number on file."
    patient = PatientFactory(organization=org, phone_mobile="+12025550112")
    message = message_queue(organization=org, patient=patient, channel=MessageChannel.SMS,
                            body="Your biopsy result is in", idempotency_key="k4")
    assert message.state == MessageState.SUPPRESSED and "biopsy" in message.reason


@pytest.mark.parametrize("text", ["Code E11.9 on file", "about your HIV test", "Pregnancy visit"])
def test_sensitive_detail_is_found(text):
    assert sms_sensitive_problem(text)


@pytest.mark.parametrize("text", ["Reply Y to confirm Tue 10:30", "Your balance of $25.00 is due", "Room B2.1"])
def test_ordinary_reminders_pass(text):
    assert sms_sensitive_problem(text) is None


@override_settings(COMMUNICATIONS_QUIET_HOURS=("21:00", "08:00"))
def test_quiet_hours_move_a_late_evening_message_to_the_next_morning():
    # 22:30 in New York on 1 March (EST, UTC-5) is 03:30 UTC on 2 March
    late = datetime(2027, 3, 2, 3, 30, tzinfo=UTC)
    assert outside_quiet_hours(late, "America/New_York") == datetime(2027, 3, 2, 13, 0, tzinfo=UTC)
    early = datetime(2027, 3, 2, 11, 0, tzinfo=UTC)  # 06:00 local
    assert outside_quiet_hours(early, "America/New_York") == datetime(2027, 3, 2, 13, 0, tzinfo=UTC)
    noon = datetime(2027, 3, 2, 17, 0, tzinfo=UTC)
    assert outside_quiet_hours(noon, "America/New_York") == noon


@override_settings(COMMUNICATIONS_QUIET_HOURS=("21:00", "08:00"))
def test_a_message_queued_at_night_waits_for_the_morning(org):
    location = LocationFactory(organization=org, time_zone="America/Los_Angeles")
    patient = PatientFactory(organization=org, phone_mobile="+12025550113")
    with freeze_time("2027-03-02 06:00:00"):  # 22:00 in Los Angeles
        message = message_queue(organization=org, patient=patient, location=location, channel=MessageChannel.SMS,
                                body="Reminder", idempotency_key="k5")
    assert message.send_after == datetime(2027, 3, 2, 16, 0, tzinfo=UTC)  # 08:00 PST


def test_another_practices_patient_and_unknown_channel_are_refused(org, other_org):
    patient = PatientFactory(organization=other_org)
    with pytest.raises(ValidationError) as caught:
        message_queue(organization=org, patient=patient, channel=MessageChannel.SMS, body="x", idempotency_key="k6")
    assert "patient" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        message_queue(organization=org, channel="fax", to_address="1", body="x", idempotency_key="k7")
    assert "channel" in caught.value.message_dict
    assert not Message.objects.exists()

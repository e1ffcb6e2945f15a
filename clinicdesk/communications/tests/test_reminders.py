"""Reminders from reminder plans, waitlist offers told to patients, recall and bill messages."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from clinicdesk.patients.choices import Channel
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import AppointmentFactory, Clinic

from ..choices import LinkAction, MessageChannel, MessagePurpose, MessageState
from ..defaults import defaults_install
from ..models import ActionLink, Message, StaffTask
from ..services.billing_messages import bill_message_queue
from ..services.reminders import ReminderStep, reminders_send_due, step_due

pytestmark = pytest.mark.django_db

VISIT = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)  # 10:00 in New York
PLAN = [{"channel": "email", "hours_before": 72}, {"channel": "sms", "hours_before": 24}]


@pytest.fixture(autouse=True)
def stored_tasks(settings):
    # Queueing is under test, not sending: the database task backend only stores the send task.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.COMMUNICATIONS_QUIET_HOURS = ("23:59", "00:00")


@pytest.fixture
def clinic(org):
    clinic = Clinic.build(org)
    clinic.kind.reminder_plan = PLAN
    clinic.kind.save(update_fields=["reminder_plan"])
    defaults_install(organization=org)
    return clinic


def visit(clinic, **fields):
    patient = fields.pop("patient", None) or PatientFactory(organization=clinic.organization, phone_mobile="+12025550150",
                                                            email="pat@example.com")
    return AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                              appointment_type=clinic.kind, patient=patient, starts_at=fields.pop("starts_at", VISIT), **fields)


def test_the_step_due_is_the_one_that_passed_most_recently():
    steps = [ReminderStep("email", 72, "reminder-email"), ReminderStep("sms", 24, "reminder-sms")]
    appointment = type("A", (), {"starts_at": VISIT})()
    assert step_due(appointment, steps, VISIT - timedelta(hours=80)) is None
    assert step_due(appointment, steps, VISIT - timedelta(hours=70)).channel == "email"
    assert step_due(appointment, steps, VISIT - timedelta(hours=10)).channel == "sms"
    assert step_due(appointment, steps, VISIT + timedelta(minutes=1)) is None


def test_each_step_is_sent_once_with_working_links(clinic):
    # given
    appointment = visit(clinic)
    # when the sweep runs before, at and after the 72-hour moment
    assert reminders_send_due(now=VISIT - timedelta(hours=80)) == 0
    assert reminders_send_due(now=VISIT - timedelta(hours=71)) == 1
    assert reminders_send_due(now=VISIT - timedelta(hours=70)) == 0
    # then one e-mail with the visit's time and three single-use links
    [email] = Message.objects.filter(appointment=appointment)
    assert email.channel == MessageChannel.EMAIL and email.purpose == MessagePurpose.REMINDER
    assert email.state == MessageState.QUEUED and "10:00" in email.body
    assert set(ActionLink.objects.filter(appointment=appointment).values_list("action", flat=True)) == {
        LinkAction.CONFIRM, LinkAction.CANCEL, LinkAction.RESCHEDULE}
    assert "/m/" in email.body
    # and the text follows at 24 hours, without a diagnosis and with reply words
    assert reminders_send_due(now=VISIT - timedelta(hours=23)) == 1
    sms = Message.objects.get(appointment=appointment, channel=MessageChannel.SMS)
    assert sms.state == MessageState.QUEUED and len(sms.body) <= 320


def test_a_visit_booked_late_gets_only_the_nearest_step_and_a_moved_visit_is_reminded_again(clinic):
    appointment = visit(clinic)
    assert reminders_send_due(now=VISIT - timedelta(hours=10)) == 1
    assert Message.objects.get(appointment=appointment).channel == MessageChannel.SMS
    appointment.starts_at = appointment.busy_from = VISIT + timedelta(days=1)
    appointment.ends_at = appointment.busy_until = appointment.starts_at + timedelta(minutes=15)
    appointment.save(update_fields=["starts_at", "ends_at", "busy_from", "busy_until"])
    # the new time is 34 hours ahead: inside the 72-hour step again, so its e-mail goes for the new time
    assert reminders_send_due(now=VISIT - timedelta(hours=10)) == 1
    assert Message.objects.filter(appointment=appointment, channel=MessageChannel.EMAIL).count() == 1
    assert reminders_send_due(now=VISIT + timedelta(hours=1)) == 1
    assert Message.objects.filter(appointment=appointment, channel=MessageChannel.SMS).count() == 2


def test_cancelled_visits_are_not_reminded_and_opted_out_patients_are_recorded_not_sent(clinic):
    visit(clinic, status=AppointmentStatus.CANCELLED)
    patient = PatientFactory(organization=clinic.organization, phone_mobile="+12025550151")
    patient.consents.create(channel=Channel.SMS, status="opted_out")
    other = visit(clinic, patient=patient, starts_at=VISIT + timedelta(hours=1))
    assert reminders_send_due(now=VISIT - timedelta(hours=10)) == 1
    message = Message.objects.get()
    assert message.appointment == other and message.state == MessageState.SUPPRESSED


def test_the_voice_channel_makes_one_call_task_for_the_front_desk(clinic):
    clinic.kind.reminder_plan = [{"channel": "voice", "hours_before": 24}]
    clinic.kind.save(update_fields=["reminder_plan"])
    appointment = visit(clinic)
    reminders_send_due(now=VISIT - timedelta(hours=20))
    reminders_send_due(now=VISIT - timedelta(hours=19))
    [task] = StaffTask.objects.filter(patient=appointment.patient)
    assert task.kind == "call" and task.appointment == appointment
    assert not Message.objects.exists()


def test_a_waitlist_offer_is_told_by_the_patients_channel_with_the_reply_link(clinic, django_capture_on_commit_callbacks):
    from clinicdesk.scheduling.services.waitlist import waitlist_entry_add, waitlist_offer_freed_time

    patient = PatientFactory(organization=clinic.organization, phone_mobile="+12025550152", preferred_channel=Channel.SMS)
    with freeze_time("2027-03-08 14:00:00"), django_capture_on_commit_callbacks(execute=True):
        entry = waitlist_entry_add(actor=clinic.actor, patient=patient, appointment_type=clinic.kind)
        [offer] = waitlist_offer_freed_time(provider_id=clinic.provider.pk, location_id=clinic.location.pk,
                                            starts_at=clinic.at(2027, 3, 11, 14), ends_at=clinic.at(2027, 3, 11, 14, 15))
    message = Message.objects.get(waitlist_offer=offer)
    assert message.patient == entry.patient and message.channel == MessageChannel.SMS
    assert message.purpose == MessagePurpose.WAITLIST_OFFER and offer.token in message.body


def test_bill_messages_announce_once_and_refuse_bad_amounts(clinic):
    patient = PatientFactory(organization=clinic.organization, email="payer@example.com", preferred_channel=Channel.EMAIL)
    first = bill_message_queue(actor=clinic.actor, patient=patient, kind="statement", amount=Decimal("1234.5"),
                               reference="S-1", pay_url="https://pay.example/s1")
    again = bill_message_queue(actor=clinic.actor, patient=patient, kind="statement", amount=Decimal("1234.5"),
                               reference="S-1", pay_url="https://pay.example/s1")
    assert first.pk == again.pk and first.purpose == MessagePurpose.STATEMENT
    assert "$1,234.50" in first.body and "https://pay.example/s1" in first.body
    with pytest.raises(ValidationError) as caught:
        bill_message_queue(actor=clinic.actor, patient=patient, kind="balance", amount=12.5, reference="B-1",
                           pay_url="https://pay.example")
    assert "amount" in caught.value.message_dict


def test_a_sweep_looks_up_each_wording_once_not_once_per_visit(clinic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for hour in range(3):
        visit(clinic, starts_at=VISIT + timedelta(hours=hour))
    with CaptureQueriesContext(connection) as queries:
        assert reminders_send_due(now=VISIT - timedelta(hours=10)) == 3
    lookups = [q for q in queries.captured_queries if 'FROM "communications_messagetemplate"' in q["sql"]]
    assert len(lookups) == 1


def _sweep_queries(now) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        queued = reminders_send_due(now=now)
    return queued, len(queries.captured_queries)


def test_a_sweep_queues_a_chunk_in_bulk_each_text_with_its_own_links(clinic, settings,
                                                                     django_capture_on_commit_callbacks):
    import re

    from django_tasks_db.models import DBTaskResult

    from ..links import link_lookup

    settings.MESSAGE_SEND_BATCH = 2
    now = VISIT - timedelta(hours=10)
    for hour in range(2):
        visit(clinic, starts_at=VISIT + timedelta(hours=hour))
    assert _sweep_queries(now)[0] == 2
    for hour in range(2, 8):
        visit(clinic, starts_at=VISIT + timedelta(hours=hour))
    # when the sweep finds six new visits
    with freeze_time(now), django_capture_on_commit_callbacks(execute=True):
        queued, many = _sweep_queries(now)
    # then it queues them in bulk: six more visits later cost the same statements, none per visit
    assert queued == 6
    for hour in range(8, 14):
        visit(clinic, starts_at=VISIT + timedelta(hours=hour))
    assert _sweep_queries(now) == (6, many)
    # each text carries confirm, cancel and reschedule links of its own visit, made for its time
    texts = Message.objects.filter(channel=MessageChannel.SMS).select_related("appointment")
    assert texts.count() == 14 and {m.state for m in texts} == {MessageState.QUEUED}
    for message in texts:
        [token] = re.findall(r"/m/([A-Za-z0-9_-]+)/", message.body)
        link = link_lookup(token)
        assert link.appointment_id == message.appointment_id and link.action == LinkAction.CONFIRM
        assert link.expires_at == link.appointment_starts_at == message.appointment.starts_at
        assert link.patient_id == message.patient_id and link.used_at is None
    assert ActionLink.objects.count() == 3 * 14
    # and the six queued in one sweep went to the workers after its commit, two per send task
    batches = [t.args_kwargs["kwargs"]["message_ids"]
               for t in DBTaskResult.objects.filter(task_path="clinicdesk.communications.tasks.message_send_batch")]
    assert sorted(len(b) for b in batches) == [2, 2, 2]


def test_a_sweep_keeps_quiet_hours_consent_and_one_message_per_step(clinic, settings):
    settings.COMMUNICATIONS_QUIET_HOURS = ("21:00", "08:00")
    quiet = datetime(2027, 3, 10, 4, 0, tzinfo=UTC)  # 23:00 in New York the evening before
    patient = PatientFactory(organization=clinic.organization, phone_mobile="+12025550153")
    patient.consents.create(channel=Channel.SMS, status="opted_out")
    held = visit(clinic)
    refused = visit(clinic, patient=patient, starts_at=VISIT + timedelta(hours=1))
    assert reminders_send_due(now=quiet) == 2
    assert reminders_send_due(now=quiet + timedelta(minutes=5)) == 0
    held_text = Message.objects.get(appointment=held)
    # held until 08:00 in New York; the opted-out patient's is recorded, not sent
    assert held_text.state == MessageState.QUEUED and held_text.send_after == datetime(2027, 3, 10, 13, 0, tzinfo=UTC)
    refused_text = Message.objects.get(appointment=refused)
    assert refused_text.state == MessageState.SUPPRESSED and "opted out" in refused_text.reason
    assert Message.objects.count() == 2

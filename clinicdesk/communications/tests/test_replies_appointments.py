from datetime import timedelta

import pytest
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.scheduling.choices import AppointmentStatus, OfferStatus
from clinicdesk.scheduling.models import WaitlistEntry, WaitlistOffer
from clinicdesk.scheduling.services.appointments import appointment_cancel, appointment_move

from ..choices import InboundAction, MessagePurpose, StaffTaskKind
from ..models import StaffTask
from ..services.links import appointment_links
from ..services.replies import RESCHEDULE_TASK_TITLE, TEXT_CANCEL_REASON, reply_act
from .factories_links import InboundMessageFactory, MessageFactory

# Cancelling offers the freed time to the waitlist through a task: stored, not run, here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_desk_time", "stored_tasks")]


@pytest.fixture
def visit(desk):
    return desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9), kind=desk.follow_up)


@pytest.fixture
def reminder(org, visit):
    return MessageFactory(organization=org, patient=visit.patient, purpose=MessagePurpose.REMINDER, appointment=visit,
                          body="Reminder: Mon 15 Mar 09:00. Reply C to confirm, N to cancel, R to reschedule.")


def _answer(reminder, body):
    return InboundMessageFactory(organization=reminder.organization, patient=reminder.patient, in_reply_to=reminder,
                                 body=body)


@pytest.mark.parametrize("body", ["C", "y", "Yes", "confirm.", " OK! "])
def test_confirm_words_confirm_the_reminded_appointment(reminder, visit, body):
    inbound = _answer(reminder, body)
    assert reply_act(inbound=inbound) == InboundAction.CONFIRMED
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CONFIRMED
    assert AuditEvent.objects.filter(action="sms_reply.confirmed", target_id=str(inbound.pk)).exists()
    assert not StaffTask.objects.exists()


@pytest.mark.parametrize("body", ["N", "no", "X"])
def test_no_words_cancel_it_under_the_schedules_rules(reminder, visit, body):
    assert reply_act(inbound=_answer(reminder, body)) == InboundAction.CANCELLED
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CANCELLED and visit.cancel_reason == TEXT_CANCEL_REASON


def test_cancel_alone_stays_the_carriers_opt_out_and_leaves_the_visit(reminder, visit):
    assert reply_act(inbound=_answer(reminder, "CANCEL")) == InboundAction.OPTED_OUT
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.SCHEDULED
    assert CommunicationConsent.objects.get(patient=visit.patient, channel=Channel.SMS).status == ConsentStatus.OPTED_OUT


def test_r_asks_the_front_desk_to_call_once(reminder, visit):
    # given the patient answers R, and again a minute later
    first = _answer(reminder, "R")
    assert reply_act(inbound=first) == InboundAction.NEEDS_STAFF
    assert reply_act(inbound=_answer(reminder, "reschedule")) == InboundAction.NEEDS_STAFF
    # then one call task for the front desk, due today, about the visit
    task = StaffTask.objects.get()
    assert task.kind == StaffTaskKind.CALL and task.title == RESCHEDULE_TASK_TITLE
    assert task.assignee_role == Role.FRONT_DESK and task.due_on == timezone.localdate()
    assert task.patient_id == visit.patient_id and task.appointment_id == visit.pk
    first.refresh_from_db()
    assert "call task" in first.note
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.SCHEDULED


def test_already_confirmed_is_recorded_without_a_second_change(reminder, visit):
    reply_act(inbound=_answer(reminder, "Y"))
    again = _answer(reminder, "C")
    assert reply_act(inbound=again) == InboundAction.CONFIRMED
    again.refresh_from_db()
    assert again.note == "The appointment was already confirmed."
    assert AuditEvent.objects.filter(action="appointment.confirmed").count() == 1


def test_a_refused_act_goes_to_a_person(desk, reminder, visit):
    # given staff cancelled the visit after the reminder
    appointment_cancel(actor=desk.user, appointment=visit, reason="Provider away")
    inbound = _answer(reminder, "C")
    # when the patient confirms by text
    assert reply_act(inbound=inbound) == InboundAction.NEEDS_STAFF
    # then nothing changes and the front desk is asked to read it
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CANCELLED
    inbound.refresh_from_db()
    assert "cannot become confirmed" in inbound.note
    task = StaffTask.objects.get()
    assert task.kind == StaffTaskKind.FOLLOW_UP and task.title == f"Read the text from {visit.patient.display_name}"


def test_a_reply_to_a_reminder_for_a_time_since_moved_changes_nothing(desk, reminder, visit):
    appointment_links(appointment=visit, message=reminder)
    appointment_move(actor=desk.user, appointment=visit, starts_at=desk.at(2027, 3, 15, 10))
    inbound = _answer(reminder, "N")
    assert reply_act(inbound=inbound) == InboundAction.NEEDS_STAFF
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.SCHEDULED
    inbound.refresh_from_db()
    assert "moved" in inbound.note


def test_anything_else_or_no_reply_to_becomes_a_follow_up_for_the_front_desk(org, reminder, visit):
    # given a question in answer to the reminder, and a text out of the blue
    question = _answer(reminder, "Can I bring my son too?")
    loose = InboundMessageFactory(organization=org, patient=visit.patient, body="Y")
    # when both are read
    assert reply_act(inbound=question) == InboundAction.NEEDS_STAFF
    assert reply_act(inbound=loose) == InboundAction.NEEDS_STAFF
    # then each waits in the front desk's inbox with its text
    tasks = list(StaffTask.objects.order_by("id"))
    assert [t.kind for t in tasks] == [StaffTaskKind.FOLLOW_UP] * 2
    assert all(t.assignee_role == Role.FRONT_DESK and t.patient_id == visit.patient_id for t in tasks)
    assert tasks[0].appointment_id == visit.pk and "Can I bring my son too?" in tasks[0].details
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.SCHEDULED


def test_a_text_from_an_unknown_number_names_the_number(org):
    inbound = InboundMessageFactory(organization=org, patient=None, from_number="+12025550777", body="Hello?")
    assert reply_act(inbound=inbound) == InboundAction.NEEDS_STAFF
    assert StaffTask.objects.get().title == "Read the text from +12025550777"


def test_acting_twice_on_one_reply_does_nothing_twice(reminder):
    inbound = _answer(reminder, "What time again?")
    reply_act(inbound=inbound)
    reply_act(inbound=inbound)
    assert StaffTask.objects.count() == 1


def test_a_reply_to_another_patients_message_is_not_acted_on(org, reminder, visit):
    from clinicdesk.patients.tests.factories import PatientFactory

    stranger = PatientFactory(organization=org)
    inbound = InboundMessageFactory(organization=org, patient=stranger, in_reply_to=reminder, body="N")
    assert reply_act(inbound=inbound) == InboundAction.NEEDS_STAFF
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.SCHEDULED


@pytest.fixture
def offer(org, desk):
    entry = WaitlistEntry.objects.create(organization=org, patient=desk.luis, appointment_type=desk.follow_up)
    starts_at = desk.at(2027, 3, 11, 10)
    return WaitlistOffer.objects.create(entry=entry, provider=desk.dr_chen, location=desk.location, starts_at=starts_at,
                                        ends_at=starts_at + timedelta(minutes=15), token="offer-token-for-replies",
                                        expires_at=timezone.now() + timedelta(hours=2))


def _offer_message(org, offer):
    return MessageFactory(organization=org, patient=offer.entry.patient, purpose=MessagePurpose.WAITLIST_OFFER,
                          waitlist_offer=offer, body="An earlier time is free: Thu 10:00. Reply Y to take it, N if not.")


def test_yes_to_a_waitlist_offer_books_the_time(org, offer):
    message = _offer_message(org, offer)
    inbound = InboundMessageFactory(organization=org, patient=offer.entry.patient, in_reply_to=message, body="yes")
    assert reply_act(inbound=inbound) == InboundAction.WAITLIST_YES
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED and offer.appointment.starts_at == offer.starts_at
    inbound.refresh_from_db()
    assert inbound.note == "Thank you: the time is booked for you."


def test_no_to_a_waitlist_offer_declines_it(org, offer):
    message = _offer_message(org, offer)
    inbound = InboundMessageFactory(organization=org, patient=offer.entry.patient, in_reply_to=message, body="N")
    assert reply_act(inbound=inbound) == InboundAction.WAITLIST_NO
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED


def test_c_to_a_waitlist_offer_is_not_a_yes(org, offer):
    message = _offer_message(org, offer)
    inbound = InboundMessageFactory(organization=org, patient=offer.entry.patient, in_reply_to=message, body="C")
    assert reply_act(inbound=inbound) == InboundAction.NEEDS_STAFF
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING

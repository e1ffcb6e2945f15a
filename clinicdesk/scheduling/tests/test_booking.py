"""The booking service: every rule of appointment_book, and move, cancel and the status lifecycle."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from freezegun import freeze_time

from clinicdesk.core.choices import Role, RoomKind
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory, OrganizationFactory, RoomFactory, UserFactory
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling import signals
from clinicdesk.scheduling.choices import AppointmentStatus, BookingChannel, ExceptionKind
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.services import appointments as booking
from clinicdesk.scheduling.services.appointments import (
    BookingConflict,
    appointment_book,
    appointment_cancel,
    appointment_move,
    appointment_move_to_first_free,
    appointment_set_status,
)

from .factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    AvailabilityTemplateFactory,
    Clinic,
    EquipmentFactory,
    ProviderFactory,
    ScheduleExceptionFactory,
    with_blocks,
)

pytestmark = pytest.mark.django_db

NOW = "2027-03-10T12:00:00Z"  # Wednesday; Monday 2027-03-15 is after the spring DST change in New York


@pytest.fixture
def clinic():
    with freeze_time(NOW):
        yield Clinic.build()


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(NOW):
        yield


def book(clinic, **overrides):
    args = {
        "actor": clinic.actor, "patient": clinic.patient, "provider": clinic.provider, "location": clinic.location,
        "appointment_type": clinic.kind, "starts_at": clinic.at(2027, 3, 15, 9),
    }  # fmt: skip
    args.update(overrides)
    return appointment_book(**args)


def another_patient(clinic):
    return PatientFactory(organization=clinic.organization)


def another_provider(clinic):
    provider = ProviderFactory(organization=clinic.organization)
    AvailabilityTemplateFactory(provider=provider, location=clinic.location)
    return provider


def errors_of(caught) -> dict:
    return caught.value.message_dict


# --- booking ---------------------------------------------------------------------------------------------


def test_books_inside_availability_with_the_type_length_and_audits(clinic, django_capture_on_commit_callbacks):
    heard = []
    signals.appointment_booked.connect(lambda sender, appointment, **kw: heard.append(appointment), weak=False, dispatch_uid="t1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            appointment = book(clinic, notes=" knee pain ")
    finally:
        signals.appointment_booked.disconnect(dispatch_uid="t1")
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=15)
    assert (appointment.busy_from, appointment.busy_until) == (appointment.starts_at, appointment.ends_at)
    assert appointment.notes == "knee pain"
    assert appointment.booked_by == clinic.actor
    assert heard == [appointment]
    assert AuditEvent.objects.filter(action="appointment.booked", target_id=str(appointment.pk), patient_id=clinic.patient.pk).exists()


def test_signal_waits_for_commit(clinic, django_capture_on_commit_callbacks):
    heard = []
    signals.appointment_booked.connect(lambda sender, appointment, **kw: heard.append(1), weak=False, dispatch_uid="t2")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            book(clinic)
        assert heard == []
        for callback in callbacks:
            callback()
        assert heard == [1]
    finally:
        signals.appointment_booked.disconnect(dispatch_uid="t2")


def test_a_failing_receiver_does_not_undo_the_booking(clinic, django_capture_on_commit_callbacks):
    def broken(sender, **kwargs):
        raise RuntimeError("listener bug")

    signals.appointment_booked.connect(broken, weak=False, dispatch_uid="t3")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            appointment = book(clinic)
    finally:
        signals.appointment_booked.disconnect(dispatch_uid="t3")
    assert Appointment.objects.filter(pk=appointment.pk).exists()


def test_provider_overlap_is_a_conflict_and_nothing_is_saved(clinic):
    book(clinic)
    with pytest.raises(BookingConflict) as caught:
        book(clinic, patient=another_patient(clinic), starts_at=clinic.at(2027, 3, 15, 9, 5))
    assert "starts_at" in errors_of(caught)
    assert "Chen" in errors_of(caught)["starts_at"][0]
    assert Appointment.objects.count() == 1


def test_back_to_back_is_fine(clinic):
    book(clinic)
    book(clinic, patient=another_patient(clinic), starts_at=clinic.at(2027, 3, 15, 9, 15))
    assert Appointment.objects.count() == 2


def test_buffers_hold_time_around_the_visit(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=20, buffer_before_minutes=5, buffer_after_minutes=10)
    first = book(clinic, appointment_type=kind)
    assert first.busy_from == clinic.at(2027, 3, 15, 8, 55) and first.busy_until == clinic.at(2027, 3, 15, 9, 30)
    with pytest.raises(BookingConflict):
        book(clinic, patient=another_patient(clinic), starts_at=clinic.at(2027, 3, 15, 9, 20))  # inside the clean-up time
    with pytest.raises(BookingConflict):
        book(clinic, patient=another_patient(clinic), appointment_type=kind, starts_at=clinic.at(2027, 3, 15, 9, 30))  # its own prep
    book(clinic, patient=another_patient(clinic), appointment_type=kind, starts_at=clinic.at(2027, 3, 15, 9, 35))


def test_patient_cannot_be_in_two_places(clinic):
    book(clinic)
    with pytest.raises(BookingConflict) as caught:
        book(clinic, provider=another_provider(clinic), starts_at=clinic.at(2027, 3, 15, 9, 10))
    assert "patient" in errors_of(caught)


def test_cancelled_and_no_show_free_the_time(clinic):
    AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                       starts_at=clinic.at(2027, 3, 15, 9), status=AppointmentStatus.CANCELLED)
    AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                       starts_at=clinic.at(2027, 3, 15, 9), status=AppointmentStatus.NO_SHOW)
    book(clinic)


def test_a_room_of_the_needed_kind_is_picked_and_never_double_booked(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, room_kind=RoomKind.PROCEDURE)
    room_a = RoomFactory(location=clinic.location, kind=RoomKind.PROCEDURE, name="Proc A")
    RoomFactory(location=clinic.location, kind=RoomKind.EXAM, name="Exam 1")
    first = book(clinic, appointment_type=kind)
    assert first.room == room_a
    with pytest.raises(BookingConflict) as caught:
        book(clinic, appointment_type=kind, patient=another_patient(clinic), provider=another_provider(clinic))
    assert "room" in errors_of(caught)
    room_b = RoomFactory(location=clinic.location, kind=RoomKind.PROCEDURE, name="Proc B")
    second = book(clinic, appointment_type=kind, patient=another_patient(clinic), provider=another_provider(clinic))
    assert second.room == room_b


def test_a_chosen_room_must_be_here_free_and_of_the_right_kind(clinic):
    elsewhere = RoomFactory(location=LocationFactory(organization=clinic.organization))
    with pytest.raises(ValidationError) as caught:
        book(clinic, room=elsewhere)
    assert "room" in errors_of(caught)
    kind = AppointmentTypeFactory(organization=clinic.organization, room_kind=RoomKind.PROCEDURE)
    exam = RoomFactory(location=clinic.location, kind=RoomKind.EXAM)
    with pytest.raises(ValidationError) as caught:
        book(clinic, appointment_type=kind, room=exam)
    assert "room" in errors_of(caught)
    book(clinic, room=exam)
    with pytest.raises(BookingConflict) as caught:
        book(clinic, room=exam, patient=another_patient(clinic), provider=another_provider(clinic))
    assert "room" in errors_of(caught)


def test_no_room_of_the_kind_at_all(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, room_kind=RoomKind.LAB)
    with pytest.raises(ValidationError) as caught:
        book(clinic, appointment_type=kind)
    assert "room" in errors_of(caught) and not isinstance(caught.value, BookingConflict)


def test_equipment_in_use_never_exceeds_its_quantity(clinic):
    ecg = EquipmentFactory(location=clinic.location, name="ECG cart", quantity=1)
    kind = AppointmentTypeFactory(organization=clinic.organization)
    kind.equipment.set([ecg])
    first = book(clinic, appointment_type=kind)
    assert list(first.equipment.all()) == [ecg]
    with pytest.raises(BookingConflict) as caught:
        book(clinic, appointment_type=kind, patient=another_patient(clinic), provider=another_provider(clinic))
    assert "equipment" in errors_of(caught)
    ecg.quantity = 2
    ecg.save()
    book(clinic, appointment_type=kind, patient=another_patient(clinic), provider=another_provider(clinic))


def test_extra_equipment_must_be_at_the_location(clinic):
    other = EquipmentFactory(location=LocationFactory(organization=clinic.organization))
    with pytest.raises(ValidationError) as caught:
        book(clinic, equipment=[other])
    assert "equipment" in errors_of(caught)


def test_a_type_needing_equipment_the_location_lacks(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization)
    kind.equipment.set([EquipmentFactory(location=LocationFactory(organization=clinic.organization), name="Ultrasound")])
    with pytest.raises(ValidationError) as caught:
        book(clinic, appointment_type=kind)
    assert "Ultrasound" in errors_of(caught)["appointment_type"][0]


def test_group_sessions_share_time_up_to_capacity(clinic):
    group = AppointmentTypeFactory(organization=clinic.organization, capacity=3, duration_minutes=60, name="Diabetes class")
    start = clinic.at(2027, 3, 15, 10)
    booked = [book(clinic, appointment_type=group, patient=another_patient(clinic), starts_at=start) for _ in range(3)]
    assert all(not a.exclusive for a in booked)
    with pytest.raises(BookingConflict) as caught:
        book(clinic, appointment_type=group, starts_at=start)
    assert "full" in errors_of(caught)["starts_at"][0]
    with pytest.raises(BookingConflict):  # the same type at another start overlapping the session
        book(clinic, appointment_type=group, starts_at=clinic.at(2027, 3, 15, 10, 30))
    with pytest.raises(BookingConflict):  # an exclusive visit inside the session
        book(clinic, starts_at=clinic.at(2027, 3, 15, 10, 15))


def test_a_group_session_cannot_start_over_an_exclusive_visit(clinic):
    group = AppointmentTypeFactory(organization=clinic.organization, capacity=8, duration_minutes=60)
    book(clinic, starts_at=clinic.at(2027, 3, 15, 10, 30))
    with pytest.raises(BookingConflict):
        book(clinic, appointment_type=group, patient=another_patient(clinic), starts_at=clinic.at(2027, 3, 15, 10))


# --- availability rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize("when", [(2027, 3, 15, 12, 30), (2027, 3, 15, 7, 45), (2027, 3, 15, 16, 50), (2027, 3, 13, 10)])
def test_outside_the_usual_week_is_refused(clinic, when):
    with pytest.raises(ValidationError) as caught:
        book(clinic, starts_at=clinic.at(*when))
    assert "starts_at" in errors_of(caught)
    assert Appointment.objects.count() == 0


def test_the_message_says_the_hours(clinic):
    with pytest.raises(ValidationError) as caught:
        book(clinic, starts_at=clinic.at(2027, 3, 15, 12, 30))
    assert "08:00–12:00, 13:00–17:00" in errors_of(caught)["starts_at"][0]


def test_template_dates_apply(clinic):
    clinic.template.effective_to = clinic.at(2027, 3, 14, 0).date()
    clinic.template.save()
    with pytest.raises(ValidationError):
        book(clinic)


def test_vacation_sick_and_blocked_time_are_refused(clinic):
    ScheduleExceptionFactory(provider=clinic.provider, kind=ExceptionKind.VACATION, reason="Conference",
                             starts_at=clinic.at(2027, 3, 15, 0), ends_at=clinic.at(2027, 3, 16, 0))
    with pytest.raises(ValidationError) as caught:
        book(clinic)
    assert "Conference" in errors_of(caught)["starts_at"][0]
    book(clinic, starts_at=clinic.at(2027, 3, 16, 9))


def test_a_location_wide_block_closes_every_provider(clinic):
    ScheduleExceptionFactory(provider=None, location=clinic.location, organization=clinic.organization, kind=ExceptionKind.BLOCKED,
                             starts_at=clinic.at(2027, 3, 15, 8), ends_at=clinic.at(2027, 3, 15, 10), reason="Fire drill")
    with pytest.raises(ValidationError):
        book(clinic)
    book(clinic, starts_at=clinic.at(2027, 3, 15, 10))


def test_another_providers_exception_does_not_matter(clinic):
    ScheduleExceptionFactory(provider=another_provider(clinic), kind=ExceptionKind.SICK,
                             starts_at=clinic.at(2027, 3, 15, 0), ends_at=clinic.at(2027, 3, 16, 0))
    book(clinic)


def test_public_holiday_of_the_location_is_closed_unless_opened(clinic):
    memorial_day = clinic.at(2027, 5, 31, 9)  # a Monday
    with pytest.raises(ValidationError) as caught:
        book(clinic, starts_at=memorial_day)
    assert "Memorial Day" in errors_of(caught)["starts_at"][0]
    ScheduleExceptionFactory(provider=None, location=clinic.location, organization=clinic.organization, kind=ExceptionKind.EXTRA,
                             starts_at=clinic.at(2027, 5, 31, 8), ends_at=clinic.at(2027, 5, 31, 12))
    book(clinic, starts_at=memorial_day)
    with pytest.raises(ValidationError):  # only the morning was opened
        book(clinic, starts_at=clinic.at(2027, 5, 31, 14), patient=another_patient(clinic))


def test_holidays_follow_the_location_settings(clinic):
    clinic.schedule.observe_holidays = False
    clinic.schedule.save()
    book(clinic, starts_at=clinic.at(2027, 5, 31, 9))


def test_extra_hours_of_a_provider_open_time_outside_the_template(clinic):
    saturday = clinic.at(2027, 3, 13, 9)
    ScheduleExceptionFactory(provider=clinic.provider, location=clinic.location, kind=ExceptionKind.EXTRA,
                             starts_at=clinic.at(2027, 3, 13, 9), ends_at=clinic.at(2027, 3, 13, 12))
    book(clinic, starts_at=saturday)


def test_blocks_kept_for_some_types(clinic):
    physical = AppointmentTypeFactory(organization=clinic.organization, name="Physical", duration_minutes=30)
    with_blocks(clinic.template, {0: [("08:00", "12:00")]}, appointment_types=[physical])
    with pytest.raises(ValidationError) as caught:
        book(clinic)
    assert "appointment_type" in errors_of(caught)
    book(clinic, appointment_type=physical)


def test_squeeze_in_skips_availability_but_never_overlaps(clinic):
    lunch = clinic.at(2027, 3, 15, 12, 15)
    book(clinic, starts_at=lunch, enforce_availability=False)
    with pytest.raises(BookingConflict):
        book(clinic, starts_at=lunch, patient=another_patient(clinic), enforce_availability=False)


def test_past_is_refused(clinic):
    with pytest.raises(ValidationError) as caught:
        book(clinic, starts_at=clinic.at(2027, 3, 10, 6), enforce_availability=False)
    assert errors_of(caught) == {"starts_at": ["That time is in the past."]}


def test_a_walk_in_may_start_a_little_before_now(clinic):
    with freeze_time("2027-03-15T13:20:00Z"):  # 09:20 in New York
        walk_in = book(clinic, starts_at=clinic.at(2027, 3, 15, 9), channel=BookingChannel.WALK_IN)
    assert walk_in.channel == BookingChannel.WALK_IN


def test_minimum_notice(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, min_notice_minutes=48 * 60)
    with freeze_time("2027-03-14T12:00:00Z"), pytest.raises(ValidationError) as caught:
        book(clinic, appointment_type=kind)
    assert "48 hours" in errors_of(caught)["starts_at"][0]
    book(clinic, appointment_type=kind)


def test_maximum_per_provider_per_day(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, max_per_day=2)
    book(clinic, appointment_type=kind)
    book(clinic, appointment_type=kind, patient=another_patient(clinic), starts_at=clinic.at(2027, 3, 15, 10))
    with pytest.raises(ValidationError) as caught:
        book(clinic, appointment_type=kind, patient=another_patient(clinic), starts_at=clinic.at(2027, 3, 15, 11))
    assert "appointment_type" in errors_of(caught)
    book(clinic, appointment_type=kind, patient=another_patient(clinic), starts_at=clinic.at(2027, 3, 16, 11))
    book(clinic, appointment_type=kind, patient=another_patient(clinic), provider=another_provider(clinic),
         starts_at=clinic.at(2027, 3, 15, 11))


def test_new_patient_only(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, new_patient_only=True, name="New patient physical")
    AppointmentFactory(organization=clinic.organization, patient=clinic.patient, starts_at=clinic.at(2026, 6, 1, 9),
                       status=AppointmentStatus.COMPLETED)
    with pytest.raises(ValidationError) as caught:
        book(clinic, appointment_type=kind)
    assert "patient" in errors_of(caught)
    book(clinic, appointment_type=kind, patient=another_patient(clinic))


def test_a_cancelled_first_visit_still_counts_as_new(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, new_patient_only=True)
    AppointmentFactory(organization=clinic.organization, patient=clinic.patient, starts_at=clinic.at(2026, 6, 1, 9),
                       status=AppointmentStatus.CANCELLED)
    book(clinic, appointment_type=kind)


# --- bad input ------------------------------------------------------------------------------------------------


def test_end_before_start(clinic):
    with pytest.raises(ValidationError) as caught:
        book(clinic, ends_at=clinic.at(2027, 3, 15, 8, 50))
    assert "ends_at" in errors_of(caught)


def test_naive_time_is_refused(clinic):
    with pytest.raises(ValidationError) as caught:
        book(clinic, starts_at=clinic.at(2027, 3, 15, 9).replace(tzinfo=None))
    assert "starts_at" in errors_of(caught)


def test_too_long(clinic):
    with pytest.raises(ValidationError) as caught:
        book(clinic, ends_at=clinic.at(2027, 3, 15, 22), enforce_availability=False)
    assert "ends_at" in errors_of(caught)


def test_nothing_of_another_practice(clinic):
    elsewhere = OrganizationFactory()
    cases = {
        "patient": {"patient": PatientFactory(organization=elsewhere)},
        "provider": {"provider": ProviderFactory(organization=elsewhere)},
        "location": {"location": LocationFactory(organization=elsewhere)},
        "appointment_type": {"appointment_type": AppointmentTypeFactory(organization=elsewhere)},
    }
    for field, override in cases.items():
        with pytest.raises(ValidationError) as caught:
            book(clinic, **override)
        assert field in errors_of(caught), field
    with pytest.raises(ValidationError) as caught:
        book(clinic, patient=None)
    assert errors_of(caught)["patient"] == ["No such patient."]
    assert Appointment.objects.count() == 0


def test_a_front_desk_user_is_not_a_provider(clinic):
    with pytest.raises(ValidationError) as caught:
        book(clinic, provider=UserFactory(organization=clinic.organization, role=Role.FRONT_DESK))
    assert "provider" in errors_of(caught)


def test_retired_type_and_deceased_patient(clinic):
    retired = AppointmentTypeFactory(organization=clinic.organization, is_active=False)
    with pytest.raises(ValidationError) as caught:
        book(clinic, appointment_type=retired)
    assert "appointment_type" in errors_of(caught)
    gone = PatientFactory(organization=clinic.organization, status=PatientStatus.DECEASED, deceased_date="2026-01-01")
    with pytest.raises(ValidationError) as caught:
        book(clinic, patient=gone)
    assert "patient" in errors_of(caught)


def test_unknown_channel(clinic):
    with pytest.raises(ValidationError) as caught:
        book(clinic, channel="fax")
    assert "channel" in errors_of(caught)


def test_online_booking_without_an_actor_uses_the_locations_practice(clinic):
    appointment = book(clinic, actor=None, channel=BookingChannel.ONLINE)
    assert appointment.organization_id == clinic.organization.pk and appointment.booked_by is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the exclusion constraints exist on PostgreSQL only")
def test_the_database_constraint_answers_a_race_as_a_conflict(clinic):
    book(clinic)
    # Pretend the service's own check missed the first booking (as a race would): the constraint catches it.
    with mock.patch.object(booking, "_check_provider_free"), pytest.raises(BookingConflict) as caught:
        book(clinic, patient=another_patient(clinic))
    assert "starts_at" in errors_of(caught)
    assert Appointment.objects.count() == 1


# --- move -----------------------------------------------------------------------------------------------------


def test_move_keeps_the_length_and_tells_listeners(clinic, django_capture_on_commit_callbacks):
    appointment = book(clinic, ends_at=clinic.at(2027, 3, 15, 9, 30))
    heard = []
    signals.appointment_moved.connect(lambda sender, **kw: heard.append(kw), weak=False, dispatch_uid="m1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            moved = appointment_move(actor=clinic.actor, appointment=appointment, starts_at=clinic.at(2027, 3, 16, 10))
    finally:
        signals.appointment_moved.disconnect(dispatch_uid="m1")
    assert moved.ends_at - moved.starts_at == timedelta(minutes=30)
    assert heard[0]["previous_starts_at"] == clinic.at(2027, 3, 15, 9)
    assert heard[0]["previous_ends_at"] == clinic.at(2027, 3, 15, 9, 30)
    assert heard[0]["previous_provider_id"] == clinic.provider.pk
    assert AuditEvent.objects.filter(action="appointment.moved", target_id=str(appointment.pk)).exists()


def test_move_over_its_own_old_time_is_fine(clinic):
    appointment = book(clinic, ends_at=clinic.at(2027, 3, 15, 9, 30))
    moved = appointment_move(actor=clinic.actor, appointment=appointment, starts_at=clinic.at(2027, 3, 15, 9, 15))
    assert moved.starts_at == clinic.at(2027, 3, 15, 9, 15)


def test_move_into_a_taken_time_changes_nothing(clinic):
    book(clinic, patient=another_patient(clinic), starts_at=clinic.at(2027, 3, 15, 10))
    appointment = book(clinic)
    with pytest.raises(BookingConflict):
        appointment_move(actor=clinic.actor, appointment=appointment, starts_at=clinic.at(2027, 3, 15, 10, 5))
    appointment.refresh_from_db()
    assert appointment.starts_at == clinic.at(2027, 3, 15, 9)


def test_move_to_another_provider(clinic):
    appointment = book(clinic)
    other = another_provider(clinic)
    moved = appointment_move(actor=clinic.actor, appointment=appointment, starts_at=appointment.starts_at, provider=other)
    assert moved.provider == other


def test_move_outside_hours_and_of_a_cancelled_visit_are_refused(clinic):
    appointment = book(clinic)
    with pytest.raises(ValidationError) as caught:
        appointment_move(actor=clinic.actor, appointment=appointment, starts_at=clinic.at(2027, 3, 15, 12, 30))
    assert "starts_at" in errors_of(caught)
    appointment_cancel(actor=clinic.actor, appointment=appointment, reason="Feeling better")
    with pytest.raises(ValidationError) as caught:
        appointment_move(actor=clinic.actor, appointment=appointment, starts_at=clinic.at(2027, 3, 16, 9))
    assert "status" in errors_of(caught)


def test_move_of_another_practices_appointment(clinic):
    foreign = AppointmentFactory(starts_at=clinic.at(2027, 3, 15, 9))
    with pytest.raises(ValidationError):
        appointment_move(actor=clinic.actor, appointment=foreign, starts_at=clinic.at(2027, 3, 16, 9))


def test_move_to_first_free_with_any_provider(clinic):
    appointment = book(clinic)
    other = another_provider(clinic)
    ScheduleExceptionFactory(provider=clinic.provider, kind=ExceptionKind.SICK,
                             starts_at=clinic.at(2027, 3, 10, 0), ends_at=clinic.at(2027, 3, 20, 0))
    moved = appointment_move_to_first_free(actor=clinic.actor, appointment=appointment)
    assert moved.provider == other
    assert moved.starts_at == clinic.at(2027, 3, 10, 8)  # now is 07:00 in New York; the day opens at 08:00


# --- cancel ---------------------------------------------------------------------------------------------------


def test_cancel_needs_a_reason_and_frees_the_time(clinic, django_capture_on_commit_callbacks):
    appointment = book(clinic)
    with pytest.raises(ValidationError) as caught:
        appointment_cancel(actor=clinic.actor, appointment=appointment, reason="  ")
    assert "reason" in errors_of(caught)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        cancelled = appointment_cancel(actor=clinic.actor, appointment=appointment, reason="Feeling better")
    assert callbacks  # the cancellation is announced after commit
    assert cancelled.status == AppointmentStatus.CANCELLED and cancelled.cancelled_by == clinic.actor
    assert not cancelled.late_cancel
    assert AuditEvent.objects.filter(action="appointment.cancelled", target_id=str(appointment.pk)).exists()
    book(clinic, patient=another_patient(clinic))


def test_late_cancellation_is_flagged(clinic):
    appointment = book(clinic)
    with freeze_time("2027-03-15T03:00:00Z"):
        cancelled = appointment_cancel(actor=clinic.actor, appointment=appointment, reason="Car broke down")
    assert cancelled.late_cancel


def test_cancel_twice_is_refused(clinic):
    appointment = book(clinic)
    appointment_cancel(actor=clinic.actor, appointment=appointment, reason="x")
    with pytest.raises(ValidationError) as caught:
        appointment_cancel(actor=clinic.actor, appointment=appointment, reason="x")
    assert "status" in errors_of(caught)


# --- status ---------------------------------------------------------------------------------------------------


def test_the_visit_moves_through_the_day(clinic):
    appointment = book(clinic)
    steps = [
        (AppointmentStatus.CONFIRMED, "confirmed_at"), (AppointmentStatus.ARRIVED, "arrived_at"),
        (AppointmentStatus.ROOMED, "roomed_at"), (AppointmentStatus.WITH_PROVIDER, "seen_at"),
        (AppointmentStatus.COMPLETED, "completed_at"),
    ]  # fmt: skip
    with freeze_time("2027-03-15T12:55:00Z"):
        for status, stamp in steps:
            appointment = appointment_set_status(actor=clinic.actor, appointment=appointment, status=status)
            assert appointment.status == status and getattr(appointment, stamp) is not None
    assert AuditEvent.objects.filter(action="appointment.completed", target_id=str(appointment.pk)).exists()


@pytest.mark.parametrize(("start", "target"), [
    (AppointmentStatus.SCHEDULED, AppointmentStatus.COMPLETED),
    (AppointmentStatus.SCHEDULED, AppointmentStatus.WITH_PROVIDER),
    (AppointmentStatus.COMPLETED, AppointmentStatus.ARRIVED),
    (AppointmentStatus.CANCELLED, AppointmentStatus.CONFIRMED),
    (AppointmentStatus.NO_SHOW, AppointmentStatus.ARRIVED),
    (AppointmentStatus.SCHEDULED, AppointmentStatus.CANCELLED),
    (AppointmentStatus.SCHEDULED, "teleported"),
])  # fmt: skip
def test_illegal_steps_are_refused_on_status(clinic, start, target):
    appointment = AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                                     starts_at=clinic.at(2027, 3, 15, 9), status=start)
    with freeze_time("2027-03-15T14:00:00Z"), pytest.raises(ValidationError) as caught:
        appointment_set_status(actor=clinic.actor, appointment=appointment, status=target)
    assert "status" in errors_of(caught)
    appointment.refresh_from_db()
    assert appointment.status == start


def test_no_show_only_after_the_start(clinic):
    appointment = book(clinic)
    with pytest.raises(ValidationError) as caught:
        appointment_set_status(actor=clinic.actor, appointment=appointment, status=AppointmentStatus.NO_SHOW)
    assert "status" in errors_of(caught)
    with freeze_time("2027-03-15T14:00:00Z"):
        assert appointment_set_status(actor=clinic.actor, appointment=appointment, status=AppointmentStatus.NO_SHOW).status == "no_show"


def test_status_change_is_heard(clinic, django_capture_on_commit_callbacks):
    appointment = book(clinic)
    heard = []
    signals.appointment_status_changed.connect(lambda sender, **kw: heard.append(kw), weak=False, dispatch_uid="s1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            appointment_set_status(actor=clinic.actor, appointment=appointment, status=AppointmentStatus.CONFIRMED)
    finally:
        signals.appointment_status_changed.disconnect(dispatch_uid="s1")
    assert heard[0]["appointment"].status == "confirmed" and heard[0]["previous_status"] == "scheduled"

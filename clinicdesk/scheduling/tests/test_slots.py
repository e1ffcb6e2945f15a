"""Slot search: templates, exceptions, holidays, buffers, rooms, equipment, notice, limits, and a query
count that does not grow with the number of appointments."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from clinicdesk.core.choices import Role, RoomKind
from clinicdesk.core.tests.factories import LocationFactory, OrganizationFactory, RoomFactory, UserFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, ExceptionKind, TimeOfDay
from clinicdesk.scheduling.selectors.slots import Slot, find_slots, slot_search
from clinicdesk.scheduling.services.appointments import appointment_book

from .factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    AvailabilityTemplateFactory,
    Clinic,
    EquipmentFactory,
    LocationScheduleFactory,
    ProviderFactory,
    ScheduleExceptionFactory,
)

pytestmark = pytest.mark.django_db

NOW = "2027-03-10T12:00:00Z"  # Wednesday 07:00 in New York


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def clinic():
    return Clinic.build()


def search(clinic, **kwargs):
    args = {"organization": clinic.organization, "appointment_type": clinic.kind, "start": clinic.at(2027, 3, 15, 0),
            "end": clinic.at(2027, 3, 20, 0), "limit": 5}
    args.update(kwargs)
    return find_slots(**args)


def starts(slots, clinic):
    return [s.starts_at.astimezone(clinic.at(2027, 1, 1).tzinfo).strftime("%a %H:%M") for s in slots]


def occupy(clinic, start, minutes=15, **kwargs):
    kind = kwargs.pop("appointment_type", None) or AppointmentTypeFactory(organization=clinic.organization, duration_minutes=minutes)
    return AppointmentFactory(organization=clinic.organization, provider=kwargs.pop("provider", clinic.provider),
                              location=clinic.location, appointment_type=kind, starts_at=start, **kwargs)


def test_first_slots_follow_the_grid_inside_the_template(clinic):
    slots = search(clinic)
    assert starts(slots, clinic) == ["Mon 08:00", "Mon 08:15", "Mon 08:30", "Mon 08:45", "Mon 09:00"]
    assert slots[0] == Slot(clinic.provider.pk, clinic.location.pk, clinic.at(2027, 3, 15, 8), clinic.at(2027, 3, 15, 8, 15))


def test_taken_time_is_skipped(clinic):
    occupy(clinic, clinic.at(2027, 3, 15, 8), minutes=30)
    occupy(clinic, clinic.at(2027, 3, 15, 8, 45), status=AppointmentStatus.CANCELLED)
    assert starts(search(clinic, limit=3), clinic) == ["Mon 08:30", "Mon 08:45", "Mon 09:00"]


def test_a_slot_must_fit_before_the_break(clinic):
    physical = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=40)
    slots = search(clinic, appointment_type=physical, start=clinic.at(2027, 3, 15, 11), limit=3)
    assert starts(slots, clinic) == ["Mon 11:00", "Mon 11:15", "Mon 13:00"]  # 11:30 would end after 12:00


def test_buffers_of_the_searched_type_and_of_booked_visits(clinic):
    padded = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=15, buffer_before_minutes=10,
                                    buffer_after_minutes=5)
    occupy(clinic, clinic.at(2027, 3, 15, 9), appointment_type=padded)  # holds 08:50–09:20
    slots = search(clinic, start=clinic.at(2027, 3, 15, 8, 30), limit=3)
    assert starts(slots, clinic) == ["Mon 08:30", "Mon 09:30", "Mon 09:45"]
    slots = search(clinic, appointment_type=padded, start=clinic.at(2027, 3, 15, 9, 30), limit=2)
    assert starts(slots, clinic) == ["Mon 09:30", "Mon 09:45"]  # its own prep time may overlap nothing: 09:20 is free


def test_time_of_day(clinic):
    afternoon = search(clinic, time_of_day=TimeOfDay.AFTERNOON, limit=2)
    assert starts(afternoon, clinic) == ["Mon 13:00", "Mon 13:15"]
    morning = search(clinic, time_of_day=TimeOfDay.MORNING, start=clinic.at(2027, 3, 15, 11, 30), limit=3)
    assert starts(morning, clinic) == ["Mon 11:30", "Mon 11:45", "Tue 08:00"]
    assert search(clinic, time_of_day=TimeOfDay.EVENING) == []


def test_minimum_notice_and_now(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, min_notice_minutes=26 * 60)
    slots = find_slots(organization=clinic.organization, appointment_type=kind, start=clinic.at(2027, 3, 1, 0),
                       end=clinic.at(2027, 3, 20, 0), limit=1)
    assert starts(slots, clinic) == ["Thu 09:00"]  # now is Wed 07:00: 26 hours on is Thu 09:00
    slots = search(clinic, start=clinic.at(2027, 3, 1, 0), limit=1)
    assert starts(slots, clinic) == ["Wed 08:00"]  # nothing in the past


def test_exceptions_and_holidays(clinic):
    ScheduleExceptionFactory(provider=clinic.provider, kind=ExceptionKind.SICK, starts_at=clinic.at(2027, 3, 15, 0),
                             ends_at=clinic.at(2027, 3, 16, 10))
    assert starts(search(clinic, limit=1), clinic) == ["Tue 10:00"]
    memorial = find_slots(organization=clinic.organization, appointment_type=clinic.kind, start=clinic.at(2027, 5, 29, 0),
                          end=clinic.at(2027, 6, 5, 0), limit=1)
    assert memorial[0].starts_at == clinic.at(2027, 6, 1, 8)  # Monday May 31 is Memorial Day


def test_extra_hours_add_slots(clinic):
    ScheduleExceptionFactory(provider=clinic.provider, location=clinic.location, kind=ExceptionKind.EXTRA,
                             starts_at=clinic.at(2027, 3, 13, 10), ends_at=clinic.at(2027, 3, 13, 10, 30))
    slots = search(clinic, start=clinic.at(2027, 3, 13, 0), limit=3)
    assert starts(slots, clinic) == ["Sat 10:00", "Sat 10:15", "Mon 08:00"]


def test_several_providers_earliest_first_then_by_the_order_given(clinic):
    other = ProviderFactory(organization=clinic.organization)
    AvailabilityTemplateFactory(provider=other, location=clinic.location, blocks={0: [("07:00", "08:00")], 1: [("08:00", "12:00")]})
    slots = search(clinic, provider_ids=[other.pk, clinic.provider.pk], limit=6)
    assert [(s.provider_id, s.starts_at) for s in slots[:5]] == [
        (other.pk, clinic.at(2027, 3, 15, 7)), (other.pk, clinic.at(2027, 3, 15, 7, 15)),
        (other.pk, clinic.at(2027, 3, 15, 7, 30)), (other.pk, clinic.at(2027, 3, 15, 7, 45)),
        (clinic.provider.pk, clinic.at(2027, 3, 15, 8)),
    ]  # fmt: skip
    only_other = search(clinic, provider_ids=[other.pk], start=clinic.at(2027, 3, 15, 8), limit=1)
    assert only_other[0].starts_at == clinic.at(2027, 3, 16, 8)


def test_a_provider_in_two_places_is_busy_in_both(clinic):
    north = LocationFactory(organization=clinic.organization, name="North")
    LocationScheduleFactory(location=north)
    AvailabilityTemplateFactory(provider=clinic.provider, location=north, blocks={5: [("08:00", "12:00")]})
    occupy(clinic, clinic.at(2027, 3, 15, 8))
    slots = search(clinic, limit=1)
    assert slots[0].starts_at == clinic.at(2027, 3, 15, 8, 15)
    at_north = search(clinic, location=north, start=clinic.at(2027, 3, 13, 0), limit=1)
    assert (at_north[0].location_id, at_north[0].starts_at) == (north.pk, clinic.at(2027, 3, 13, 8))


def test_rooms_of_the_needed_kind(clinic):
    procedure = AppointmentTypeFactory(organization=clinic.organization, room_kind=RoomKind.PROCEDURE, duration_minutes=30)
    assert search(clinic, appointment_type=procedure) == []  # no such room
    room = RoomFactory(location=clinic.location, kind=RoomKind.PROCEDURE)
    other = ProviderFactory(organization=clinic.organization)
    occupy(clinic, clinic.at(2027, 3, 15, 8), minutes=60, provider=other, room=room)
    assert starts(search(clinic, appointment_type=procedure, limit=1), clinic) == ["Mon 09:00"]


def test_equipment_quantity(clinic):
    ultrasound = EquipmentFactory(location=clinic.location, quantity=1)
    scan = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=30)
    scan.equipment.set([ultrasound])
    other = ProviderFactory(organization=clinic.organization)
    busy = occupy(clinic, clinic.at(2027, 3, 15, 8), minutes=60, provider=other)
    busy.equipment.set([ultrasound])
    assert starts(search(clinic, appointment_type=scan, limit=1), clinic) == ["Mon 09:00"]
    elsewhere = AppointmentTypeFactory(organization=clinic.organization)
    elsewhere.equipment.set([EquipmentFactory(location=LocationFactory(organization=clinic.organization))])
    assert search(clinic, appointment_type=elsewhere) == []


def test_group_sessions_offer_their_free_places(clinic):
    group = AppointmentTypeFactory(organization=clinic.organization, capacity=2, duration_minutes=60)
    occupy(clinic, clinic.at(2027, 3, 15, 8), appointment_type=group, exclusive=False)
    slots = search(clinic, appointment_type=group, limit=2)
    assert starts(slots, clinic) == ["Mon 08:00", "Mon 09:00"]  # a place left at 08:00; 08:15-08:45 overlap the session
    occupy(clinic, clinic.at(2027, 3, 15, 8), appointment_type=group, exclusive=False)
    assert starts(search(clinic, appointment_type=group, limit=1), clinic) == ["Mon 09:00"]


def test_maximum_per_day(clinic):
    kind = AppointmentTypeFactory(organization=clinic.organization, max_per_day=1)
    occupy(clinic, clinic.at(2027, 3, 15, 16), appointment_type=kind)
    assert starts(search(clinic, appointment_type=kind, limit=1), clinic) == ["Tue 08:00"]


def test_slot_grid_of_the_location(clinic):
    clinic.schedule.slot_step_minutes = 20
    clinic.schedule.save()
    assert starts(search(clinic, limit=4), clinic) == ["Mon 08:00", "Mon 08:20", "Mon 08:40", "Mon 09:00"]


def test_every_slot_found_can_be_booked(clinic):
    occupy(clinic, clinic.at(2027, 3, 15, 9), minutes=45)
    for slot in search(clinic, limit=12):
        appointment_book(actor=clinic.actor, patient=PatientFactory(organization=clinic.organization), provider=clinic.provider,
                         location=clinic.location, appointment_type=clinic.kind, starts_at=slot.starts_at)


def test_inactive_providers_and_other_practices_types_give_nothing(clinic):
    clinic.provider.is_active = False
    clinic.provider.save()
    assert search(clinic) == []
    assert search(Clinic.build(), appointment_type=clinic.kind) == []


def test_limit_and_empty_ranges(clinic):
    assert search(clinic, limit=0) == []
    assert search(clinic, end=clinic.at(2027, 3, 14, 0)) == []
    assert len(search(clinic, limit=10_000, end=clinic.at(2027, 6, 1, 0))) == 200


def test_far_slots_are_found_through_growing_windows(clinic):
    ScheduleExceptionFactory(provider=clinic.provider, kind=ExceptionKind.VACATION, starts_at=clinic.at(2027, 3, 10, 0),
                             ends_at=clinic.at(2027, 4, 20, 0))
    slots = search(clinic, end=clinic.at(2027, 5, 1, 0), limit=1)
    assert slots[0].starts_at == clinic.at(2027, 4, 20, 8)


def test_query_count_does_not_grow_with_appointments(clinic):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            search(clinic, limit=20, end=clinic.at(2027, 4, 15, 0))
        return len(ctx.captured_queries)

    occupy(clinic, clinic.at(2027, 3, 15, 8))
    few = count()
    kind = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=15)
    for day in (15, 16, 17, 18, 19):
        for hour in range(9, 12):
            for minute in (0, 30):
                occupy(clinic, clinic.at(2027, 3, day, hour, minute), appointment_type=kind)
    assert count() == few


# --- the staff selector ---------------------------------------------------------------------------------------


def test_slot_search_is_scoped_to_the_actors_practice(clinic):
    assert slot_search(actor=clinic.actor, appointment_type=clinic.kind, start=clinic.at(2027, 3, 15, 0),
                       end=clinic.at(2027, 3, 16, 0), limit=1)
    foreign_type = AppointmentTypeFactory(organization=OrganizationFactory())
    foreign_provider = ProviderFactory()
    with pytest.raises(ValidationError) as caught:
        slot_search(actor=clinic.actor, appointment_type=foreign_type, start=clinic.at(2027, 3, 15, 0),
                    end=clinic.at(2027, 3, 16, 0), provider_ids=[foreign_provider.pk], time_of_day="noonish")
    assert set(caught.value.message_dict) == {"appointment_type", "provider", "time_of_day"}
    with pytest.raises(ValidationError) as caught:
        slot_search(actor=clinic.actor, appointment_type=clinic.kind, start=clinic.at(2027, 3, 16, 0), end=clinic.at(2027, 3, 15, 0))
    assert "end" in caught.value.message_dict


def test_slot_search_needs_schedule_view(clinic):
    with pytest.raises(PermissionDenied):
        slot_search(actor=UserFactory(organization=clinic.organization, role=Role.AUDITOR), appointment_type=clinic.kind,
                    start=clinic.at(2027, 3, 15, 0), end=clinic.at(2027, 3, 16, 0))


def test_a_long_window_stays_bounded(clinic):
    slots = search(clinic, end=clinic.at(2027, 3, 15, 0) + timedelta(days=365), limit=200)
    assert len(slots) == 200 and slots == sorted(slots, key=lambda s: s.starts_at)


def test_a_prep_buffer_may_reach_before_the_opening(clinic):
    prep = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=15, buffer_before_minutes=10)
    occupy(clinic, clinic.at(2027, 3, 15, 8, 20))
    slots = search(clinic, appointment_type=prep, limit=2)
    assert starts(slots, clinic) == ["Mon 08:00", "Mon 08:45"]  # 08:30 would need 08:20-08:30 for its preparation


# --- how the search reads (index, gaps, remembered templates) -------------------------------------------------


def test_gaps_between_overlapping_and_touching_visits(clinic):
    # given: a group session 09:00-10:00 with a shorter one inside it (the provider stays busy until 10:00),
    # a visit touching its end (10:00-10:15), half an hour free, then 10:45-12:00 taken
    group = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=60, capacity=3)
    inner = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=15, capacity=3)
    occupy(clinic, clinic.at(2027, 3, 15, 9), appointment_type=group, exclusive=False)
    occupy(clinic, clinic.at(2027, 3, 15, 9, 30), appointment_type=inner, exclusive=False)
    occupy(clinic, clinic.at(2027, 3, 15, 10))
    occupy(clinic, clinic.at(2027, 3, 15, 10, 45), minutes=75)
    half_hour = AppointmentTypeFactory(organization=clinic.organization, duration_minutes=30)

    # when
    slots = search(clinic, appointment_type=half_hour, end=clinic.at(2027, 3, 15, 12), limit=10)

    # then
    assert starts(slots, clinic) == ["Mon 08:00", "Mon 08:15", "Mon 08:30", "Mon 10:15"]


def test_cancelled_visits_free_their_time(clinic):
    occupy(clinic, clinic.at(2027, 3, 15, 8), status=AppointmentStatus.CANCELLED)
    occupy(clinic, clinic.at(2027, 3, 15, 8, 15), status=AppointmentStatus.NO_SHOW)
    occupy(clinic, clinic.at(2027, 3, 15, 8, 30))
    assert starts(search(clinic, limit=3), clinic) == ["Mon 08:00", "Mon 08:15", "Mon 08:45"]


def test_a_changed_template_or_time_zone_shows_in_the_next_search(clinic):
    assert starts(search(clinic, limit=1), clinic) == ["Mon 08:00"]
    clinic.template.blocks.filter(weekday=0, start_time="08:00").update(start_time="09:00")
    assert starts(search(clinic, limit=1), clinic) == ["Mon 09:00"]
    clinic.location.time_zone = "America/Chicago"
    clinic.location.save(update_fields=["time_zone"])
    assert starts(search(clinic, limit=1), clinic) == ["Mon 10:00"]  # 09:00 in Chicago


def test_the_appointment_scan_reads_the_live_time_index_alone(clinic):
    occupy(clinic, clinic.at(2027, 3, 15, 9))
    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        search(clinic, limit=5)
    scans = [(sql, params) for sql, params in statements if "FROM scheduling_appointment " in sql]
    assert scans
    with connection.cursor() as cursor:
        for sql, params in scans:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small enough to read whole
                cursor.execute("EXPLAIN " + sql, params)
                assert "Index Only Scan using appt_provider_live_busy_idx" in "\n".join(r[0] for r in cursor.fetchall())
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
                plan = "\n".join(str(r[-1]) for r in cursor.fetchall())
                assert "COVERING INDEX appt_provider_live_busy_idx" in plan
                assert "TEMP B-TREE" not in plan  # read in index order, nothing sorted


def test_query_count_does_not_grow_with_providers_or_exceptions(clinic):
    def count(provider_ids) -> int:
        with CaptureQueriesContext(connection) as ctx:
            search(clinic, limit=20, end=clinic.at(2027, 4, 15, 0), provider_ids=provider_ids)
        return len(ctx.captured_queries)

    few = count([clinic.provider.pk])
    others = [ProviderFactory(organization=clinic.organization) for _ in range(4)]
    for provider in others:
        AvailabilityTemplateFactory(provider=provider, location=clinic.location)
        ScheduleExceptionFactory(provider=provider, kind=ExceptionKind.BLOCKED, starts_at=clinic.at(2027, 3, 15, 8),
                                 ends_at=clinic.at(2027, 3, 15, 10))
    assert count([clinic.provider.pk, *(p.pk for p in others)]) == few


def test_the_next_window_reaches_about_as_far_as_the_slots_still_needed():
    from clinicdesk.scheduling.selectors.slots import _Search

    days = timedelta(days=1)
    assert _Search._next_span(4 * days, searched=7 * days, found=0, limit=20) == 8 * days  # nothing yet: twice as far
    assert _Search._next_span(4 * days, searched=7 * days, found=10, limit=20) == 8 * days  # half found: at most twice
    assert _Search._next_span(4 * days, searched=8 * days, found=16, limit=20) == 2.5 * days  # 4 more at 2 a day, +25%
    assert _Search._next_span(4 * days, searched=7 * days, found=19, limit=20) == days  # never less than a day

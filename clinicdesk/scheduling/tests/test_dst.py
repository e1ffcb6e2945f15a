"""Daylight saving: a 09:00 block is 09:00 on the location's clock on both sides of the spring (2027-03-14)
and autumn (2026-11-01) changes, for slots, bookings and recurring series, in New York and Los Angeles."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from clinicdesk.scheduling.selectors.slots import find_slots
from clinicdesk.scheduling.services.appointments import appointment_book
from clinicdesk.scheduling.services.series import series_create, series_occurrences

from .factories import Clinic

pytestmark = pytest.mark.django_db

WEEK_FROM_NINE = {d: [("09:00", "12:00")] for d in range(7)}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def first_slot_each_day(clinic, start, end) -> list[datetime]:
    slots = find_slots(organization=clinic.organization, appointment_type=clinic.kind, start=start, end=end, limit=200)
    firsts: dict = {}
    for slot in slots:
        firsts.setdefault(slot.starts_at.astimezone(clinic.at(2027, 1, 1).tzinfo).date(), slot.starts_at)
    return sorted(firsts.values())


@pytest.mark.parametrize(("zone", "subdivision", "before", "after"), [
    ("America/New_York", "NY", utc(2027, 3, 13, 14), utc(2027, 3, 14, 13)),
    ("America/Los_Angeles", "CA", utc(2027, 3, 13, 17), utc(2027, 3, 14, 16)),
])  # fmt: skip
@freeze_time("2027-03-01T12:00:00Z")
def test_spring_forward_keeps_nine_oclock(zone, subdivision, before, after):
    clinic = Clinic.build(time_zone=zone, subdivision=subdivision, week=WEEK_FROM_NINE)
    firsts = first_slot_each_day(clinic, clinic.at(2027, 3, 13, 0), clinic.at(2027, 3, 15, 0))
    assert firsts == [before, after]
    assert all(f.astimezone(clinic.at(2027, 1, 1).tzinfo).hour == 9 for f in firsts)


@pytest.mark.parametrize(("zone", "subdivision", "before", "after"), [
    ("America/New_York", "NY", utc(2026, 10, 31, 13), utc(2026, 11, 1, 14)),
    ("America/Los_Angeles", "CA", utc(2026, 10, 31, 16), utc(2026, 11, 1, 17)),
])  # fmt: skip
@freeze_time("2026-10-20T12:00:00Z")
def test_fall_back_keeps_nine_oclock(zone, subdivision, before, after):
    clinic = Clinic.build(time_zone=zone, subdivision=subdivision, week=WEEK_FROM_NINE)
    firsts = first_slot_each_day(clinic, clinic.at(2026, 10, 31, 0), clinic.at(2026, 11, 2, 0))
    assert firsts == [before, after]


@freeze_time("2027-03-01T12:00:00Z")
def test_booking_follows_the_local_clock_across_the_change():
    clinic = Clinic.build(week=WEEK_FROM_NINE)
    # 13:00 UTC is 08:00 on Saturday (EST, before the block) but 09:00 on Monday (EDT).
    with pytest.raises(ValidationError):
        appointment_book(actor=clinic.actor, patient=clinic.patient, provider=clinic.provider, location=clinic.location,
                         appointment_type=clinic.kind, starts_at=utc(2027, 3, 13, 13))
    monday = appointment_book(actor=clinic.actor, patient=clinic.patient, provider=clinic.provider, location=clinic.location,
                              appointment_type=clinic.kind, starts_at=utc(2027, 3, 15, 13))
    assert monday.starts_at == clinic.at(2027, 3, 15, 9)


@freeze_time("2027-03-01T12:00:00Z")
def test_the_missing_hour_has_no_slots():
    clinic = Clinic.build(week={6: [("00:00", "06:00")]})  # Sunday night shift
    slots = find_slots(organization=clinic.organization, appointment_type=clinic.kind, start=clinic.at(2027, 3, 14, 0),
                       end=clinic.at(2027, 3, 15, 0), limit=200)
    local = [s.starts_at.astimezone(clinic.at(2027, 1, 1).tzinfo).strftime("%H:%M") for s in slots]
    assert "01:45" in local and "03:00" in local and not any(t.startswith("02:") for t in local)
    assert len(slots) == 20  # six hours on the clock, five real ones


@freeze_time("2026-10-20T12:00:00Z")
def test_the_repeated_hour_is_offered_twice():
    clinic = Clinic.build(week={6: [("00:00", "03:00")]})
    slots = find_slots(organization=clinic.organization, appointment_type=clinic.kind, start=clinic.at(2026, 11, 1, 0),
                       end=clinic.at(2026, 11, 2, 0), limit=200)
    assert len(slots) == 16  # 00:00–03:00 on a day with 01:00–02:00 twice is four real hours


@pytest.mark.parametrize("zone", ["America/New_York", "America/Los_Angeles"])
def test_weekly_series_stays_at_nine_local(zone):
    with freeze_time("2027-02-20T12:00:00Z"):
        clinic = Clinic.build(time_zone=zone, subdivision="", week=WEEK_FROM_NINE)
        series = series_create(actor=clinic.actor, rrule="FREQ=WEEKLY;COUNT=4", patient=clinic.patient, provider=clinic.provider,
                               location=clinic.location, appointment_type=clinic.kind, starts_at=clinic.at(2027, 3, 1, 9))
    starts = list(series.appointments.order_by("starts_at").values_list("starts_at", flat=True))
    offsets = {s.astimezone(clinic.at(2027, 1, 1).tzinfo).utcoffset() for s in starts}
    assert [s.astimezone(clinic.at(2027, 1, 1).tzinfo).hour for s in starts] == [9, 9, 9, 9]
    assert len(offsets) == 2  # two before the change, two after: the UTC time moved, the local time did not


def test_occurrences_across_the_autumn_change():
    starts = series_occurrences(rrule="FREQ=DAILY;COUNT=3", starts_at=datetime(2026, 10, 31, 13, tzinfo=UTC),
                                time_zone="America/New_York")
    assert starts == [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)]

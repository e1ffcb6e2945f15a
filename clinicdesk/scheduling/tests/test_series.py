"""Recurring series: RFC 5545 rules checked, all-or-nothing booking, and edit scopes this / following / all."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, SeriesEditScope
from clinicdesk.scheduling.models import Appointment, RecurringSeries
from clinicdesk.scheduling.services.appointments import BookingConflict
from clinicdesk.scheduling.services.series import series_cancel, series_create, series_move

from .factories import AppointmentFactory, Clinic

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time("2027-03-10T12:00:00Z"):
        yield


@pytest.fixture
def clinic():
    return Clinic.build()


def create(clinic, rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=4", **kwargs):
    args = {"actor": clinic.actor, "rrule": rrule, "patient": clinic.patient, "provider": clinic.provider,
            "location": clinic.location, "appointment_type": clinic.kind, "starts_at": clinic.at(2027, 3, 15, 9)}
    args.update(kwargs)
    return series_create(**args)


def local_starts(clinic, series_id):
    rows = Appointment.objects.filter(series_id=series_id).order_by("starts_at")
    return [a.starts_at.astimezone(clinic.at(2027, 1, 1).tzinfo).strftime("%m-%d %H:%M") for a in rows]


def test_books_every_occurrence(clinic):
    series = create(clinic)
    assert local_starts(clinic, series.pk) == ["03-15 09:00", "03-22 09:00", "03-29 09:00", "04-05 09:00"]
    first = series.appointments.order_by("starts_at").first()
    assert first.recurrence_id == first.starts_at
    assert series.time_zone == "America/New_York" and series.rrule == "FREQ=WEEKLY;BYDAY=MO;COUNT=4"


@pytest.mark.parametrize("rule", ["RRULE:FREQ=WEEKLY;UNTIL=20270405T235959Z", "FREQ=WEEKLY;UNTIL=20270405"])
def test_until_in_utc_or_local(clinic, rule):
    series = create(clinic, rrule=rule)
    assert len(local_starts(clinic, series.pk)) == 4


@pytest.mark.parametrize("rule", [
    "", "nonsense", "FREQ=WEEKLY", "FREQ=HOURLY;COUNT=3", "FREQ=WEEKLY;COUNT=abc", "FREQ=WEEKLY;BYDAY=XX;COUNT=2",
    "FREQ=DAILY;COUNT=500", "FREQ=WEEKLY;COUNT=2\nRRULE:FREQ=DAILY;COUNT=2", "FREQ=WEEKLY;COUNT=2;X-NAME=1",
    "FREQ=YEARLY;COUNT=5", "FREQ=WEEKLY;UNTIL=20270101;COUNT=2", "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2;COUNT=2",
])  # fmt: skip
def test_invalid_rules_name_the_rrule(clinic, rule):
    with pytest.raises(ValidationError) as caught:
        create(clinic, rrule=rule)
    assert "rrule" in caught.value.message_dict
    assert not RecurringSeries.objects.exists() and not Appointment.objects.exists()


def test_one_taken_date_books_nothing_and_names_it(clinic):
    AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                       starts_at=clinic.at(2027, 3, 29, 9))
    with pytest.raises(BookingConflict) as caught:
        create(clinic)
    messages = caught.value.message_dict["occurrences"]
    assert len(messages) == 1 and messages[0].startswith("Mon Mar 29, 2027 09:00")
    assert Appointment.objects.count() == 1 and not RecurringSeries.objects.exists()


def test_a_closed_date_is_a_400_not_a_409(clinic):
    with pytest.raises(ValidationError) as caught:
        create(clinic, rrule="FREQ=DAILY;COUNT=7")  # runs into Saturday and Sunday
    assert not isinstance(caught.value, BookingConflict)
    assert len(caught.value.message_dict["occurrences"]) == 2


def test_a_wrong_patient_is_said_once(clinic):
    with pytest.raises(ValidationError) as caught:
        create(clinic, patient=PatientFactory())
    assert caught.value.message_dict == {"patient": ["No such patient."]}


def test_move_this_one_only(clinic):
    series = create(clinic)
    second = series.appointments.order_by("starts_at")[1]
    moved = series_move(actor=clinic.actor, appointment=second, scope=SeriesEditScope.THIS, starts_at=clinic.at(2027, 3, 23, 10))
    assert [a.pk for a in moved] == [second.pk]
    assert local_starts(clinic, series.pk) == ["03-15 09:00", "03-23 10:00", "03-29 09:00", "04-05 09:00"]


def test_move_this_and_following_shifts_the_local_time_and_splits_the_series(clinic):
    series = create(clinic)
    third = series.appointments.order_by("starts_at")[2]
    moved = series_move(actor=clinic.actor, appointment=third, scope=SeriesEditScope.FOLLOWING,
                        starts_at=clinic.at(2027, 3, 30, 14))
    assert len(moved) == 2
    assert local_starts(clinic, series.pk) == ["03-15 09:00", "03-22 09:00"]
    new_series = moved[0].series_id
    assert new_series != series.pk
    assert local_starts(clinic, new_series) == ["03-30 14:00", "04-06 14:00"]


def test_move_all_later_in_the_day(clinic):
    series = create(clinic)
    first = series.appointments.order_by("starts_at")[0]
    series_move(actor=clinic.actor, appointment=first, scope=SeriesEditScope.ALL, starts_at=clinic.at(2027, 3, 15, 9, 15))
    assert local_starts(clinic, series.pk) == ["03-15 09:15", "03-22 09:15", "03-29 09:15", "04-05 09:15"]


def test_move_all_by_a_week_does_not_trip_over_itself(clinic):
    series = create(clinic)
    first = series.appointments.order_by("starts_at")[0]
    series_move(actor=clinic.actor, appointment=first, scope=SeriesEditScope.ALL, starts_at=clinic.at(2027, 3, 22, 9))
    assert local_starts(clinic, series.pk) == ["03-22 09:00", "03-29 09:00", "04-05 09:00", "04-12 09:00"]


def test_a_move_that_fails_for_one_moves_none(clinic):
    series = create(clinic)
    AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                       starts_at=clinic.at(2027, 4, 5, 10))
    first = series.appointments.order_by("starts_at")[0]
    with pytest.raises(BookingConflict) as caught:
        series_move(actor=clinic.actor, appointment=first, scope=SeriesEditScope.ALL, starts_at=clinic.at(2027, 3, 15, 10))
    assert caught.value.message_dict["occurrences"][0].startswith("Mon Apr 5, 2027 10:00")
    assert local_starts(clinic, series.pk) == ["03-15 09:00", "03-22 09:00", "03-29 09:00", "04-05 09:00"]


def test_cancel_scopes(clinic):
    series = create(clinic)
    rows = list(series.appointments.order_by("starts_at"))
    assert len(series_cancel(actor=clinic.actor, appointment=rows[0], scope=SeriesEditScope.THIS, reason="Away")) == 1
    assert len(series_cancel(actor=clinic.actor, appointment=rows[2], scope=SeriesEditScope.FOLLOWING, reason="Done")) == 2
    statuses = list(series.appointments.order_by("starts_at").values_list("status", flat=True))
    assert statuses == ["cancelled", "scheduled", "cancelled", "cancelled"]
    assert len(series_cancel(actor=clinic.actor, appointment=rows[1], scope=SeriesEditScope.ALL, reason="Moved away")) == 1
    assert not series.appointments.filter(status=AppointmentStatus.SCHEDULED).exists()


def test_unknown_scope(clinic):
    series = create(clinic)
    with pytest.raises(ValidationError) as caught:
        series_cancel(actor=clinic.actor, appointment=series.appointments.first(), scope="some", reason="x")
    assert "scope" in caught.value.message_dict


def test_naive_first_start(clinic):
    with pytest.raises(ValidationError) as caught:
        create(clinic, starts_at=datetime(2027, 3, 15, 9))
    assert "starts_at" in caught.value.message_dict
    with pytest.raises(ValidationError):
        create(clinic, starts_at=datetime(2027, 3, 15, 9, tzinfo=UTC))  # 05:00 in New York: outside hours

"""Availability: the engine's windows, and the setup services (types, templates, exceptions, blocking a day,
location settings) with their refusals."""

from datetime import date, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from freezegun import freeze_time

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory, OrganizationFactory, UserFactory
from clinicdesk.scheduling.choices import AppointmentStatus, ExceptionKind
from clinicdesk.scheduling.models import AppointmentType, AvailabilityTemplate, ScheduleException
from clinicdesk.scheduling.selectors.availability import (
    availability_index,
    provider_availability,
    provider_day_schedule,
)
from clinicdesk.scheduling.services import availability as setup

from .factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    AvailabilityTemplateFactory,
    Clinic,
    LocationScheduleFactory,
    ProviderFactory,
    ScheduleExceptionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time("2027-03-10T12:00:00Z"):
        yield


@pytest.fixture
def clinic():
    return Clinic.build()


@pytest.fixture
def manager(clinic):
    return UserFactory(organization=clinic.organization, role=Role.OFFICE_MANAGER)


def windows(clinic, day):
    index = availability_index(organization_id=clinic.organization.pk, start=clinic.at(*day, 0),
                               end=clinic.at(*day, 0) + timedelta(days=1))
    return [(a.astimezone(clinic.at(2027, 1, 1).tzinfo).strftime("%H:%M"), b.astimezone(clinic.at(2027, 1, 1).tzinfo).strftime("%H:%M"))
            for a, b, _t in index.windows(clinic.provider.pk, clinic.location.pk, clinic.at(*day, 0), clinic.at(*day, 0) + timedelta(days=1))]


def test_windows_subtract_exceptions(clinic, manager):
    assert windows(clinic, (2027, 3, 15)) == [("08:00", "12:00"), ("13:00", "17:00")]
    setup.schedule_exception_create(actor=manager, kind=ExceptionKind.BLOCKED, provider=clinic.provider,
                                    starts_at=clinic.at(2027, 3, 15, 10), ends_at=clinic.at(2027, 3, 15, 14), reason="Meeting")
    assert windows(clinic, (2027, 3, 15)) == [("08:00", "10:00"), ("14:00", "17:00")]


def test_provider_availability_for_the_calendar(clinic):
    found = provider_availability(actor=clinic.actor, start=clinic.at(2027, 3, 15, 0), end=clinic.at(2027, 3, 16, 0))
    assert [(w.provider_id, w.starts_at) for w in found] == [
        (clinic.provider.pk, clinic.at(2027, 3, 15, 8)), (clinic.provider.pk, clinic.at(2027, 3, 15, 13))]
    with pytest.raises(PermissionDenied):
        provider_availability(actor=UserFactory(organization=clinic.organization, role=Role.AUDITOR),
                              start=clinic.at(2027, 3, 15, 0), end=clinic.at(2027, 3, 16, 0))


def test_provider_day_schedule(clinic):
    booked = AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                                starts_at=clinic.at(2027, 3, 15, 9))
    AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                       starts_at=clinic.at(2027, 3, 15, 10), status=AppointmentStatus.CANCELLED)
    day = provider_day_schedule(actor=clinic.actor, provider_id=clinic.provider.pk, day=date(2027, 3, 15))
    assert day["appointments"] == [booked] and len(day["windows"]) == 2


# --- appointment types -----------------------------------------------------------------------------------


def test_type_create_and_update(clinic, manager):
    kind = setup.appointment_type_create(actor=manager, name="Allergy shot", code="allergy", duration_minutes=10, color="#123abc")
    assert kind.organization_id == clinic.organization.pk
    setup.appointment_type_update(actor=manager, appointment_type=kind, duration_minutes=20)
    kind.refresh_from_db()
    assert kind.duration_minutes == 20


@pytest.mark.parametrize(("fields", "field"), [
    ({"code": "dup"}, "code"),
    ({"color": "red"}, "color"),
    ({"duration_minutes": 2}, "duration_minutes"),
    ({"capacity": 0}, "capacity"),
    ({"shoe_size": 9}, "shoe_size"),
    ({"reminder_plan": [{"channel": "sms"}]}, "reminder_plan"),
    ({"reminder_plan": [{"channel": "fax", "hours_before": 24}]}, "reminder_plan"),
    ({"reminder_plan": [{"channel": "sms", "hours_before": 0}]}, "reminder_plan"),
    ({"reminder_plan": [{"channel": "sms", "hours_before": True}]}, "reminder_plan"),
    ({"reminder_plan": [{"channel": "sms", "hours_before": 24, "when": "soon"}]}, "reminder_plan"),
])  # fmt: skip
def test_type_refusals(clinic, manager, fields, field):
    AppointmentTypeFactory(organization=clinic.organization, code="dup")
    values = {"name": "X", "code": "x", "duration_minutes": 15, **fields}
    with pytest.raises(ValidationError) as caught:
        setup.appointment_type_create(actor=manager, **values)
    assert field in caught.value.message_dict


def test_front_desk_cannot_manage_types(clinic):
    with pytest.raises(PermissionDenied):
        setup.appointment_type_create(actor=clinic.actor, name="X", code="x")
    assert not AppointmentType.objects.filter(code="x").exists()


# --- templates -------------------------------------------------------------------------------------------


def test_template_save_replaces_blocks(clinic, manager):
    provider = ProviderFactory(organization=clinic.organization)
    template = setup.availability_template_save(
        actor=manager, provider=provider, location=clinic.location, effective_from=date(2027, 1, 1),
        blocks=[{"weekday": 0, "start_time": "09:00", "end_time": "12:00"}, {"weekday": 2, "start_time": time(13), "end_time": time(15)}],
    )
    assert template.blocks.count() == 2
    setup.availability_template_save(actor=manager, template=template, provider=provider, location=clinic.location,
                                     effective_from=date(2027, 1, 1), blocks=[{"weekday": 4, "start_time": "08:00", "end_time": "10:00"}])
    assert list(template.blocks.values_list("weekday", flat=True)) == [4]
    assert AuditEvent.objects.filter(action="availability.template_changed").exists()


@pytest.mark.parametrize(("blocks", "field"), [
    ([{"weekday": 7, "start_time": "09:00", "end_time": "10:00"}], "blocks"),
    ([{"weekday": 0, "start_time": "10:00", "end_time": "09:00"}], "blocks"),
    ([{"weekday": 0, "start_time": "nine", "end_time": "10:00"}], "blocks"),
    ([{"weekday": 0, "start_time": "09:00", "end_time": "11:00"}, {"weekday": 0, "start_time": "10:00", "end_time": "12:00"}], "blocks"),
])  # fmt: skip
def test_template_refusals(clinic, manager, blocks, field):
    with pytest.raises(ValidationError) as caught:
        setup.availability_template_save(actor=manager, provider=ProviderFactory(organization=clinic.organization),
                                         location=clinic.location, effective_from=date(2027, 1, 1), blocks=blocks)
    assert field in caught.value.message_dict


def test_a_provider_cannot_be_in_two_places_at_once(clinic, manager):
    north = LocationFactory(organization=clinic.organization)
    with pytest.raises(ValidationError) as caught:
        setup.availability_template_save(actor=manager, provider=clinic.provider, location=north, effective_from=date(2027, 1, 1),
                                         blocks=[{"weekday": 0, "start_time": "11:00", "end_time": "14:00"}])
    assert "overlaps" in caught.value.message_dict["blocks"][0]
    setup.availability_template_save(actor=manager, provider=clinic.provider, location=north, effective_from=date(2027, 1, 1),
                                     blocks=[{"weekday": 5, "start_time": "09:00", "end_time": "12:00"}])


def test_template_of_another_practice_or_a_non_provider(clinic, manager):
    with pytest.raises(ValidationError) as caught:
        setup.availability_template_save(actor=manager, provider=UserFactory(organization=clinic.organization, role=Role.BILLER),
                                         location=LocationFactory(organization=OrganizationFactory()), effective_from=date(2027, 1, 1),
                                         blocks=[])
    assert set(caught.value.message_dict) == {"provider", "location"}


def test_template_dates(clinic, manager):
    with pytest.raises(ValidationError) as caught:
        setup.availability_template_save(actor=manager, provider=ProviderFactory(organization=clinic.organization),
                                         location=clinic.location, effective_from=date(2027, 2, 1), effective_to=date(2027, 1, 1),
                                         blocks=[])
    assert "effective_to" in caught.value.message_dict


def test_template_delete(clinic, manager):
    setup.availability_template_delete(actor=manager, template=clinic.template)
    assert not AvailabilityTemplate.objects.exists()


# --- exceptions and blocking a day -------------------------------------------------------------------------


def test_block_a_day_lists_the_patients_to_call(clinic):
    booked = [
        AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                           starts_at=clinic.at(2027, 3, 15, h))
        for h in (8, 9, 16)
    ]
    AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                       starts_at=clinic.at(2027, 3, 15, 10), status=AppointmentStatus.CANCELLED)
    AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location,
                       starts_at=clinic.at(2027, 3, 16, 8))
    exception, affected = setup.provider_day_block(actor=clinic.actor, provider=clinic.provider, day=date(2027, 3, 15),
                                                   reason="Called in sick")
    assert affected == booked
    assert (exception.starts_at, exception.ends_at) == (clinic.at(2027, 3, 15, 0), clinic.at(2027, 3, 16, 0))
    assert exception.kind == ExceptionKind.SICK


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kind": "holiday"}, "kind"),
    ({"provider": None}, "provider"),
    ({"ends_at": "same"}, "ends_at"),
    ({"starts_at": "naive"}, "starts_at"),
    ({"kind": ExceptionKind.EXTRA}, "location"),
])  # fmt: skip
def test_exception_refusals(clinic, kwargs, field):
    values = {"kind": ExceptionKind.VACATION, "provider": clinic.provider, "starts_at": clinic.at(2027, 3, 15, 8),
              "ends_at": clinic.at(2027, 3, 15, 12)}
    values.update(kwargs)
    if values["ends_at"] == "same":
        values["ends_at"] = values["starts_at"]
    if values["starts_at"] == "naive":
        values["starts_at"] = clinic.at(2027, 3, 15, 8).replace(tzinfo=None)
    with pytest.raises(ValidationError) as caught:
        setup.schedule_exception_create(actor=clinic.actor, **values)
    assert field in caught.value.message_dict
    assert not ScheduleException.objects.exists()


def test_billers_cannot_block_time(clinic):
    with pytest.raises(PermissionDenied):
        setup.schedule_exception_create(actor=UserFactory(organization=clinic.organization, role=Role.BILLER),
                                        kind=ExceptionKind.BLOCKED, provider=clinic.provider,
                                        starts_at=clinic.at(2027, 3, 15, 8), ends_at=clinic.at(2027, 3, 15, 9))


# --- location settings -------------------------------------------------------------------------------------


def test_location_settings(clinic, manager):
    schedule = setup.location_schedule_update(actor=manager, location=clinic.location, holiday_country="ca", holiday_subdivision="on",
                                              slot_step_minutes=10)
    assert (schedule.holiday_country, schedule.holiday_subdivision, schedule.slot_step_minutes) == ("CA", "ON", 10)


@pytest.mark.parametrize(("fields", "field"), [
    ({"holiday_country": "ZZ"}, "holiday_country"),
    ({"holiday_subdivision": "XX"}, "holiday_subdivision"),
    ({"slot_step_minutes": 3}, "slot_step_minutes"),
])  # fmt: skip
def test_location_settings_refusals(clinic, manager, fields, field):
    with pytest.raises(ValidationError) as caught:
        setup.location_schedule_update(actor=manager, location=clinic.location, **fields)
    assert field in caught.value.message_dict


def test_a_location_without_settings_gets_them(clinic, manager):
    new = LocationFactory(organization=clinic.organization)
    assert setup.location_schedule_update(actor=manager, location=new, observe_holidays=False).pk
    LocationScheduleFactory(location=new)  # get_or_create: the same row


def test_windows_in_seconds_are_the_windows_rounded_down(clinic, manager):
    """Slot search walks `windows_seconds`: the same windows as `windows()`, with or without exceptions, across
    the change to summer time (2027-03-14), a public holiday (Memorial Day, 2027-05-31) and type-only blocks."""
    import math

    # given: a second provider with exceptions and extra hours, and blocks kept for one type
    kind = AppointmentTypeFactory(organization=clinic.organization)
    other_kind = AppointmentTypeFactory(organization=clinic.organization)
    clinic.template.blocks.get(weekday=2, start_time=time(13)).appointment_types.add(kind)
    busy = ProviderFactory(organization=clinic.organization)
    AvailabilityTemplateFactory(provider=busy, location=clinic.location)
    for kind_, start, end in ((ExceptionKind.VACATION, clinic.at(2027, 3, 16, 11), clinic.at(2027, 3, 18, 10)),
                              (ExceptionKind.EXTRA, clinic.at(2027, 3, 20, 9), clinic.at(2027, 3, 20, 12)),
                              (ExceptionKind.EXTRA, clinic.at(2027, 5, 31, 10), clinic.at(2027, 5, 31, 12))):
        ScheduleExceptionFactory(provider=busy, location=clinic.location, kind=kind_, starts_at=start, ends_at=end)
    start = clinic.at(2027, 3, 8, 7) + timedelta(minutes=7, seconds=13, microseconds=500)
    end = clinic.at(2027, 6, 4, 0)
    index = availability_index(organization_id=clinic.organization.pk, start=start, end=end)

    for provider in (clinic.provider, busy):
        for type_id in (kind.pk, other_kind.pk):
            for lo, hi in ((start, end), (clinic.at(2027, 3, 14, 1), clinic.at(2027, 3, 15, 12, 30)),
                           (clinic.at(2027, 5, 30, 0), clinic.at(2027, 6, 2, 0))):
                # when
                fast = index.windows_seconds(provider.pk, clinic.location.pk, lo, hi, type_id)
                # then
                assert fast == [(math.floor(a.timestamp()), math.floor(b.timestamp()))
                                for a, b, _t in index.windows(provider.pk, clinic.location.pk, lo, hi, type_id)]
                assert fast

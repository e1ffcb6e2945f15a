"""Factories for the schedule. Rows are saved directly (no service, no availability checks);
AppointmentFactory fills the busy window from the type's buffers like the booking service does.

    kind = AppointmentTypeFactory(organization=org, duration_minutes=20)
    template = AvailabilityTemplateFactory(provider=dr, location=loc)       # Mon–Fri 08:00–12:00, 13:00–17:00
    with_blocks(template, {0: [("09:00", "12:00")], 2: [("13:00", "17:00")]})  # or replace the blocks
    AppointmentFactory(provider=dr, location=loc, appointment_type=kind, starts_at=...)
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import factory
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory, OrganizationFactory, UserFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, BookingChannel, ExceptionKind
from clinicdesk.scheduling.models import (
    Appointment,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityTemplate,
    Equipment,
    LocationSchedule,
    ScheduleException,
)

# The usual office week: Monday to Friday, a morning and an afternoon block with lunch between.
OFFICE_WEEK: dict[int, list[tuple[str, str]]] = {day: [("08:00", "12:00"), ("13:00", "17:00")] for day in range(5)}


def _time(value: str | time) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def with_blocks(template: AvailabilityTemplate, week: dict[int, list[tuple[str, str]]], *, replace: bool = True,
                appointment_types=()) -> AvailabilityTemplate:
    """Give `template` these blocks ({weekday: [(start, end), ...]}, 0 = Monday); replaces existing ones by default."""
    if replace:
        template.blocks.all().delete()
    for weekday, spans in week.items():
        for start, end in spans:
            block = AvailabilityBlock.objects.create(template=template, weekday=weekday, start_time=_time(start), end_time=_time(end))
            if appointment_types:
                block.appointment_types.set(appointment_types)
    return template


class LocationScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationSchedule
        django_get_or_create = ("location",)

    location = factory.SubFactory(LocationFactory)
    holiday_country = "US"
    holiday_subdivision = "NY"
    slot_step_minutes = 15


class ProviderFactory(UserFactory):
    role = Role.CLINICIAN
    title = "MD"


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentType

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Visit type {n}")
    code = factory.Sequence(lambda n: f"type-{n}")
    duration_minutes = 15
    color = "#0b5cad"


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Equipment

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"ECG cart {n}")
    quantity = 1


class AvailabilityTemplateFactory(factory.django.DjangoModelFactory):
    """A provider's usual week at a location; gets OFFICE_WEEK blocks unless `blocks=` says otherwise ({} for none)."""

    class Meta:
        model = AvailabilityTemplate
        skip_postgeneration_save = True

    provider = factory.SubFactory(ProviderFactory)
    organization = factory.LazyAttribute(lambda t: t.provider.organization)
    location = factory.SubFactory(LocationFactory, organization=factory.SelfAttribute("..organization"))
    name = "Usual week"
    effective_from = date(2020, 1, 1)
    effective_to = None

    @factory.post_generation
    def blocks(obj, create, extracted, **kwargs):
        if create:
            with_blocks(obj, OFFICE_WEEK if extracted is None else extracted, replace=False)


class ScheduleExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduleException

    provider = factory.SubFactory(ProviderFactory)
    organization = factory.LazyAttribute(lambda e: e.provider.organization if e.provider else e.location.organization)
    location = None
    kind = ExceptionKind.VACATION
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda e: e.starts_at + timedelta(days=1))
    reason = "Away"


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment saved as is (no rule checks), with the busy window the service would set."""

    class Meta:
        model = Appointment
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    provider = factory.SubFactory(ProviderFactory, organization=factory.SelfAttribute("..organization"))
    location = factory.SubFactory(LocationFactory, organization=factory.SelfAttribute("..organization"))
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    appointment_type = factory.SubFactory(AppointmentTypeFactory, organization=factory.SelfAttribute("..organization"))
    starts_at = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0))
    ends_at = factory.LazyAttribute(lambda a: a.starts_at + timedelta(minutes=a.appointment_type.duration_minutes))
    busy_from = factory.LazyAttribute(lambda a: a.starts_at - timedelta(minutes=a.appointment_type.buffer_before_minutes))
    busy_until = factory.LazyAttribute(lambda a: a.ends_at + timedelta(minutes=a.appointment_type.buffer_after_minutes))
    exclusive = factory.LazyAttribute(lambda a: a.appointment_type.capacity == 1)
    status = AppointmentStatus.SCHEDULED
    channel = BookingChannel.PHONE


def aware(tz: str, *args: int) -> datetime:
    """datetime(*args) as wall-clock time in `tz`, e.g. aware("America/New_York", 2027, 3, 15, 9)."""
    import zoneinfo

    return datetime(*args, tzinfo=zoneinfo.ZoneInfo(tz))


class Clinic:
    """A small practice ready to book: one location (New York by default) with settings, a provider with the
    usual office week there, a front-desk actor, a patient and a 15-minute follow-up type.

        clinic = Clinic.build(org)         # inside a test with the db
        clinic.at(2027, 3, 15, 9)          # 09:00 on the location's wall clock
    """

    def __init__(self, **parts) -> None:
        self.__dict__.update(parts)

    @classmethod
    def build(cls, organization=None, *, time_zone: str = "America/New_York", subdivision: str = "NY", week=None) -> Clinic:
        organization = organization or OrganizationFactory()
        location = LocationFactory(organization=organization, time_zone=time_zone)
        schedule = LocationScheduleFactory(location=location, holiday_subdivision=subdivision)
        provider = ProviderFactory(organization=organization, first_name="Wei", last_name="Chen")
        template = AvailabilityTemplateFactory(provider=provider, location=location, blocks=week)
        actor = UserFactory(organization=organization, role=Role.FRONT_DESK)
        patient = PatientFactory(organization=organization)
        kind = AppointmentTypeFactory(organization=organization, name="Follow-up", code=f"fu-{location.pk}", duration_minutes=15)
        return cls(
            organization=organization, location=location, schedule=schedule, provider=provider, template=template,
            actor=actor, patient=patient, kind=kind, time_zone=time_zone,
        )

    def at(self, *args: int) -> datetime:
        return aware(self.time_zone, *args)

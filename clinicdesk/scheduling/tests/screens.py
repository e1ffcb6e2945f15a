"""A front desk ready for the calendar, day sheet and flow board tests: one New York location with two providers
working the usual office week, two visit types, a few patients and a front-desk user.

    desk = Desk.build(org)
    desk.at(2027, 3, 15, 9)        # 09:00 on the location's wall clock
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
"""

from __future__ import annotations

from datetime import date, datetime

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory, RoomFactory, UserFactory
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import AppointmentStatus
from .factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    AvailabilityTemplateFactory,
    LocationScheduleFactory,
    ProviderFactory,
    aware,
)

NOW = "2027-03-10T12:00:00Z"  # a Wednesday, 07:00 in New York
MONDAY = date(2027, 3, 15)  # a Monday with no public holiday in New York
TODAY_NOW = "2027-03-15T14:00:00Z"  # 10:00 in New York on MONDAY


class Desk:
    def __init__(self, **parts) -> None:
        self.__dict__.update(parts)

    @classmethod
    def build(cls, organization, *, time_zone: str = "America/New_York") -> Desk:
        location = LocationFactory(organization=organization, name="Riverside Main", code="main", time_zone=time_zone)
        LocationScheduleFactory(location=location)
        dr_chen = ProviderFactory(organization=organization, first_name="Wei", last_name="Chen")
        dr_osei = ProviderFactory(organization=organization, first_name="Ama", last_name="Osei")
        for provider in (dr_chen, dr_osei):
            AvailabilityTemplateFactory(provider=provider, location=location)
        follow_up = AppointmentTypeFactory(organization=organization, name="Follow-up", code="follow-up",
                                           duration_minutes=15, color="#1e6b35")
        physical = AppointmentTypeFactory(organization=organization, name="New patient physical", code="np-physical",
                                          duration_minutes=45, color="#f2c14e")
        room = RoomFactory(location=location, name="Exam 1")
        ana = PatientFactory(organization=organization, first_name="Ana", last_name="Alvarez", date_of_birth=date(1984, 3, 7))
        luis = PatientFactory(organization=organization, first_name="Luis", last_name="Alvarez", date_of_birth=date(1979, 11, 20))
        maria = PatientFactory(organization=organization, first_name="Maria", last_name="Chen", date_of_birth=date(1990, 1, 2))
        desk_user = UserFactory(organization=organization, role=Role.FRONT_DESK,
                                first_name="Maria", last_name="Front")
        return cls(organization=organization, location=location, time_zone=time_zone, dr_chen=dr_chen, dr_osei=dr_osei,
                   follow_up=follow_up, physical=physical, room=room, ana=ana, luis=luis, maria=maria, user=desk_user)

    def at(self, *args: int) -> datetime:
        return aware(self.time_zone, *args)

    def appointment(self, provider, patient, starts_at: datetime, *, kind=None, status=AppointmentStatus.SCHEDULED, **extra):
        """An appointment saved as is (no rule checks), like one booked earlier."""
        extra.setdefault("location", self.location)
        return AppointmentFactory(
            organization=self.organization, provider=provider, patient=patient,
            appointment_type=kind or self.follow_up, starts_at=starts_at, status=status, **extra,
        )


def a_working_day(*, days_ahead: int = 2, tz_name: str = "America/New_York") -> date:
    """A Tuesday to Thursday at least `days_ahead` days from today that is not a New York public holiday:
    a day on which Desk's providers have their usual hours, for browser tests that run on any date."""
    import zoneinfo
    from datetime import timedelta

    import holidays
    from django.utils import timezone

    day = timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name)).date() + timedelta(days=days_ahead)
    off = holidays.country_holidays("US", subdiv="NY", years=[day.year, day.year + 1])
    while day.weekday() not in (1, 2, 3) or day in off:
        day += timedelta(days=1)
    return day

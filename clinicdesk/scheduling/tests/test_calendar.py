"""The calendar: its selectors (events of a range, the multi-provider day, a patient's appointments), its JSON
endpoints, moving by drag and booking from an empty slot through the booking service, and the patient page tab."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory, UserFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, ExceptionKind
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.selectors.calendar import (
    calendar_events,
    calendar_location,
    calendar_providers,
    day_view,
    patient_appointments,
    patient_next_appointment,
)
from clinicdesk.scheduling.tests.factories import AppointmentTypeFactory, ScheduleExceptionFactory
from clinicdesk.scheduling.views.calendar import day_json

from .screens import MONDAY, NOW, Desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(org):
    # The URLs (and the API's schemas with them) load outside freezegun's clock: pydantic refuses its fake dates.
    reverse("scheduling:calendar")
    return Desk.build(org)


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


# --- selectors -------------------------------------------------------------------------------------------------


def test_calendar_events_are_the_range_at_the_location_and_nothing_of_another_practice(desk, other_org):
    # given
    inside = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    cancelled = desk.appointment(desk.dr_osei, desk.luis, desk.at(2027, 3, 15, 10), status=AppointmentStatus.CANCELLED)
    desk.appointment(desk.dr_chen, desk.maria, desk.at(2027, 3, 16, 9))  # the next day
    elsewhere = LocationFactory(organization=desk.organization)
    desk.appointment(desk.dr_chen, desk.maria, desk.at(2027, 3, 15, 14), location=elsewhere)
    other = Desk.build(other_org)
    other.appointment(other.dr_chen, other.ana, other.at(2027, 3, 15, 9))
    start, end = desk.at(2027, 3, 15, 0), desk.at(2027, 3, 16, 0)
    # when
    found = calendar_events(actor=desk.user, start=start, end=end, location=desk.location)
    # then
    assert [a.pk for a in found] == [inside.pk, cancelled.pk]
    assert [a.pk for a in calendar_events(actor=desk.user, start=start, end=end, location=desk.location,
                                           provider_ids=[desk.dr_osei.pk])] == [cancelled.pk]
    assert calendar_events(actor=desk.user, start=start, end=end, location=desk.location, include_cancelled=False) == [inside]


def test_calendar_events_refuses_a_backwards_or_overlong_range(desk):
    start = desk.at(2027, 3, 15, 0)
    with pytest.raises(ValidationError) as caught:
        calendar_events(actor=desk.user, start=start, end=start - timedelta(hours=1))
    assert "end" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        calendar_events(actor=desk.user, start=start, end=start + timedelta(days=90))
    assert "end" in caught.value.message_dict


def test_calendar_events_query_count_does_not_grow_with_appointments(desk):
    start, end = desk.at(2027, 3, 15, 0), desk.at(2027, 3, 22, 0)

    seen = []

    def run():
        events = calendar_events(actor=desk.user, start=start, end=end, location=desk.location)
        for a in events:  # what the JSON reads
            seen.append((a.patient.last_name, a.provider.last_name, a.appointment_type.color, a.room, a.location.time_zone))

    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    run()  # the user's locations are read once and kept
    few = _queries(run)
    assert few == 1
    for day in range(15, 20):
        for hour in (9, 10, 11, 14, 15):
            desk.appointment(desk.dr_osei, PatientFactory(organization=desk.organization), desk.at(2027, 3, day, hour), room=desk.room)
    assert _queries(run) == few


def test_calendar_respects_the_users_locations(desk):
    elsewhere = LocationFactory(organization=desk.organization, name="Hillside")
    desk.user.locations.set([elsewhere])
    desk.user = type(desk.user).objects.get(pk=desk.user.pk)  # forget the cached location list
    assert calendar_location(actor=desk.user) == elsewhere
    with pytest.raises(ValidationError) as caught:
        calendar_location(actor=desk.user, location_id=desk.location.pk)
    assert "location" in caught.value.message_dict
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    assert calendar_events(actor=desk.user, start=desk.at(2027, 3, 15, 0), end=desk.at(2027, 3, 16, 0)) == []


def test_providers_are_the_clinicians_and_those_with_hours_at_the_location(desk):
    nurse = UserFactory(organization=desk.organization, role=Role.NURSE, last_name="Nurse")
    biller = UserFactory(organization=desk.organization, role=Role.BILLER)
    names = [p.last_name for p in calendar_providers(actor=desk.user, location=desk.location)]
    assert names == ["Chen", "Osei"]
    assert nurse.last_name not in names and biller.last_name not in names


@freeze_time(NOW)
def test_day_view_has_a_column_per_provider_with_hours_time_away_and_appointments(desk):
    # given Dr. Chen is sick in the afternoon, Dr. Osei has two visits, one cancelled
    ScheduleExceptionFactory(provider=desk.dr_chen, kind=ExceptionKind.SICK,
                             starts_at=desk.at(2027, 3, 15, 13), ends_at=desk.at(2027, 3, 15, 17))
    first = desk.appointment(desk.dr_osei, desk.ana, desk.at(2027, 3, 15, 9))
    second = desk.appointment(desk.dr_osei, desk.luis, desk.at(2027, 3, 15, 9, 30), status=AppointmentStatus.CANCELLED)
    # when
    view = day_view(actor=desk.user, day=MONDAY, location=desk.location)
    # then
    chen, osei = view.columns
    assert (chen.provider, osei.provider) == (desk.dr_chen, desk.dr_osei)
    local = [(w.starts_at.astimezone(view.time_zone).strftime("%H:%M"), w.ends_at.astimezone(view.time_zone).strftime("%H:%M"))
             for w in chen.open_windows]
    assert local == [("08:00", "12:00")]
    assert [e.kind for e in chen.away] == [ExceptionKind.SICK]
    assert len(osei.open_windows) == 2
    assert [a.public_id for a in osei.appointments] == [first.public_id, second.public_id]
    assert [a.id for a in osei.live_appointments] == [first.pk]
    line = osei.appointments[0]
    assert (line.patient.last_name, line.appointment_type, line.provider, line.get_status_display()) == (
        "Alvarez", desk.follow_up, desk.dr_osei, "Scheduled")
    assert view.appointment_count == 2


@freeze_time(NOW)
def test_day_view_query_count_does_not_grow_with_appointments(desk):
    """Counted with what reads it: the calendar's JSON and the day sheet's HTML (a field the selector did not load
    would cost a query per row)."""

    def run():
        view = day_view(actor=desk.user, day=MONDAY, location=desk.location)
        day_json(view, can_book=True)
        render_to_string("scheduling/day_sheet.html", {
            "view": view, "time_zone": "America/New_York", "printed_at": view.starts_at,
            "columns": [{"column": c, "appointments": c.appointments, "cancelled": 0} for c in view.columns],
        })

    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9), room=desk.room)
    run()  # the user's locations are read once and kept
    few = _queries(run)
    assert few <= 9
    quick = AppointmentTypeFactory(organization=desk.organization, name="Flu shot", duration_minutes=10)
    for i in range(24):
        desk.appointment(desk.dr_osei if i % 2 else desk.dr_chen, PatientFactory(organization=desk.organization),
                         desk.at(2027, 3, 15, 8) + timedelta(minutes=20 * i), room=desk.room if i % 3 else None,
                         kind=quick if i % 4 else desk.follow_up, notes="Fasting")
    assert _queries(run) == few


def test_day_view_shows_one_local_day_across_the_spring_clock_change(org):
    desk = Desk.build(org)
    late = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 14, 23, 30))  # Sunday night, after the change
    view = day_view(actor=desk.user, day=late.starts_at.astimezone(desk.at(2027, 1, 1).tzinfo).date(), location=desk.location)
    assert view.ends_at.astimezone(UTC) - view.starts_at.astimezone(UTC) == timedelta(hours=23)
    assert [a.id for c in view.columns for a in c.appointments] == [late.pk]


def test_patient_appointments_are_upcoming_and_past(desk):
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 1, 4, 9), status=AppointmentStatus.COMPLETED)
    soon = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    later = desk.appointment(desk.dr_osei, desk.ana, desk.at(2027, 4, 5, 9))
    desk.appointment(desk.dr_osei, desk.ana, desk.at(2027, 3, 12, 9), status=AppointmentStatus.CANCELLED)
    now = desk.at(2027, 3, 10, 9)
    found = patient_appointments(actor=desk.user, patient=desk.ana, now=now)
    assert found.upcoming == [soon, later]
    assert [a.status for a in found.past] == [AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED]
    assert patient_next_appointment(actor=desk.user, patient=desk.ana, now=now) == soon


# --- the page and its JSON -----------------------------------------------------------------------------------


def test_the_calendar_page_gives_fullcalendar_its_style_nonce(client_as, desk):
    response = client_as(desk.user).get(reverse("scheduling:calendar"))
    assert response.status_code == 200
    html = response.content.decode()
    nonce = re.search(r'<meta name="csp-nonce" content="([^"]+)">', html).group(1)
    style_src = next(p for p in response["Content-Security-Policy"].split(";") if p.strip().startswith("style-src"))
    assert f"'nonce-{nonce}'" in style_src and "unsafe-inline" not in style_src
    policy = {part.split()[0]: part.split()[1:] for part in response["Content-Security-Policy"].split(";") if part.strip()}
    assert policy["script-src"] == ["'self'"]  # scripts as strict as everywhere
    assert policy["font-src"] == ["'self'", "data:"]  # FullCalendar's icon font
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "vendor/fullcalendar.min.js" in html and 'data-time-zone="America/New_York"' in html


def test_pages_without_the_calendar_send_no_nonce(client_as, desk):
    response = client_as(desk.user).get(reverse("patients:list"))
    assert "nonce-" not in response["Content-Security-Policy"]


def test_the_calendar_page_refuses_an_unknown_location_with_a_message(client_as, desk):
    response = client_as(desk.user).get(reverse("scheduling:calendar"), {"location": "99999", "date": "2027-02-30"})
    assert response.status_code == 400
    assert "Unknown location" in response.content.decode()


def test_the_navigation_shows_calendar_and_flow_board_to_the_desk_only(client_as, desk, auditor):
    html = client_as(desk.user).get(reverse("home")).content.decode()
    assert reverse("scheduling:calendar") in html and reverse("scheduling:flow_board") in html
    html = client_as(auditor).get(reverse("home")).content.decode()
    assert reverse("scheduling:calendar") not in html


def _events(client, desk, **params):
    query = {"location": desk.location.pk, "start": "2027-03-15T00:00:00", "end": "2027-03-16T00:00:00", **params}
    return client.get(reverse("scheduling:calendar_events"), query)


def test_events_come_as_wall_clock_times_of_the_location_coloured_by_type(client_as, desk, other_org):
    # given
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9), room=desk.room, notes="Bring list")
    desk.appointment(desk.dr_osei, desk.luis, desk.at(2027, 3, 15, 10), status=AppointmentStatus.NO_SHOW)
    other = Desk.build(other_org)
    other.appointment(other.dr_chen, other.ana, other.at(2027, 3, 15, 9))
    # when
    response = _events(client_as(desk.user), desk)
    # then
    assert response.status_code == 200
    first, second = response.json()
    assert first["id"] == appointment.public_id
    assert (first["start"], first["end"]) == ("2027-03-15T09:00:00", "2027-03-15T09:15:00")
    assert first["title"] == "Alvarez, Ana" and first["resourceId"] == str(desk.dr_chen.pk)
    assert first["backgroundColor"] == "#1e6b35" and first["textColor"] == "#ffffff"
    assert first["extendedProps"]["room"] == "Exam 1" and first["extendedProps"]["notes"] == "Bring list"
    assert first["editable"] is True and first["extendedProps"]["moveUrl"]
    assert first["url"] == reverse("scheduling:appointment", kwargs={"appointment_id": appointment.public_id})
    assert "status-no_show" in second["classNames"] and second["editable"] is False


def test_events_accept_times_with_an_offset(client_as, desk):
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    response = _events(client_as(desk.user), desk, start="2027-03-15T13:00:00Z", end="2027-03-15T14:00:00+00:00")
    assert [e["start"] for e in response.json()] == ["2027-03-15T09:00:00"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"start": ""}, "start"),
        ({"end": "2027-02-30T00:00:00"}, "end"),
        ({"end": "2027-03-14T00:00:00"}, "end"),
        ({"end": "2027-09-01T00:00:00"}, "end"),
        ({"start": "0001-01-01T00:00:00"}, "start"),
        ({"location": "nine"}, "location"),
        ({"location": "99999999999999999999999"}, "location"),
        ({"provider": "1;DROP"}, "provider"),
    ],
)
def test_events_refuse_bad_input_naming_the_field(client_as, desk, params, field):
    response = _events(client_as(desk.user), desk, **params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_events_of_another_practices_location_are_refused(client_as, desk, other_org):
    other = Desk.build(other_org)
    other.appointment(other.dr_chen, other.ana, other.at(2027, 3, 15, 9))
    response = _events(client_as(desk.user), desk, location=other.location.pk)
    assert response.status_code == 400 and "location" in response.json()["errors"]


def test_resources_are_the_providers_of_the_location(client_as, desk):
    response = client_as(desk.user).get(reverse("scheduling:calendar_resources"), {"location": desk.location.pk})
    assert response.json() == [{"id": str(desk.dr_chen.pk), "title": str(desk.dr_chen), "order": 0},
                               {"id": str(desk.dr_osei.pk), "title": str(desk.dr_osei), "order": 1}]
    only = client_as(desk.user).get(reverse("scheduling:calendar_resources"), {"location": desk.location.pk, "provider": desk.dr_osei.pk})
    assert [r["id"] for r in only.json()] == [str(desk.dr_osei.pk)]


@freeze_time(NOW)
def test_the_day_json_has_resources_open_hours_time_away_and_appointments(client_as, desk):
    ScheduleExceptionFactory(provider=desk.dr_chen, kind=ExceptionKind.SICK,
                             starts_at=desk.at(2027, 3, 15, 0), ends_at=desk.at(2027, 3, 16, 0), reason="Flu")
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    response = client_as(desk.user).get(
        reverse("scheduling:calendar_day"), {"location": desk.location.pk, "start": "2027-03-15T00:00:00", "end": "2027-03-16T00:00:00"}
    )
    data = response.json()
    assert [r["id"] for r in data["resources"]] == [str(desk.dr_chen.pk), str(desk.dr_osei.pk)]
    away = [e for e in data["events"] if "away" in e.get("classNames", [])]
    assert away and away[0]["title"] == "Sick day" and away[0]["resourceId"] == str(desk.dr_chen.pk)
    open_osei = [e for e in data["events"] if "open-window" in e.get("classNames", []) and e["resourceId"] == str(desk.dr_osei.pk)]
    assert [(e["start"], e["end"]) for e in open_osei] == [("2027-03-15T08:00:00", "2027-03-15T12:00:00"),
                                                          ("2027-03-15T13:00:00", "2027-03-15T17:00:00")]
    assert any(e.get("id") for e in data["events"])


def test_the_patient_lookup_uses_patient_search(client_as, desk):
    response = client_as(desk.user).get(reverse("scheduling:calendar_patients"), {"q": "alv"})
    assert {p["name"] for p in response.json()} == {"Alvarez, Ana", "Alvarez, Luis"}
    assert {p["dob"] for p in response.json()} == {"03/07/1984", "11/20/1979"}
    assert client_as(desk.user).get(reverse("scheduling:calendar_patients"), {"q": "a"}).json() == []


@pytest.mark.parametrize("name", ["scheduling:calendar", "scheduling:calendar_events", "scheduling:calendar_resources",
                                  "scheduling:calendar_day", "scheduling:calendar_patients"])
def test_the_auditor_cannot_open_the_calendar(client_as, auditor, name):
    assert client_as(auditor).get(reverse(name)).status_code == 403


# --- moving by drag ------------------------------------------------------------------------------------------


def _move(client, appointment, **data):
    return client.post(reverse("scheduling:calendar_move", kwargs={"appointment_id": appointment.public_id}), data)


@freeze_time(NOW)
def test_dragging_moves_the_appointment_through_the_booking_service(client_as, desk):
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    response = _move(client_as(desk.user), appointment, start="2027-03-16T10:00:00", end="2027-03-16T10:30:00",
                     resource=str(desk.dr_osei.pk))
    assert response.status_code == 200, response.content
    appointment.refresh_from_db()
    assert appointment.starts_at == desk.at(2027, 3, 16, 10) and appointment.ends_at == desk.at(2027, 3, 16, 10, 30)
    assert appointment.provider == desk.dr_osei
    assert response.json()["event"]["start"] == "2027-03-16T10:00:00"


@freeze_time(NOW)
def test_moving_onto_a_taken_time_is_a_409_and_changes_nothing(client_as, desk):
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 3, 15, 10))
    response = _move(client_as(desk.user), appointment, start="2027-03-15T10:05:00")
    assert response.status_code == 409
    assert response.json()["message"]
    appointment.refresh_from_db()
    assert appointment.starts_at == desk.at(2027, 3, 15, 9)


@freeze_time(NOW)
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"start": "2027-03-15T12:30:00"}, "starts_at"),  # lunch: outside availability
        ({"start": "2027-03-09T09:00:00"}, "starts_at"),  # in the past
        ({"start": "2027-03-15T09:00:00", "end": "2027-03-15T08:00:00"}, "ends_at"),
        ({"start": "next tuesday"}, "start"),
        ({"start": "2027-13-45T99:00:00"}, "start"),
        ({}, "start"),
        ({"start": "2027-03-15T10:00:00", "resource": "abc"}, "resource"),
    ],
)
def test_a_refused_move_is_a_400_naming_the_field(client_as, desk, data, field):
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    response = _move(client_as(desk.user), appointment, **data)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    appointment.refresh_from_db()
    assert appointment.starts_at == desk.at(2027, 3, 15, 9)


@freeze_time(NOW)
def test_moving_to_a_provider_of_another_practice_is_refused(client_as, desk, other_org):
    other = Desk.build(other_org)
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    response = _move(client_as(desk.user), appointment, start="2027-03-15T10:00:00", resource=str(other.dr_chen.pk))
    assert response.status_code == 400 and "resource" in response.json()["errors"]


def test_another_practices_appointment_is_not_found(client_as, desk, other_org):
    other = Desk.build(other_org)
    theirs = other.appointment(other.dr_chen, other.ana, other.at(2027, 3, 15, 9))
    assert _move(client_as(desk.user), theirs, start="2027-03-15T10:00:00").status_code == 404


def test_moving_needs_the_booking_permission(client_as, desk, make_user):
    biller = make_user(Role.BILLER)
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    assert _move(client_as(biller), appointment, start="2027-03-15T10:00:00").status_code == 403
    assert client_as(desk.user).get(reverse("scheduling:calendar_move", kwargs={"appointment_id": appointment.public_id})).status_code == 405


# --- booking from an empty slot ------------------------------------------------------------------------------


def _book(client, desk, **overrides):
    data = {
        "patient": desk.ana.public_id, "appointment_type": desk.follow_up.pk, "provider": desk.dr_chen.pk,
        "location": desk.location.pk, "start": "2027-03-15T09:00:00", "notes": "Knee pain",
    }
    data.update(overrides)
    return client.post(reverse("scheduling:calendar_book"), data)


@freeze_time(NOW)
def test_booking_from_the_dialog_books_through_the_service(client_as, desk):
    response = _book(client_as(desk.user), desk)
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get()
    assert (appointment.patient, appointment.provider, appointment.appointment_type) == (desk.ana, desk.dr_chen, desk.follow_up)
    assert appointment.starts_at == desk.at(2027, 3, 15, 9) and appointment.ends_at == desk.at(2027, 3, 15, 9, 15)
    assert appointment.notes == "Knee pain" and appointment.booked_by == desk.user
    assert response.json()["event"]["id"] == appointment.public_id
    assert "Ana Alvarez" in response.json()["message"]


@freeze_time(NOW)
def test_booking_a_taken_time_is_a_409(client_as, desk):
    desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 3, 15, 9))
    response = _book(client_as(desk.user), desk, start="2027-03-15T09:05:00")
    assert response.status_code == 409
    assert Appointment.objects.count() == 1


@freeze_time(NOW)
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"patient": ""}, "patient"),
        ({"patient": "zzzzzzzzzzzzzz"}, "patient"),
        ({"appointment_type": "999999"}, "appointment_type"),
        ({"provider": ""}, "provider"),
        ({"start": "2027-03-15T12:30:00"}, "starts_at"),  # lunch
        ({"start": "2027-03-01T09:00:00"}, "starts_at"),  # past
        ({"start": "tomorrow at nine"}, "start"),
        ({"start": "2027-02-30T09:00:00"}, "start"),
        ({"start": "\x00"}, "start"),
        ({"notes": "x" * 5000}, "notes"),
        ({"location": "abc"}, "location"),
    ],
)
def test_bad_bookings_are_a_400_naming_the_field(client_as, desk, overrides, field):
    response = _book(client_as(desk.user), desk, **overrides)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Appointment.objects.exists()


@freeze_time(NOW)
def test_a_patient_of_another_practice_cannot_be_booked(client_as, desk, other_org):
    stranger = PatientFactory(organization=other_org)
    response = _book(client_as(desk.user), desk, patient=stranger.public_id)
    assert response.status_code == 400 and "patient" in response.json()["errors"]


@freeze_time(NOW)
def test_a_provider_of_another_location_cannot_be_booked_here(client_as, desk):
    elsewhere = LocationFactory(organization=desk.organization)
    from clinicdesk.scheduling.tests.factories import AvailabilityTemplateFactory, ProviderFactory

    nurse = ProviderFactory(organization=desk.organization, role=Role.NURSE)
    AvailabilityTemplateFactory(provider=nurse, location=elsewhere)
    response = _book(client_as(desk.user), desk, provider=nurse.pk)
    assert response.status_code == 400 and "provider" in response.json()["errors"]


def test_booking_needs_the_booking_permission(client_as, desk, make_user):
    assert _book(client_as(make_user(Role.BILLER)), desk).status_code == 403


# --- the patient page --------------------------------------------------------------------------------------------


def test_the_patient_page_lists_appointments_and_the_next_one(client_as, desk):
    with freeze_time(NOW):
        desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 1, 4, 9), status=AppointmentStatus.COMPLETED)
        desk.appointment(desk.dr_osei, desk.ana, desk.at(2027, 3, 15, 9, 30), kind=desk.physical)
        response = client_as(desk.user).get(reverse("patients:detail", kwargs={"public_id": desk.ana.public_id}), {"tab": "appointments"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mon Mar 15, 2027 09:30" in html and "New patient physical" in html  # upcoming, in New York time
    assert "Mon Jan 4, 2027 09:00" in html and "Completed" in html  # past
    assert "Next appointment" in html and "Mon Mar 15, 2027 09:30 · New patient physical with Ama Osei, MD" in html


def test_datetime_parsing_never_crashes_on_odd_text(client_as, desk):
    for value in ["\x00", "٣", "9" * 30, "1e309", "2027-03-15T09:00:00+25:00"]:
        response = _events(client_as(desk.user), desk, start=value)
        assert response.status_code == 400, value
    assert isinstance(datetime.fromisoformat("2027-03-15T09:00:00"), datetime)

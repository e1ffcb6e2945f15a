"""The flow board: today's patients by status with waiting times, one-click check-in, the check-in page
(demographics and coverage), the board's status buttons, and check-out booking the follow-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.core.choices import Role
from clinicdesk.core.middleware import SESSION_LAST_SEEN_KEY
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.selectors.flow import duration_label, flow_board
from clinicdesk.scheduling.views import flow as flow_views

from .screens import TODAY_NOW, Desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(org):
    # The URLs (and the API's schemas with them) load outside freezegun's clock: pydantic refuses its fake dates.
    reverse("scheduling:calendar")
    return Desk.build(org)


def _columns(board) -> dict[str, list[str]]:
    return {c.key: [card.appointment.patient.first_name for card in c.cards] for c in board.columns}


# --- the selector ----------------------------------------------------------------------------------------------


@freeze_time(TODAY_NOW)
def test_the_board_puts_todays_patients_in_columns_with_waiting_times(desk):
    # given: it is 10:00 in New York
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30))
    late = desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 3, 15, 9, 45), status=AppointmentStatus.CONFIRMED)
    waiting = desk.appointment(desk.dr_osei, desk.maria, desk.at(2027, 3, 15, 10), status=AppointmentStatus.ARRIVED,
                               arrived_at=desk.at(2027, 3, 15, 9, 35))
    seen = desk.appointment(desk.dr_osei, PatientFactory(organization=desk.organization, first_name="Seen"),
                            desk.at(2027, 3, 15, 9), status=AppointmentStatus.WITH_PROVIDER,
                            arrived_at=desk.at(2027, 3, 15, 8, 50), seen_at=desk.at(2027, 3, 15, 9, 5))
    desk.appointment(desk.dr_chen, PatientFactory(organization=desk.organization, first_name="Gone"),
                     desk.at(2027, 3, 15, 8), status=AppointmentStatus.CANCELLED)
    desk.appointment(desk.dr_chen, PatientFactory(organization=desk.organization, first_name="Tomorrow"),
                     desk.at(2027, 3, 16, 9))
    # when
    board = flow_board(actor=desk.user, location=desk.location)
    # then
    assert board.day.isoformat() == "2027-03-15"
    assert _columns(board) == {"expected": ["Luis", "Ana"], "arrived": ["Maria"], "roomed": [], "with_provider": ["Seen"],
                               "completed": [], "no_show": []}
    cards = {c.appointment.pk: c for column in board.columns for c in column.cards}
    assert cards[waiting.pk].waiting_minutes == 25 and cards[waiting.pk].still_waiting and cards[waiting.pk].long_wait
    assert cards[seen.pk].waiting_minutes == 15 and not cards[seen.pk].still_waiting
    assert cards[late.pk].late_minutes == 15 and cards[late.pk].late_label == "15 min"
    assert [label for _status, label in cards[late.pk].next_steps] == ["Check in", "No-show"]


def test_durations_read_as_hours_and_minutes():
    assert [duration_label(m) for m in (None, 0, 59, 60, 125)] == ["", "0 min", "59 min", "1 h 00 min", "2 h 05 min"]


@freeze_time(TODAY_NOW)
def test_the_board_query_count_does_not_grow_with_patients(desk):
    seen = []

    def run():
        board = flow_board(actor=desk.user, location=desk.location)
        for column in board.columns:
            seen.extend((c.appointment.patient.last_name, c.appointment.provider.title, c.appointment.room,
                         c.appointment.appointment_type.name) for c in column.cards)

    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    run()
    few = CaptureQueriesContext(connection)
    with few:
        run()
    for i in range(20):
        desk.appointment(desk.dr_osei, PatientFactory(organization=desk.organization), desk.at(2027, 3, 15, 8) + timedelta(minutes=20 * i),
                         room=desk.room, status=AppointmentStatus.ARRIVED if i % 2 else AppointmentStatus.SCHEDULED)
    many = CaptureQueriesContext(connection)
    with many:
        run()
    assert len(many.captured_queries) == len(few.captured_queries) == 1


# --- the page, the poll and the buttons ----------------------------------------------------------------------------


@freeze_time(TODAY_NOW)
def test_the_board_page_polls_every_30_seconds_as_idle(client_as, desk):
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30))
    response = client_as(desk.user).get(reverse("scheduling:flow_board"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 30s"' in html and "X-Idle-Poll" in html
    assert "Alvarez, Ana" in html and "10:30" in html


@freeze_time(TODAY_NOW)
def test_polling_the_board_returns_the_board_alone_and_is_not_activity(client_as, desk):
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30))
    client = client_as(desk.user)
    client.get(reverse("home"))
    session = client.session
    session[SESSION_LAST_SEEN_KEY] = session[SESSION_LAST_SEEN_KEY] - 300
    session.save()
    before = client.session[SESSION_LAST_SEEN_KEY]
    response = client.get(reverse("scheduling:flow_board"), {"location": desk.location.pk, "partial": "board"},
                          headers={"HX-Request": "true", "X-Idle-Poll": "1"})
    assert response.status_code == 200
    assert "<html" not in response.content.decode() and "Alvarez, Ana" in response.content.decode()
    assert client.session[SESSION_LAST_SEEN_KEY] == before


def _status(client, appointment, status, **headers):
    return client.post(reverse("scheduling:flow_status", kwargs={"appointment_id": appointment.public_id}), {"status": status},
                       headers=headers)


@freeze_time(TODAY_NOW)
def test_one_click_check_in_marks_the_patient_arrived(client_as, desk):
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30))
    response = _status(client_as(desk.user), appointment, AppointmentStatus.ARRIVED, **{"HX-Request": "true"})
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED and appointment.arrived_at is not None
    html = response.content.decode()
    assert "Ana Alvarez checked in." in html
    assert AuditEvent.objects.filter(action="appointment.arrived", target_id=str(appointment.pk)).exists()


@freeze_time(TODAY_NOW)
def test_the_board_buttons_walk_the_visit_through(client, client_as, desk):
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9, 30))
    client = client_as(desk.user)
    for status in (AppointmentStatus.ARRIVED, AppointmentStatus.ROOMED, AppointmentStatus.WITH_PROVIDER, AppointmentStatus.COMPLETED):
        response = _status(client, appointment, status)
        assert response.status_code == 302
        appointment.refresh_from_db()
        assert appointment.status == status
    no_show = desk.appointment(desk.dr_osei, desk.luis, desk.at(2027, 3, 15, 9))
    _status(client, no_show, AppointmentStatus.NO_SHOW)
    no_show.refresh_from_db()
    assert no_show.status == AppointmentStatus.NO_SHOW


@freeze_time(TODAY_NOW)
@pytest.mark.parametrize("status", ["cancelled", "scheduled", "teleported", "", "\x00"])
def test_the_board_refuses_other_statuses(client_as, desk, status):
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30))
    response = _status(client_as(desk.user), appointment, status, **{"HX-Request": "true"})
    assert response.status_code == 400
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SCHEDULED


@freeze_time(TODAY_NOW)
def test_a_move_the_lifecycle_forbids_is_shown_not_made(client_as, desk):
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30))
    response = _status(client_as(desk.user), appointment, AppointmentStatus.COMPLETED, **{"HX-Request": "true"})
    assert response.status_code == 400
    assert "cannot become completed" in response.content.decode()


def test_the_board_is_for_the_practices_own_appointments(client_as, desk, other_org, make_user):
    other = Desk.build(other_org)
    theirs = other.appointment(other.dr_chen, other.ana, other.at(2027, 3, 15, 9))
    assert _status(client_as(desk.user), theirs, AppointmentStatus.ARRIVED).status_code == 404
    for name in ("scheduling:check_in", "scheduling:check_out"):
        assert client_as(desk.user).get(reverse(name, kwargs={"appointment_id": theirs.public_id})).status_code == 404
    mine = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    biller = make_user(Role.BILLER)
    assert _status(client_as(biller), mine, AppointmentStatus.ARRIVED).status_code == 403
    assert client_as(biller).get(reverse("scheduling:flow_board")).status_code == 200  # may look, not change
    assert client_as(make_user(Role.AUDITOR)).get(reverse("scheduling:flow_board")).status_code == 403


# --- the check-in page ------------------------------------------------------------------------------------------


@freeze_time(TODAY_NOW)
def test_the_check_in_page_shows_the_details_and_coverage_then_checks_in(client_as, desk):
    desk.ana.address_line1 = "12 River Road"
    desk.ana.save()
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30))
    client = client_as(desk.user)
    url = reverse("scheduling:check_in", kwargs={"appointment_id": appointment.public_id})
    # when the desk opens the page
    html = client.get(url).content.decode()
    # then the details on file, a way to correct them, and the coverage are shown; the read is audited
    assert "12 River Road" in html and "Mar 7, 1984" in html
    assert reverse("patients:edit", kwargs={"public_id": desk.ana.public_id}) in html
    assert "No coverage on file." in html
    assert AuditEvent.objects.filter(action="patient.viewed", patient_id=desk.ana.pk).exists()
    # when the details are confirmed
    response = client.post(url)
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED


@freeze_time(TODAY_NOW)
def test_another_app_can_replace_the_coverage_panel(client_as, desk, monkeypatch):
    monkeypatch.setattr(flow_views, "CHECK_IN_PANELS", dict(flow_views.CHECK_IN_PANELS))
    flow_views.register_check_in_panel(
        flow_views.CheckInPanel("coverage", "Coverage", "scheduling/partials/check_in_coverage.html",
                                context=lambda request, patient, appointment: {"copay": "25.00"})
    )
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30))
    response = client_as(desk.user).get(reverse("scheduling:check_in", kwargs={"appointment_id": appointment.public_id}))
    assert response.context["panels"][0]["context"] == {"copay": "25.00"}


@freeze_time(TODAY_NOW)
def test_checking_in_twice_is_refused_with_a_message(client_as, desk):
    appointment = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 10, 30), status=AppointmentStatus.ARRIVED)
    response = client_as(desk.user).post(reverse("scheduling:check_in", kwargs={"appointment_id": appointment.public_id}))
    assert response.status_code == 400
    assert "cannot become arrived" in response.content.decode()


# --- check-out and the follow-up ----------------------------------------------------------------------------------


def _check_out_url(appointment):
    return reverse("scheduling:check_out", kwargs={"appointment_id": appointment.public_id})


@freeze_time(TODAY_NOW)
def test_check_out_finds_the_next_free_slots_and_books_the_follow_up(client_as, desk):
    # given a visit with Dr. Chen that is under way, and his first slot four weeks out is taken
    visit = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9, 30), status=AppointmentStatus.WITH_PROVIDER,
                             arrived_at=desk.at(2027, 3, 15, 9, 20), seen_at=desk.at(2027, 3, 15, 9, 35))
    desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 4, 12, 8))
    client = client_as(desk.user)
    # when the desk searches four weeks out, mornings, with the same provider
    response = client.get(_check_out_url(visit), {"appointment_type": desk.follow_up.pk, "provider": desk.dr_chen.pk,
                                                  "after_days": 28, "time_of_day": "morning"})
    # then the free slots are offered, the taken one is not
    assert response.status_code == 200
    slots = response.context["slots"]
    assert slots and slots[0]["slot"].starts_at == desk.at(2027, 4, 12, 8, 15)
    assert all(s["slot"].provider_id == desk.dr_chen.pk for s in slots)
    # when she picks the first one
    first = slots[0]
    response = client.post(_check_out_url(visit), {"appointment_type": desk.follow_up.pk, "provider": first["slot"].provider_id,
                                                   "start": first["start"]})
    # then the follow-up is booked and the visit is completed
    assert response.status_code == 302
    follow_up = Appointment.objects.get(patient=desk.ana, starts_at=desk.at(2027, 4, 12, 8, 15))
    assert follow_up.provider == desk.dr_chen and follow_up.channel == "in_person"
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.COMPLETED


@freeze_time(TODAY_NOW)
def test_check_out_of_a_taken_slot_is_a_409_and_the_visit_stays_open(client_as, desk):
    visit = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9, 30), status=AppointmentStatus.WITH_PROVIDER)
    desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 4, 12, 8))
    response = client_as(desk.user).post(_check_out_url(visit), {"appointment_type": desk.follow_up.pk, "provider": desk.dr_chen.pk,
                                                                 "start": desk.at(2027, 4, 12, 8).isoformat()})
    assert response.status_code == 409
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.WITH_PROVIDER
    assert Appointment.objects.filter(patient=desk.ana).count() == 1


@freeze_time(TODAY_NOW)
def test_check_out_without_a_follow_up_completes_the_visit(client_as, desk):
    visit = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9, 30), status=AppointmentStatus.WITH_PROVIDER)
    response = client_as(desk.user).post(_check_out_url(visit), {"action": "done"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.COMPLETED


@freeze_time(TODAY_NOW)
@pytest.mark.parametrize(
    "query",
    [
        {"appointment_type": "999999"},
        {"appointment_type": "abc"},
        {"appointment_type": "1", "after_days": "5000"},
        {"appointment_type": "1", "time_of_day": "midnight"},
        {"appointment_type": "1", "provider": "\x00"},
    ],
)
def test_check_out_search_refuses_bad_input(client_as, desk, query):
    visit = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9, 30), status=AppointmentStatus.WITH_PROVIDER)
    response = client_as(desk.user).get(_check_out_url(visit), query)
    assert response.status_code == 400


@freeze_time(TODAY_NOW)
@pytest.mark.parametrize(
    "data",
    [
        {"appointment_type": "1", "provider": "1", "start": "soon"},
        {"provider": "1", "start": "2027-04-12T08:15:00-04:00"},
        {"appointment_type": "1", "provider": "99999999999999999999", "start": "2027-04-12T08:15:00-04:00"},
        {},
    ],
)
def test_check_out_booking_refuses_bad_input(client_as, desk, data):
    visit = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9, 30), status=AppointmentStatus.WITH_PROVIDER)
    response = client_as(desk.user).post(_check_out_url(visit), data)
    assert response.status_code == 400
    assert Appointment.objects.count() == 1

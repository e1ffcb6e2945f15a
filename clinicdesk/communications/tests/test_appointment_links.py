from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from freezegun import freeze_time

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.services.appointments import appointment_cancel, appointment_move
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from ..choices import LinkAction, StaffTaskKind, StaffTaskStatus
from ..links import link_issue, link_path
from ..models import ActionLink, StaffTask
from ..services.links import (
    CANCEL_REASON,
    appointment_link_confirm,
    appointment_links,
    reschedule_times,
)

# Cancelling offers the freed time to the waitlist through a task: stored, not run, here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_desk_time", "stored_tasks")]


@pytest.fixture
def visit(desk):
    # Monday 15 March 2027, 09:00 in New York
    return desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9), kind=desk.follow_up,
                            notes="Private: discuss the results")


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@override_settings(PUBLIC_BASE_URL="https://care.example.org/")
def test_links_are_absolute_expire_at_the_start_and_remember_the_time(visit):
    urls = appointment_links(appointment=visit)
    assert set(urls) == {"confirm_url", "cancel_url", "reschedule_url"}
    assert all(u.startswith("https://care.example.org/m/") for u in urls.values())
    assert len(set(urls.values())) == 3
    links = ActionLink.objects.filter(appointment=visit)
    assert sorted(links.values_list("action", flat=True)) == sorted(LinkAction.values[:3])
    assert {link.expires_at for link in links} == {visit.starts_at}
    assert {link.appointment_starts_at for link in links} == {visit.starts_at}
    assert {link.patient_id for link in links} == {visit.patient_id}


def test_an_earlier_valid_until_shortens_the_links_but_never_past_the_start(visit):
    earlier = visit.starts_at - timedelta(days=1)
    appointment_links(appointment=visit, valid_until=earlier)
    assert set(ActionLink.objects.values_list("expires_at", flat=True)) == {earlier}
    ActionLink.objects.all().delete()
    appointment_links(appointment=visit, valid_until=visit.starts_at + timedelta(days=3))
    assert set(ActionLink.objects.values_list("expires_at", flat=True)) == {visit.starts_at}


def test_the_confirm_page_shows_the_visit_without_notes_and_get_changes_nothing(client, visit):
    url = appointment_links(appointment=visit)["confirm_url"]
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Monday 15 March 2027 at 09:00" in body and "Riverside Main" in body
    assert str(visit.provider) in body and "Follow-up" in body
    assert "Private" not in body and visit.patient.last_name not in body
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.SCHEDULED
    assert ActionLink.objects.get(action=LinkAction.CONFIRM).used_at is None


def test_confirming_once_confirms_and_the_link_then_says_already_confirmed(client, visit):
    # given a reminder's confirm link
    url = appointment_links(appointment=visit)["confirm_url"]
    # when the patient presses the button
    response = client.post(url)
    # then the appointment is confirmed, the link is spent and the act is audited as the patient's
    assert response.status_code == 200 and "is confirmed" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CONFIRMED and visit.confirmed_at is not None
    assert ActionLink.objects.get(action=LinkAction.CONFIRM).used_at is not None
    event = AuditEvent.objects.get(action="appointment_link.confirmed")
    assert event.actor_id is None and event.actor_label == "Patient, by a reminder link"
    assert event.patient_id == visit.patient_id
    # and opening the link again says so, without acting
    again = client.get(url)
    assert again.status_code == 200 and "already confirmed" in again.content.decode()
    assert client.post(url).status_code == 200
    assert AuditEvent.objects.filter(action="appointment.confirmed").count() == 1


def test_cancelling_uses_the_schedules_rules_and_reason(client, desk):
    # given a visit starting in three hours (inside the type's 24-hour late-cancel window)
    soon = desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 10, 10), kind=desk.follow_up)
    url = appointment_links(appointment=soon)["cancel_url"]
    # when the patient cancels from the link
    response = client.post(url)
    # then it is cancelled with the reminder reason and flagged late
    assert response.status_code == 200 and "is cancelled" in response.content.decode()
    soon.refresh_from_db()
    assert soon.status == AppointmentStatus.CANCELLED and soon.cancel_reason == CANCEL_REASON
    assert soon.late_cancel is True and soon.cancelled_by is None
    assert AuditEvent.objects.filter(action="appointment_link.cancelled", summary__contains="(late)").exists()
    assert "was cancelled" in client.get(url).content.decode()


def test_a_visit_moved_by_staff_meanwhile_is_not_touched(client, desk, visit):
    # given links sent for Monday 09:00
    url = appointment_links(appointment=visit)["confirm_url"]
    # when the desk moves the visit to 10:00 before the patient answers
    appointment_move(actor=desk.user, appointment=visit, starts_at=desk.at(2027, 3, 15, 10))
    response = client.post(url)
    # then the patient is told and nothing changes; the link is not spent
    assert response.status_code == 409
    assert "has been moved to Monday 15 March 2027 at 10:00" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.SCHEDULED
    assert ActionLink.objects.get(action=LinkAction.CONFIRM).used_at is None
    with pytest.raises(ValidationError, match="moved"):
        appointment_link_confirm(token=_token(url))


def test_a_visit_cancelled_by_staff_meanwhile_shows_a_clear_message(client, desk, visit):
    urls = appointment_links(appointment=visit)
    appointment_cancel(actor=desk.user, appointment=visit, reason="Provider away")
    for url in urls.values():
        page = client.get(url)
        assert page.status_code == 200 and "was cancelled" in page.content.decode()
        assert "<form" not in page.content.decode()
        assert client.post(url).status_code == 409
    visit.refresh_from_db()
    assert visit.cancel_reason == "Provider away"


def test_an_expired_link_is_refused(client, visit):
    url = appointment_links(appointment=visit)["confirm_url"]
    with freeze_time(visit.starts_at + timedelta(minutes=1)):
        response = client.post(url)
    assert response.status_code == 410 and "expired" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.SCHEDULED


def test_a_link_for_another_action_cannot_confirm(client, visit):
    _link, token = link_issue(organization=visit.organization, action=LinkAction.CANCEL, appointment=visit,
                              expires_at=visit.starts_at)
    with pytest.raises(ValidationError, match="not valid"):
        appointment_link_confirm(token=token)


def test_reschedule_offers_free_times_of_the_same_provider_and_moves_to_the_chosen_one(client, desk, visit):
    # given Dr Chen is busy at the first free time of the week
    desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 3, 10, 8), kind=desk.follow_up)
    url = appointment_links(appointment=visit)["reschedule_url"]
    link = ActionLink.objects.get(action=LinkAction.RESCHEDULE)
    times = reschedule_times(link=link)
    assert times and all(s.provider_id == desk.dr_chen.pk and s.location_id == desk.location.pk for s in times)
    assert desk.at(2027, 3, 10, 8) not in {s.starts_at for s in times}
    assert visit.starts_at not in {s.starts_at for s in times}
    page = client.get(url).content.decode()
    assert 'name="starts_at"' in page and "call me" in page
    # when the patient picks the second offered time
    chosen = times[1].starts_at
    response = client.post(url, {"starts_at": chosen.isoformat()})
    # then the visit moves there and the link is spent
    assert response.status_code == 200, response.content.decode()
    visit.refresh_from_db()
    assert visit.starts_at == chosen and visit.status == AppointmentStatus.SCHEDULED
    assert AuditEvent.objects.filter(action="appointment_link.rescheduled").exists()
    assert "already used" in client.get(url).content.decode()


def test_reschedule_to_a_time_not_offered_changes_nothing(client, desk, visit):
    url = appointment_links(appointment=visit)["reschedule_url"]
    taken = desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 3, 16, 9), kind=desk.follow_up)
    for value, status in ((taken.starts_at.isoformat(), 409), ("2027-03-14T03:00:00+00:00", 409), ("not a time", 400), ("", 400)):
        response = client.post(url, {"starts_at": value})
        assert response.status_code == status, value
        assert "Choose" in response.content.decode() or "no longer free" in response.content.decode()
    visit.refresh_from_db()
    assert visit.starts_at == desk.at(2027, 3, 15, 9)
    assert ActionLink.objects.get(action=LinkAction.RESCHEDULE).used_at is None


def test_call_me_gives_the_front_desk_a_call_task(client, visit):
    url = appointment_links(appointment=visit)["reschedule_url"]
    response = client.post(url, {"call_me": "1"})
    assert response.status_code == 200 and "will call you" in response.content.decode()
    task = StaffTask.objects.get()
    assert task.kind == StaffTaskKind.CALL and task.assignee_role == Role.FRONT_DESK
    assert task.patient_id == visit.patient_id and task.appointment_id == visit.pk
    assert task.status == StaffTaskStatus.OPEN and task.due_on.isoformat() == "2027-03-10"
    assert task.created_by is None
    visit.refresh_from_db()
    assert visit.starts_at.isoformat().startswith("2027-03-15T13:00")  # unchanged (09:00 in New York)


def test_links_of_another_practice_never_reach_this_one(client, other_org, visit):
    stranger = AppointmentFactory(organization=other_org)
    urls = appointment_links(appointment=stranger)
    assert client.post(urls["confirm_url"]).status_code == 200
    stranger.refresh_from_db()
    visit.refresh_from_db()
    assert stranger.status == AppointmentStatus.CONFIRMED and visit.status == AppointmentStatus.SCHEDULED


def test_the_public_path_is_the_one_short_link_page(visit):
    _link, token = link_issue(organization=visit.organization, action=LinkAction.CONFIRM, appointment=visit)
    assert link_path(token) == f"/m/{token}/"

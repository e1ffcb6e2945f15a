"""Sessions end after the organization's idle timeout or absolute lifetime, and all at once when a user is deactivated."""

from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from clinicdesk.core import services
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent

pytestmark = pytest.mark.django_db

HOME = "/"
LOGIN = "/accounts/login/"


def signed_in_client(user) -> Client:
    client = Client()
    client.post(LOGIN, {"login": user.username, "password": "correct-horse-battery"})
    assert "_auth_user_id" in client.session
    return client


def is_signed_out(response) -> bool:
    return response.status_code == 302 and response.url.startswith(reverse("account_login"))


# --- idle timeout and absolute lifetime -----------------------------------------------------------

def test_idle_timeout_is_fifteen_minutes_by_default(front_desk):
    assert front_desk.organization.idle_timeout_minutes == 15
    with freeze_time(timezone.now()) as clock:
        client = signed_in_client(front_desk)
        clock.tick(timedelta(minutes=14))
        assert client.get(HOME).status_code == 200
        clock.tick(timedelta(minutes=14))  # active 14 minutes ago: still fine
        assert client.get(HOME).status_code == 200
        clock.tick(timedelta(minutes=15, seconds=1))
        response = client.get(HOME)
    assert is_signed_out(response)
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="session.expired", actor=front_desk).exists()


def test_idle_timeout_follows_the_organization(org, front_desk):
    org.idle_timeout_minutes = 5
    org.save()
    with freeze_time(timezone.now()) as clock:
        client = signed_in_client(front_desk)
        clock.tick(timedelta(minutes=5, seconds=1))
        assert is_signed_out(client.get(HOME))


def test_absolute_lifetime_ends_even_an_active_session(org, front_desk):
    org.session_max_hours = 1
    org.save()
    with freeze_time(timezone.now()) as clock:
        client = signed_in_client(front_desk)
        for _ in range(5):
            clock.tick(timedelta(minutes=10))
            assert client.get(HOME).status_code == 200
        clock.tick(timedelta(minutes=10, seconds=1))
        assert is_signed_out(client.get(HOME))


def test_polling_does_not_keep_a_session_alive(front_desk):
    with freeze_time(timezone.now()) as clock:
        client = signed_in_client(front_desk)
        for _ in range(4):
            clock.tick(timedelta(minutes=4))
            client.get(HOME, HTTP_X_IDLE_POLL="1")
        assert is_signed_out(client.get(HOME))


def test_idle_session_cannot_be_used_on_the_api(front_desk):
    with freeze_time(timezone.now()) as clock:
        client = signed_in_client(front_desk)
        assert client.get("/api/v1/me").status_code == 200
        clock.tick(timedelta(minutes=16))
        response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session


def test_a_new_sign_in_restarts_the_clock(org, front_desk):
    org.session_max_hours = 1
    org.save()
    with freeze_time(timezone.now()) as clock:
        client = signed_in_client(front_desk)
        clock.tick(timedelta(minutes=50))
        client.get(HOME)
        client.post(reverse("account_logout"))
        client.post(LOGIN, {"login": front_desk.username, "password": "correct-horse-battery"})
        clock.tick(timedelta(minutes=14))
        assert client.get(HOME).status_code == 200


def test_unreadable_session_timestamps_end_the_session(front_desk):
    client = signed_in_client(front_desk)
    session = client.session
    session["started_at"] = "yesterday"
    session.save()
    assert is_signed_out(client.get(HOME))


# --- deactivation ends every session at once ------------------------------------------------------

def test_deactivating_a_user_ends_all_their_sessions(make_user):
    # given a user signed in on two machines, and their manager
    nurse = make_user(Role.NURSE, username="nurse1")
    manager = make_user(Role.OFFICE_MANAGER, username="manager1")
    desk, laptop = signed_in_client(nurse), signed_in_client(nurse)
    manager_client = signed_in_client(manager)
    assert desk.get(HOME).status_code == laptop.get(HOME).status_code == 200
    assert UserSession.objects.filter(user=nurse).count() == 2
    # when the manager deactivates them
    services.user_deactivate(user=nurse, actor=manager)
    # then both sessions are gone at once, and the manager's is untouched
    assert is_signed_out(desk.get(HOME))
    assert is_signed_out(laptop.get(HOME))
    assert not UserSession.objects.filter(user=nurse).exists()
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(nurse.pk)]
    assert manager_client.get(HOME).status_code == 200
    assert AuditEvent.objects.filter(action="user.deactivated", actor=manager, target_id=str(nurse.pk)).exists()


def test_unticking_active_anywhere_ends_the_sessions_too(make_user):
    nurse = make_user(Role.NURSE, username="nurse2")
    client = signed_in_client(nurse)
    # as the Django admin or a shell would do it
    nurse.is_active = False
    nurse.save()
    assert is_signed_out(client.get(HOME))
    event = AuditEvent.objects.get(action="user.sessions_ended", target_id=str(nurse.pk))
    assert "1 session" in event.summary


def test_sessions_that_allauth_never_tracked_are_ended_too(make_user):
    nurse = make_user(Role.NURSE, username="nurse3")
    client = Client()
    client.force_login(nurse)  # no request has been made yet, so no UserSession row exists
    assert not UserSession.objects.filter(user=nurse).exists()
    nurse.is_active = False
    nurse.save(update_fields=["is_active"])
    assert is_signed_out(client.get(HOME))


def test_other_saves_of_a_user_do_not_end_sessions(make_user, django_assert_num_queries):
    nurse = make_user(Role.NURSE, username="nurse4")
    client = signed_in_client(nurse)
    nurse.first_name = "Renamed"
    nurse.save()
    with django_assert_num_queries(1):
        nurse.save(update_fields=["first_name"])
    assert client.get(HOME).status_code == 200


def test_api_tokens_stop_working_on_deactivation(make_user):
    nurse = make_user(Role.NURSE, username="nurse5")
    manager = make_user(Role.OFFICE_MANAGER, username="manager5")
    _, secret = services.api_token_create(user=nurse, name="x", scopes=["dashboard.view"], days=5)
    services.user_deactivate(user=nurse, actor=manager)
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401

"""User administration (create, change role, deactivate, reactivate) and the organization's sign-in rules."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from clinicdesk.core import selectors, services
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent, User

from .factories import LocationFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "tulip-lantern-orbit-42"


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="manager")


def new_user(actor, **overrides):
    data = {
        "username": "jdoe", "first_name": "Jane", "last_name": "Doe", "email": "jdoe@example.com",
        "role": Role.FRONT_DESK, "password": GOOD_PASSWORD, "title": "", "locations": [],
    }
    data.update(overrides)
    return services.user_create(actor=actor, **data)


# --- services -------------------------------------------------------------------------------------

def test_manager_creates_a_user_in_their_own_organization(org, manager):
    # given
    north = LocationFactory(organization=org, code="north")
    # when
    user = new_user(manager, locations=[north])
    # then
    assert user.organization == org and user.role == Role.FRONT_DESK and user.is_active
    assert list(user.locations.all()) == [north]
    assert user.check_password(GOOD_PASSWORD)
    event = AuditEvent.objects.get(action="user.created", target_id=str(user.pk))
    assert event.actor == manager and event.organization_id == org.pk
    assert event.changes["role"] == [None, Role.FRONT_DESK]
    assert GOOD_PASSWORD not in event.payload()


def test_new_user_can_sign_in_with_username_or_email(manager):
    new_user(manager)
    for login in ("jdoe", "JDoe@Example.com"):
        client = Client()
        response = client.post("/accounts/login/", {"login": login, "password": GOOD_PASSWORD})
        assert response.status_code == 302, login


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.AUDITOR])
def test_office_manager_cannot_give_a_role_with_more_rights(manager, role):
    with pytest.raises(ValidationError) as exc:
        new_user(manager, role=role)
    assert "role" in exc.value.message_dict
    assert not User.objects.filter(username="jdoe").exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.NURSE, Role.BILLER, Role.OFFICE_MANAGER])
def test_office_manager_can_give_roles_up_to_their_own(manager, role):
    assert new_user(manager, role=role).role == role


def test_administrator_can_give_every_role(administrator):
    assert {value for value, _ in selectors.assignable_roles(actor=administrator)} == set(Role.values)


def test_roles_are_refused_to_those_who_cannot_manage_users(front_desk):
    assert selectors.assignable_roles(actor=front_desk) == []
    with pytest.raises(PermissionDenied):
        new_user(front_desk)


def test_locations_of_another_organization_are_refused(manager, other_org):
    elsewhere = LocationFactory(organization=other_org, code="far")
    with pytest.raises(ValidationError) as exc:
        new_user(manager, locations=[elsewhere])
    assert "locations" in exc.value.message_dict


def test_email_must_be_free_and_password_strong(manager, front_desk):
    with pytest.raises(ValidationError) as exc:
        new_user(manager, email=front_desk.email.upper())
    assert "email" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        new_user(manager, password="password")
    assert "password" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        new_user(manager, username="has space")
    assert "username" in exc.value.message_dict


def test_role_change_is_audited_with_before_and_after(manager, front_desk):
    services.user_update(user=front_desk, actor=manager, first_name="A", last_name="B", email=front_desk.email,
                         role=Role.NURSE, title="RN", locations=[])
    front_desk.refresh_from_db()
    assert front_desk.role == Role.NURSE
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.changes["role"] == [Role.FRONT_DESK, Role.NURSE]
    assert event.actor == manager


def test_nobody_changes_their_own_role(administrator):
    with pytest.raises(ValidationError) as exc:
        services.user_update(user=administrator, actor=administrator, first_name="x", last_name="y",
                             email=administrator.email, role=Role.FRONT_DESK)
    assert "role" in exc.value.message_dict


def test_office_manager_cannot_promote_or_touch_an_administrator(manager, front_desk, administrator):
    with pytest.raises(ValidationError):
        services.user_update(user=front_desk, actor=manager, first_name="a", last_name="b",
                             email=front_desk.email, role=Role.ADMINISTRATOR)
    with pytest.raises(ValidationError):
        services.user_update(user=administrator, actor=manager, first_name="a", last_name="b",
                             email=administrator.email, role=Role.FRONT_DESK)
    with pytest.raises(ValidationError):
        services.user_deactivate(user=administrator, actor=manager)
    administrator.refresh_from_db()
    assert administrator.role == Role.ADMINISTRATOR and administrator.is_active


def test_users_of_another_organization_cannot_be_managed(manager, other_org):
    outsider = UserFactory(organization=other_org, role=Role.FRONT_DESK)
    for call in (
        lambda: services.user_deactivate(user=outsider, actor=manager),
        lambda: services.user_reactivate(user=outsider, actor=manager),
        lambda: services.user_update(user=outsider, actor=manager, first_name="a", last_name="b",
                                     email="a@example.com", role=Role.FRONT_DESK),
    ):
        with pytest.raises(ValidationError):
            call()
    outsider.refresh_from_db()
    assert outsider.is_active


def test_deactivate_and_reactivate_are_audited(manager, front_desk):
    services.user_deactivate(user=front_desk, actor=manager)
    services.user_reactivate(user=front_desk, actor=manager)
    front_desk.refresh_from_db()
    assert front_desk.is_active
    actions = list(AuditEvent.objects.filter(target_id=str(front_desk.pk), target_type="core.user")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["user.deactivated", "user.sessions_ended", "user.reactivated"] or actions == [
        "user.sessions_ended", "user.deactivated", "user.reactivated"]


def test_nobody_deactivates_themselves(manager):
    with pytest.raises(ValidationError):
        services.user_deactivate(user=manager, actor=manager)


# --- pages ----------------------------------------------------------------------------------------

def test_user_list_shows_only_the_own_organization(client_as, manager, front_desk, other_org):
    UserFactory(organization=other_org, username="outsider-person")
    response = client_as(manager).get(reverse("core:user_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert front_desk.username in html
    assert "outsider-person" not in html


def test_user_list_query_count_does_not_grow_with_users(client_as, org, manager):
    client = client_as(manager)
    locations = [LocationFactory(organization=org) for _ in range(2)]

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("core:user_list")).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        UserFactory(organization=org).locations.set(locations)
    count()  # the first request of a session also records the session
    few = count()
    for _ in range(15):
        UserFactory(organization=org).locations.set(locations)
    assert count() == few


def test_create_user_from_the_page(client_as, manager, org):
    location = LocationFactory(organization=org)
    client = client_as(manager)
    assert client.get(reverse("core:user_create")).status_code == 200
    response = client.post(reverse("core:user_create"), {
        "username": "newbie", "first_name": "New", "last_name": "Person", "email": "newbie@example.com",
        "title": "", "role": Role.BILLER, "locations": [location.pk], "password": GOOD_PASSWORD,
    })
    assert response.status_code == 302
    created = User.objects.get(username="newbie")
    assert created.role == Role.BILLER and created.organization == org
    assert list(created.locations.all()) == [location]


def test_create_page_does_not_offer_roles_above_the_manager(client_as, manager):
    response = client_as(manager).post(reverse("core:user_create"), {
        "username": "boss", "first_name": "B", "last_name": "C", "email": "boss@example.com",
        "role": Role.ADMINISTRATOR, "password": GOOD_PASSWORD,
    })
    assert response.status_code == 200
    assert "role" in response.context["form"].errors
    assert not User.objects.filter(username="boss").exists()
    offered = [value for value, _ in response.context["form"].fields["role"].choices]
    assert Role.ADMINISTRATOR not in offered and Role.AUDITOR not in offered


def test_create_page_refuses_another_organizations_location(client_as, manager, other_org):
    far = LocationFactory(organization=other_org)
    response = client_as(manager).post(reverse("core:user_create"), {
        "username": "x1", "first_name": "B", "last_name": "C", "email": "x1@example.com",
        "role": Role.FRONT_DESK, "locations": [far.pk], "password": GOOD_PASSWORD,
    })
    assert response.status_code == 200
    assert "locations" in response.context["form"].errors


@pytest.mark.parametrize("data", [
    {},
    {"username": "x" * 500, "email": "not-an-email", "role": "wizard", "locations": ["abc", "99999999999999999999"]},
    {"username": "ok", "first_name": "\x00", "last_name": "y", "email": "ok@example.com", "role": Role.NURSE,
     "password": GOOD_PASSWORD},
])
def test_bad_input_on_the_create_page_is_a_form_error(client_as, manager, data):
    response = client_as(manager).post(reverse("core:user_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors


def test_change_role_from_the_page(client_as, manager, front_desk):
    client = client_as(manager)
    assert client.get(reverse("core:user_edit", args=[front_desk.pk])).status_code == 200
    response = client.post(reverse("core:user_edit", args=[front_desk.pk]), {
        "first_name": front_desk.first_name, "last_name": front_desk.last_name, "email": front_desk.email,
        "role": Role.CLINICIAN, "title": "MD",
    })
    assert response.status_code == 302
    front_desk.refresh_from_db()
    assert front_desk.role == Role.CLINICIAN and front_desk.title == "MD"


def test_deactivate_and_reactivate_from_the_page(client_as, manager, front_desk):
    client = client_as(manager)
    assert client.post(reverse("core:user_deactivate", args=[front_desk.pk])).status_code == 302
    front_desk.refresh_from_db()
    assert not front_desk.is_active
    assert client.post(reverse("core:user_reactivate", args=[front_desk.pk])).status_code == 302
    front_desk.refresh_from_db()
    assert front_desk.is_active


def test_other_organizations_users_are_not_found(client_as, manager, other_org):
    outsider = UserFactory(organization=other_org)
    client = client_as(manager)
    for name in ("core:user_edit", "core:user_deactivate", "core:user_reactivate"):
        assert client.post(reverse(name, args=[outsider.pk])).status_code == 404, name
    assert client.get(reverse("core:user_edit", args=[outsider.pk])).status_code == 404
    outsider.refresh_from_db()
    assert outsider.is_active


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.NURSE, Role.BILLER, Role.AUDITOR])
def test_staff_without_the_permission_cannot_manage_users(client_as, make_user, front_desk, role):
    client = client_as(make_user(role, username=f"who-{role}"))
    assert client.get(reverse("core:user_list")).status_code == 403
    assert client.get(reverse("core:user_create")).status_code == 403
    assert client.post(reverse("core:user_deactivate", args=[front_desk.pk])).status_code == 403


# --- the organization's sign-in rules -------------------------------------------------------------

def test_administrator_changes_the_sign_in_rules(client_as, administrator, org):
    client = client_as(administrator)
    assert client.get(reverse("core:organization_settings")).status_code == 200
    response = client.post(reverse("core:organization_settings"),
                           {"require_mfa": "on", "idle_timeout_minutes": "10", "session_max_hours": "8"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.require_mfa, org.idle_timeout_minutes, org.session_max_hours) == (True, 10, 8)
    event = AuditEvent.objects.get(action="organization.security_changed")
    assert event.changes == {"require_mfa": [False, True], "idle_timeout_minutes": [15, 10], "session_max_hours": [12, 8]}
    assert event.actor == administrator and event.organization_id == org.pk


@pytest.mark.parametrize("data, field", [
    ({"idle_timeout_minutes": "0", "session_max_hours": "8"}, "idle_timeout_minutes"),
    ({"idle_timeout_minutes": "15", "session_max_hours": "100"}, "session_max_hours"),
    ({"idle_timeout_minutes": "120", "session_max_hours": "1"}, "idle_timeout_minutes"),
    ({"idle_timeout_minutes": "ten", "session_max_hours": "99999999999999999999"}, "idle_timeout_minutes"),
])
def test_bad_sign_in_rules_are_form_errors(client_as, administrator, org, data, field):
    response = client_as(administrator).post(reverse("core:organization_settings"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    org.refresh_from_db()
    assert org.idle_timeout_minutes == 15


def test_office_manager_cannot_change_the_sign_in_rules(client_as, manager):
    assert client_as(manager).get(reverse("core:organization_settings")).status_code == 403


def test_sign_in_rules_service_is_scoped_to_the_actors_organization(administrator, other_org):
    with pytest.raises(PermissionDenied):
        services.organization_security_update(organization=other_org, actor=administrator, require_mfa=True,
                                              idle_timeout_minutes=5, session_max_hours=1)


def test_location_limits_are_none_until_locations_are_set(make_user, org):
    from clinicdesk.core.tests.factories import LocationFactory

    # given a user with no locations and one limited to one location
    free = make_user()
    limited = make_user()
    north, south = LocationFactory(organization=org), LocationFactory(organization=org)
    limited.locations.add(north)
    # then
    assert free.allowed_location_ids() is None
    assert free.may_use_location(south.pk)
    assert limited.allowed_location_ids() == {north.pk}
    assert limited.may_use_location(north.pk) and not limited.may_use_location(south.pk)

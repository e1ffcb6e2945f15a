"""Two practices with a full set of records each, and one signed-in user per role in the first."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.test import Client

from clinicdesk.core import services
from clinicdesk.core.choices import Role
from clinicdesk.core.models import ApiToken, Organization, User
from clinicdesk.core.permissions import ROLE_PERMISSIONS

ROLES = [Role.FRONT_DESK, Role.CLINICIAN, Role.NURSE, Role.BILLER, Role.OFFICE_MANAGER, Role.ADMINISTRATOR, Role.AUDITOR]
# A word that appears only in the other practice's records: no response to our practice's users may contain it.
OTHER_MARKER = "Quixotel"


@dataclass
class Practice:
    org: Organization
    patient: object
    document: object
    contact: object
    alert: object
    target_user: User  # a colleague the managers act on
    token: ApiToken


@dataclass
class World:
    own: Practice
    other: Practice
    users: dict[str, User]  # role -> a user of the own practice
    tokens: dict[str, str] = field(default_factory=dict)  # role -> secret with every scope of the role
    sessions: dict[int, str] = field(default_factory=dict)  # user id -> the session key it signed in with

    def client_as(self, user: User | None, **options) -> Client:
        """A new client carrying no cookie but `user`'s session (none for anonymous). Each user signs in once per
        test: signing in writes a session, an audit row and the last sign-in time, a tenth of a request's cost
        in these tests. It signs in again after a response replaced or ended its session (signing out)."""
        client = _SessionClient(self.sessions, user, raise_request_exception=False, **options)
        if user is None:
            return client
        key = self.sessions.get(user.pk)
        if key is None:
            client.force_login(user)
            self.sessions[user.pk] = client.cookies[settings.SESSION_COOKIE_NAME].value
        else:
            client.cookies[settings.SESSION_COOKIE_NAME] = key
        return client

    def own_token_of(self, user: User) -> ApiToken:
        return ApiToken.objects.filter(user=user).order_by("id").first()


class _SessionClient(Client):
    """Forgets its user's session key once a response sets another session cookie or deletes it."""

    def __init__(self, sessions: dict[int, str], user: User | None, **options):
        super().__init__(**options)
        self._sessions, self._user_id = sessions, getattr(user, "pk", None)

    def request(self, **request):
        response = super().request(**request)
        cookie = response.cookies.get(settings.SESSION_COOKIE_NAME)
        if self._user_id is not None and cookie is not None and cookie.value != self._sessions.get(self._user_id):
            self._sessions.pop(self._user_id, None)
        return response


def _practice(org, *, marker: str = "") -> Practice:
    from clinicdesk.core.tests.factories import UserFactory
    from clinicdesk.patients.tests.factories import (
        DocumentFactory,
        EmergencyContactFactory,
        PatientAlertFactory,
        PatientFactory,
    )

    patient = PatientFactory(organization=org, last_name=marker or "Ownpractice", first_name="Test")
    target = UserFactory(organization=org, role=Role.FRONT_DESK, last_name=marker or "Colleague")
    token, _ = services.api_token_create(user=target, name=f"{marker or 'own'} token", scopes=["dashboard.view"], days=30)
    return Practice(
        org=org,
        patient=patient,
        document=DocumentFactory(patient=patient, title=f"{marker or 'Own'} referral"),
        contact=EmergencyContactFactory(patient=patient, name=f"{marker or 'Own'} Contact"),
        alert=PatientAlertFactory(patient=patient, note=f"{marker or 'own'} note"),
        target_user=target,
        token=token,
    )


@pytest.fixture
def private_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None}},
    }
    return tmp_path / "media"


@pytest.fixture
def world(db, org, other_org, private_media) -> World:
    from clinicdesk.core.tests.factories import UserFactory

    users = {role: UserFactory(organization=org, role=role, username=f"as-{role}") for role in ROLES}
    world = World(own=_practice(org), other=_practice(other_org, marker=OTHER_MARKER), users=users)
    for role, user in users.items():
        _, world.tokens[role] = services.api_token_create(
            user=user, name="matrix", scopes=sorted(ROLE_PERMISSIONS[role]), days=30
        )
    return world

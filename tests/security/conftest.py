"""Two practices with a full set of records each, and one signed-in user per role in the first."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

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

    def own_token_of(self, user: User) -> ApiToken:
        return ApiToken.objects.filter(user=user).order_by("id").first()


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

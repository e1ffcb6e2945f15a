"""Issuing and revoking FHIR tokens: the practice administrator's page, the command, and the service's checks."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.fhir.models import FhirToken
from clinicdesk.fhir.services import fhir_token_create, fhir_token_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(clinic):
    return UserFactory(organization=clinic.organization, role=Role.ADMINISTRATOR)


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": " "}, "name"),
    ({"scopes": []}, "scopes"),
    ({"scopes": ["patient/Patient.read"]}, "scopes"),
    ({"scopes": ["user/Observation.read"]}, "scopes"),
    ({"scopes": ["user/Patient.write"]}, "scopes"),  # patients are read-only here
    ({"days": 0}, "days"),
    ({"days": 366}, "days"),
])
def test_the_service_refuses_bad_tokens(clinic, admin, changes, field):
    values = {"name": "portal", "scopes": ["user/*.read"], "days": 30, **changes}
    with pytest.raises(ValidationError) as caught:
        fhir_token_create(actor=admin, user=clinic.actor, **values)
    assert field in caught.value.message_dict
    assert not FhirToken.objects.exists()


def test_only_an_administrator_of_the_same_practice_issues(clinic, admin, other_org):
    manager = UserFactory(organization=clinic.organization, role=Role.OFFICE_MANAGER)
    stranger = UserFactory(organization=other_org, role=Role.FRONT_DESK)
    for actor, user in ((manager, clinic.actor), (admin, stranger)):
        with pytest.raises(ValidationError):
            fhir_token_create(actor=actor, user=user, name="x", scopes=["user/*.read"], days=1)
    token, secret = fhir_token_create(actor=admin, user=clinic.actor, name="portal", scopes=["user/*.read"], days=1)
    assert token.organization == clinic.organization and token.created_by == admin
    assert AuditEvent.objects.filter(action="fhir_token.created", actor=admin).exists()


def test_the_page_issues_shows_the_secret_once_and_revokes(client, clinic, admin):
    client.force_login(admin)
    response = client.post("/practice/fhir-tokens/", {"name": "portal", "user": clinic.actor.pk,
                                                      "scopes": ["user/Patient.read", "user/Appointment.write"], "days": 30})
    assert response.status_code == 200
    token = FhirToken.objects.get()
    secret = response.context["secret"]
    assert token.token_hash == FhirToken.hash_secret(secret) and secret in response.content.decode()
    assert token.scopes == ["user/Patient.read", "user/Appointment.write"] and token.user == clinic.actor
    listing = client.get("/practice/fhir-tokens/").content.decode()
    assert "portal" in listing and secret not in listing
    response = client.post(f"/practice/fhir-tokens/{token.pk}/revoke")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin


def test_the_page_is_for_the_administrator(client, clinic):
    client.force_login(clinic.actor)
    assert client.get("/practice/fhir-tokens/").status_code == 403


def test_another_practices_token_cannot_be_revoked(client, clinic, admin, other_org):
    stranger = UserFactory(organization=other_org, role=Role.FRONT_DESK)
    token, _ = fhir_token_create(actor=None, user=stranger, name="theirs", scopes=["user/*.read"], days=1)
    client.force_login(admin)
    assert client.post(f"/practice/fhir-tokens/{token.pk}/revoke").status_code == 404
    with pytest.raises(ValidationError):
        fhir_token_revoke(actor=admin, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_command_prints_a_working_token(client, clinic, capsys):
    call_command("fhir_token", clinic.actor.username, "--scope", "user/Patient.read", "--days", "7")
    secret = capsys.readouterr().out.strip()
    response = client.get("/fhir/R4/Patient", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    with pytest.raises(CommandError):
        call_command("fhir_token", clinic.actor.username, "--scope", "user/Nope.read")
    with pytest.raises(CommandError):
        call_command("fhir_token", "nobody", "--scope", "user/*.read")


def test_the_demo_token_works(client, db):
    from clinicdesk.core import demo as core_demo
    from clinicdesk.fhir import demo

    ctx = core_demo.seed()
    assert demo.seed(ctx, patients=0, seed=1) == 1
    assert demo.seed(ctx, patients=0, seed=1) == 0  # idempotent
    response = client.get("/fhir/R4/Organization", HTTP_AUTHORIZATION=f"Bearer {demo.DEMO_SECRET}")
    assert response.status_code == 200 and response.json()["entry"][0]["resource"]["name"] == ctx.organization.name

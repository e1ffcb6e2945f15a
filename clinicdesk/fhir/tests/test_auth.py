"""Who may call the FHIR API: a usable token of the practice, with a scope and a role for the resource; every
refusal is audited and answered as an OperationOutcome."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinicdesk.core import services as core_services
from clinicdesk.core.choices import AuditChannel, AuditOutcome, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import OrganizationFactory, UserFactory
from clinicdesk.fhir.models import FhirToken
from clinicdesk.fhir.services import fhir_token_revoke

from .conftest import BASE, Fhir, issues

pytestmark = pytest.mark.django_db


def test_no_token_is_401_with_a_challenge(client, clinic):
    response = Fhir(client, None).get(f"Patient/{clinic.patient.public_id}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"].startswith("application/fhir+json")
    assert issues(response)[0]["code"] == "login"


def test_a_signed_in_session_is_not_a_token(client, clinic):
    client.force_login(clinic.actor)
    response = client.get(BASE + f"Patient/{clinic.patient.public_id}")
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Bearer cdf_not-a-real-token", "Bearer cdk_personal-api-token", "Basic dXNlcjpwYXNz"])
def test_unknown_or_foreign_credentials_are_401_and_audited(client, clinic, header):
    response = client.get(BASE + "Patient", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    event = AuditEvent.objects.filter(action="fhir.token_rejected").get()
    assert event.outcome == AuditOutcome.DENIED and event.channel == AuditChannel.API


def test_only_the_hash_of_the_secret_is_stored(fhir, clinic):
    token = FhirToken.objects.get()
    assert fhir.secret.startswith("cdf_")
    assert token.token_hash == FhirToken.hash_secret(fhir.secret) and fhir.secret not in str(token.__dict__)


def test_an_expired_token_is_refused(fhir, clinic):
    FhirToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = fhir.get("Patient")
    assert response.status_code == 401
    assert "expired" in issues(response)[0]["diagnostics"]


def test_a_revoked_token_is_refused(fhir, clinic, make_user):
    admin = UserFactory(organization=clinic.organization, role=Role.ADMINISTRATOR)
    assert fhir.get("Patient").status_code == 200
    fhir_token_revoke(actor=admin, token=FhirToken.objects.get())
    response = fhir.get("Patient")
    assert response.status_code == 401
    assert "revoked" in issues(response)[0]["diagnostics"]


def test_a_deactivated_user_takes_their_tokens_down(fhir, clinic):
    admin = UserFactory(organization=clinic.organization, role=Role.ADMINISTRATOR)
    core_services.user_deactivate(user=clinic.actor, actor=admin)
    assert fhir.get("Patient").status_code == 401


def test_a_user_moved_to_another_practice_loses_the_token(fhir, clinic):
    clinic.actor.organization = OrganizationFactory()
    clinic.actor.save(update_fields=["organization"])
    assert fhir.get("Patient").status_code == 401


def test_last_use_is_recorded(fhir, clinic):
    assert FhirToken.objects.get().last_used_at is None
    fhir.get("Organization")
    assert FhirToken.objects.get().last_used_at == timezone.now()


@pytest.mark.parametrize(("scopes", "path", "allowed"), [
    (["user/Patient.read"], "Patient", True),
    (["user/Patient.read"], "Appointment", False),
    (["user/Appointment.read"], "Patient", False),
    (["user/*.read"], "Location", True),
    (["user/Appointment.write"], "Appointment", False),  # writing is not reading
])
def test_scopes_limit_reads(fhir_as, clinic, scopes, path, allowed):
    response = fhir_as(clinic.actor, scopes=scopes).get(path)
    assert response.status_code == (200 if allowed else 403), response.content
    if not allowed:
        assert issues(response)[0]["code"] == "forbidden"
        assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
        denied = AuditEvent.objects.get(action="access.denied")
        assert denied.actor_id == clinic.actor.pk and denied.outcome == AuditOutcome.DENIED


def test_a_read_scope_cannot_book(fhir_as, clinic):
    response = fhir_as(clinic.actor, scopes=["user/*.read"]).post("Appointment", {"resourceType": "Appointment"})
    assert response.status_code == 403


def test_the_role_still_applies_whatever_the_scopes(fhir_as, clinic):
    # given an auditor (no patient access) and a biller (reads the schedule, books nothing), with every scope
    auditor = UserFactory(organization=clinic.organization, role=Role.AUDITOR)
    biller = UserFactory(organization=clinic.organization, role=Role.BILLER)
    # then
    assert fhir_as(auditor).get("Patient").status_code == 403
    assert fhir_as(auditor).get("Appointment").status_code == 403
    assert fhir_as(biller).get("Appointment").status_code == 200
    response = fhir_as(biller).post("Appointment", {"resourceType": "Appointment"})
    assert response.status_code == 403
    assert "role" in issues(response)[0]["diagnostics"]


def test_included_patients_need_patient_read(fhir_as, clinic):
    response = fhir_as(clinic.actor, scopes=["user/Appointment.read"]).get("Appointment", {"_include": "Appointment:patient"})
    assert response.status_code == 403


def test_the_capability_statement_is_open(client, clinic):
    response = client.get(BASE + "metadata")
    assert response.status_code == 200
    assert response.json()["resourceType"] == "CapabilityStatement"

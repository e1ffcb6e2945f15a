import pytest

from clinicdesk.core import services
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_me_with_a_token_shows_role_and_scopes(client, front_desk):
    _, secret = services.api_token_create(user=front_desk, name="lab link", scopes=["dashboard.view"], days=30)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == front_desk.username
    assert body["token_scopes"] == ["dashboard.view"]
    assert body["id"] == str(front_desk.pk)


def test_no_credentials_is_401(client):
    assert client.get("/api/v1/me").status_code == 401


def test_revoked_token_is_refused(client, front_desk):
    token, secret = services.api_token_create(user=front_desk, name="x", scopes=["dashboard.view"], days=1)
    services.api_token_revoke(token=token, actor=front_desk)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert AuditEvent.objects.filter(action="api.token_rejected").exists()


def test_token_without_the_scope_is_403_and_audited(client, front_desk):
    _, secret = services.api_token_create(user=front_desk, name="x", scopes=["patients.view"], days=1)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor=front_desk).exists()


def test_token_secret_is_stored_only_as_a_hash(front_desk):
    token, secret = services.api_token_create(user=front_desk, name="x", scopes=["dashboard.view"], days=1)
    assert secret not in (token.token_hash, token.prefix)
    assert len(token.token_hash) == 64


def test_token_cannot_carry_scopes_beyond_the_role(make_user):
    auditor = make_user(Role.AUDITOR)
    with pytest.raises(Exception) as exc:
        services.api_token_create(user=auditor, name="x", scopes=["patients.view"], days=1)
    assert "scopes" in exc.value.message_dict


def test_openapi_schema_needs_sign_in_and_lists_routes(client, client_as, front_desk):
    assert client.get("/api/v1/openapi.json").status_code in (302, 401)
    schema = client_as(front_desk).get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in schema["paths"]

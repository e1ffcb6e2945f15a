"""A practice ready for the FHIR API: the scheduling test clinic (a New York location, a provider with the usual
week, a front-desk user, a patient, a 15-minute follow-up type) with the clock frozen on a Wednesday, and a
client that calls /fhir/R4/ with a token."""

import json

import pytest
from freezegun import freeze_time

from clinicdesk.fhir.bindings import code_issues
from clinicdesk.fhir.services import fhir_token_create
from clinicdesk.scheduling.tests.factories import Clinic

BASE = "/fhir/R4/"
FHIR_JSON = "application/fhir+json"


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time("2027-03-10T12:00:00Z"):
        yield


@pytest.fixture
def clinic(db):
    return Clinic.build()


class Fhir:
    """Calls the FHIR API as one token."""

    def __init__(self, client, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}

    def get(self, path: str, params=None, **headers):
        return self.client.get(BASE + path, params or {}, **{**self._headers(), **headers})

    def post(self, path: str, body, content_type: str = FHIR_JSON):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.client.post(BASE + path, data, content_type=content_type, **self._headers())

    def patch(self, path: str, body, content_type: str = "application/json-patch+json"):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.client.generic("PATCH", BASE + path, data, content_type=content_type, **self._headers())


@pytest.fixture
def fhir_as(client):
    """`fhir_as(user, scopes=[...])`: a client with a fresh token of that user."""

    def make(user, scopes=("user/*.*",), days: int = 30) -> Fhir:
        _, secret = fhir_token_create(actor=None, user=user, name="test", scopes=list(scopes), days=days)
        return Fhir(client, secret)

    return make


@pytest.fixture
def fhir(fhir_as, clinic):
    """The clinic's front desk with every scope."""
    return fhir_as(clinic.actor)


def valid(model, response) -> dict:
    """The body of a 200 FHIR response, validated with its fhir.resources model and our code checks (each entry's
    resource too, for a Bundle)."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    body = response.json()
    model.model_validate(body)
    assert code_issues(body) == []
    for entry in body.get("entry", []):
        assert code_issues(entry["resource"]) == []
    return body


def issues(response) -> list[dict]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"]


def expressions(response) -> list[str]:
    return [e for issue in issues(response) for e in issue.get("expression", [])]

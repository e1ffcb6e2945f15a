import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinicdesk.core import services as core_services
from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Document, Patient
from clinicdesk.patients.tests.factories import PDF_BYTES, DocumentFactory, EmergencyContactFactory, PatientFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/patients"
EVERY_PATIENT_SCOPE = [Perm.PATIENT_VIEW, Perm.PATIENT_CREATE, Perm.PATIENT_CHANGE, Perm.DOCUMENT_VIEW, Perm.DOCUMENT_UPLOAD]


@pytest.fixture(autouse=True)
def temporary_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.fixture
def api(client, front_desk):
    """A client that sends the front desk's Bearer token with every request."""
    _, secret = core_services.api_token_create(user=front_desk, name="test", scopes=EVERY_PATIENT_SCOPE, days=1)

    class Api:
        def get(self, path, **params):
            return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {secret}")

        def post(self, path, body):
            return client.post(path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")

        def patch(self, path, body):
            return client.patch(path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")

        def upload(self, path, data):
            return client.post(path, data, HTTP_AUTHORIZATION=f"Bearer {secret}")

    return Api()


def token_for(client, user, scopes):
    _, secret = core_services.api_token_create(user=user, name="narrow", scopes=scopes, days=1)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


NEW = {"first_name": "Maria", "last_name": "Santos", "date_of_birth": "1975-03-02", "sex": "female"}


# --- read -------------------------------------------------------------------------------------------------


def test_get_returns_the_patient_with_string_ids_and_audits_the_read(api, front_desk, org):
    # given
    patient = PatientFactory(organization=org)
    EmergencyContactFactory(patient=patient)
    # when
    response = api.get(f"{BASE}/{patient.public_id}")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == patient.public_id
    assert body["mrn"] == patient.mrn
    assert isinstance(body["emergency_contacts"][0]["id"], str)
    event = AuditEvent.objects.get(action="patient.viewed", patient_id=patient.pk)
    assert event.channel == AuditChannel.API and event.actor_id == front_desk.pk


def test_get_another_practices_patient_is_404(api, other_org):
    stranger = PatientFactory(organization=other_org)
    response = api.get(f"{BASE}/{stranger.public_id}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_list_pages_and_audits_each_patient_returned(api, org):
    PatientFactory.create_batch(5, organization=org)
    response = api.get(BASE, limit=2, offset=1, sort="mrn")
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 5 and len(body["items"]) == 2
    assert AuditEvent.objects.filter(action="patient.listed").count() == 2


def test_search_by_name(api, org):
    PatientFactory(organization=org, last_name="Quigley")
    PatientFactory(organization=org, last_name="Brown")
    body = api.get(BASE, q="quigley").json()
    assert [p["last_name"] for p in body["items"]] == ["Quigley"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"sort": "ssn"}, "sort"), ({"colour": "red"}, "colour"), ({"status": "happy"}, "status"), ({"limit": 1000}, "limit")],
)
def test_unknown_filter_or_sort_is_a_400_naming_it(api, params, field):
    response = api.get(BASE, **params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


# --- create and update ----------------------------------------------------------------------------------------


def test_create_assigns_an_mrn_and_returns_201(api, org):
    response = api.post(BASE, {**NEW, "phone_mobile": "(202) 555-0170"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["mrn"].startswith(org.mrn_prefix)
    assert body["phone_mobile"] == "+12025550170"
    assert Patient.objects.filter(public_id=body["id"]).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone_mobile", "123"), ("email", "nope@"), ("date_of_birth", "2999-01-01"), ("date_of_birth", "yesterday"),
     ("sex", "robot"), ("favourite_colour", "blue")],
)
def test_create_with_bad_input_is_a_400_naming_the_field(api, field, value):
    response = api.post(BASE, {**NEW, field: value})
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Patient.objects.exists()


def test_create_with_a_missing_field_names_it(api):
    response = api.post(BASE, {k: v for k, v in NEW.items() if k != "last_name"})
    assert response.status_code == 400
    assert "last_name" in response.json()["errors"]


def test_create_with_a_duplicate_mrn_names_the_field(api, org):
    PatientFactory(organization=org, mrn="A1")
    response = api.post(BASE, {**NEW, "mrn": "A1"})
    assert response.status_code == 400
    assert response.json()["errors"]["mrn"] == ["MRN A1 is already used in this practice."]


def test_create_with_likely_duplicates_is_409_until_confirmed(api, org):
    existing = PatientFactory(organization=org, first_name="Maria", last_name="Santos", date_of_birth=date(1975, 3, 2))
    refused = api.post(BASE, NEW)
    assert refused.status_code == 409
    assert refused.json()["duplicates"][0]["id"] == existing.public_id
    assert "create_anyway" in refused.json()["errors"]
    assert api.post(BASE, {**NEW, "create_anyway": True}).status_code == 201


def test_patch_changes_only_what_is_sent(api, org):
    patient = PatientFactory(organization=org, first_name="Ana", last_name="Lopez")
    response = api.patch(f"{BASE}/{patient.public_id}", {"last_name": "Lopez-Ruiz", "phone_home": "202 555 0199"})
    assert response.status_code == 200, response.json()
    patient.refresh_from_db()
    assert (patient.first_name, patient.last_name, patient.phone_home) == ("Ana", "Lopez-Ruiz", "+12025550199")


def test_patch_with_a_bad_phone_names_the_field(api, org):
    patient = PatientFactory(organization=org)
    response = api.patch(f"{BASE}/{patient.public_id}", {"phone_work": "12"})
    assert response.status_code == 400
    assert "phone_work" in response.json()["errors"]


def test_patch_with_a_provider_from_elsewhere_is_refused(api, make_user, other_org, org):
    outsider = make_user(Role.CLINICIAN, organization=other_org)
    patient = PatientFactory(organization=org)
    response = api.patch(f"{BASE}/{patient.public_id}", {"primary_provider_id": str(outsider.pk)})
    assert response.status_code == 400
    assert "primary_provider_id" in response.json()["errors"]


def test_patch_another_practices_patient_is_404(api, other_org):
    stranger = PatientFactory(organization=other_org, last_name="Same")
    assert api.patch(f"{BASE}/{stranger.public_id}", {"last_name": "Changed"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.last_name == "Same"


# --- scopes and roles --------------------------------------------------------------------------------------------


def test_a_token_without_the_scope_is_refused(client, front_desk, org):
    patient = PatientFactory(organization=org)
    headers = token_for(client, front_desk, [Perm.PATIENT_VIEW])
    assert client.get(f"{BASE}/{patient.public_id}", **headers).status_code == 200
    response = client.post(BASE, json.dumps(NEW), content_type="application/json", **headers)
    assert response.status_code == 403
    assert client.get(f"{BASE}/{patient.public_id}/documents", **headers).status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor=front_desk).count() == 2


def test_a_role_without_patient_access_is_refused(client, make_user, org):
    auditor = make_user(Role.AUDITOR)
    headers = token_for(client, auditor, [Perm.AUDIT_VIEW])
    assert client.get(BASE, **headers).status_code == 403


def test_no_credentials_is_401(client):
    assert client.get(BASE).status_code == 401


# --- documents ---------------------------------------------------------------------------------------------------


def test_documents_list_and_upload(api, org):
    # given
    patient = PatientFactory(organization=org)
    DocumentFactory(patient=patient, title="Old letter")
    # when
    upload = SimpleUploadedFile("card.pdf", PDF_BYTES, content_type="application/pdf")
    created = api.upload(f"{BASE}/{patient.public_id}/documents", {"file": upload, "category": "insurance_card"})
    # then
    assert created.status_code == 201, created.json()
    assert created.json()["content_type"] == "application/pdf"
    assert len(created.json()["sha256"]) == 64
    listed = api.get(f"{BASE}/{patient.public_id}/documents").json()
    assert listed["count"] == 2
    assert {d["title"] for d in listed["items"]} == {"Old letter", "card"}
    assert listed["items"][0]["url"].startswith("/patients/documents/")


def test_mislabelled_upload_is_a_400_on_file(api, org):
    patient = PatientFactory(organization=org)
    upload = SimpleUploadedFile("scan.png", PDF_BYTES, content_type="image/png")
    response = api.upload(f"{BASE}/{patient.public_id}/documents", {"file": upload, "category": "id"})
    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert not Document.objects.exists()


def test_upload_with_an_unknown_category_names_it(api, org):
    patient = PatientFactory(organization=org)
    upload = SimpleUploadedFile("a.pdf", PDF_BYTES, content_type="application/pdf")
    response = api.upload(f"{BASE}/{patient.public_id}/documents", {"file": upload, "category": "selfie"})
    assert response.status_code == 400
    assert "category" in response.json()["errors"]


def test_documents_of_another_practice_are_404(api, other_org):
    stranger = PatientFactory(organization=other_org)
    assert api.get(f"{BASE}/{stranger.public_id}/documents").status_code == 404
    upload = SimpleUploadedFile("a.pdf", PDF_BYTES, content_type="application/pdf")
    assert api.upload(f"{BASE}/{stranger.public_id}/documents", {"file": upload, "category": "id"}).status_code == 404

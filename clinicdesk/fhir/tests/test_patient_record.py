"""A patient's record as a zip (right of access): the patient and their resources as valid FHIR R4 JSON, the chart's
documents byte for byte under safe names, a README; refused for another practice's patient and for a role that may not
export; one audit event; the patient page's button; a query count that does not grow with the patient's visits."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import factory
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient as FhirPatient

from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent, User
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.fhir.bindings import code_issues
from clinicdesk.fhir.patient_record import document_file_name, patient_record_types, patient_record_zip
from clinicdesk.insurance.tests.factories_coverage import CoverageFactory, PayerFactory
from clinicdesk.patients.tests.factories import PDF_BYTES, DocumentFactory, PatientFactory
from clinicdesk.scheduling.tests.factories import AppointmentFactory, Clinic

pytestmark = pytest.mark.django_db

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def temporary_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def _book(clinic: Clinic, patient, day: int, hour: int):
    return AppointmentFactory(organization=clinic.organization, patient=patient, provider=clinic.provider,
                              location=clinic.location, appointment_type=clinic.kind,
                              starts_at=clinic.at(2027, 3, day, hour), ends_at=clinic.at(2027, 3, day, hour, 15))


@pytest.fixture
def chart(clinic):
    """The clinic's patient with two visits, a coverage and two documents; another patient with a visit of their own."""
    clinic.admin = UserFactory(organization=clinic.organization, role=Role.ADMINISTRATOR)
    _book(clinic, clinic.patient, 15, 9)
    _book(clinic, clinic.patient, 16, 10)
    clinic.other_patient = PatientFactory(organization=clinic.organization)
    _book(clinic, clinic.other_patient, 15, 11)
    payer = PayerFactory(organization=clinic.organization, name="Acme Health", payer_identifier="60054")
    CoverageFactory(patient=clinic.patient, payer=payer, member_id="XQ1", copay=Decimal("25.00"),
                    effective_from=date(2026, 1, 1))
    clinic.letter = DocumentFactory(patient=clinic.patient, title="Referral: Dr. Smith / cardiology")
    clinic.scan = DocumentFactory(patient=clinic.patient, title="../../etc/passwd", original_name="card.png",
                                  content_type="image/png", size=len(PNG_BYTES),
                                  file=factory.django.FileField(filename="upload.png", data=PNG_BYTES))
    return clinic


def _open(record) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(record.file.read()))


def test_the_zip_holds_the_patient_their_resources_and_documents(chart):
    # when
    record = patient_record_zip(actor=chart.admin, patient=chart.patient)
    archive = _open(record)
    names = archive.namelist()
    # then the patient, as one valid resource
    patient = json.loads(archive.read("Patient.json"))
    FhirPatient.model_validate(patient)
    assert code_issues(patient) == []
    assert patient["id"] == chart.patient.public_id
    # a collection Bundle per other type about a patient, each entry valid and about this patient only
    bundles = {}
    for resource_type in patient_record_types()[1:]:
        bundle = json.loads(archive.read(f"{resource_type}.json"))
        Bundle.model_validate(bundle)
        assert bundle["type"] == "collection"
        for entry in bundle.get("entry", []):
            get_fhir_model_class(resource_type).model_validate(entry["resource"])
            assert code_issues(entry["resource"]) == []
        bundles[resource_type] = bundle
    visits = [e["resource"] for e in bundles["Appointment"]["entry"]]
    assert len(visits) == 2
    for visit in visits:
        patients = [p["actor"]["reference"] for p in visit["participant"] if p["actor"]["reference"].startswith("Patient/")]
        assert patients == [f"Patient/{chart.patient.public_id}"]
    assert [e["resource"]["beneficiary"]["reference"] for e in bundles["Coverage"]["entry"]] == [
        f"Patient/{chart.patient.public_id}"]
    assert record.counts == {**dict.fromkeys(patient_record_types(), 0), "Patient": 1, "Appointment": 2, "Coverage": 1}
    # the documents, byte for byte, under safe names
    documents = sorted(n for n in names if n.startswith("documents/"))
    assert len(documents) == 2 and record.documents == 2
    by_bytes = {archive.read(n): n for n in documents}
    assert set(by_bytes) == {PDF_BYTES, PNG_BYTES}
    assert by_bytes[PDF_BYTES].endswith("-referral-dr-smith-cardiology.pdf")
    assert by_bytes[PNG_BYTES].endswith("-etcpasswd.png")
    assert all(".." not in n.removeprefix("documents/") and n.count("/") == 1 for n in documents)
    # and a README naming every file
    readme = archive.read("README.txt").decode("utf-8")
    assert chart.patient.mrn in readme
    for name in ["Patient.json", "Appointment.json", "Coverage.json", *documents]:
        assert name in readme
    assert hashlib.sha256(PNG_BYTES).hexdigest() in readme


def test_a_document_missing_from_storage_is_listed_not_fatal(chart):
    chart.scan.file.storage.delete(chart.scan.file.name)
    record = patient_record_zip(actor=chart.admin, patient=chart.patient)
    archive = _open(record)
    assert [archive.read(n) for n in archive.namelist() if n.startswith("documents/")] == [PDF_BYTES]
    assert record.missing_documents == [chart.scan.title]
    assert "missing from the practice's storage" in archive.read("README.txt").decode()


def test_another_practices_patient_is_refused_and_nothing_is_audited(chart):
    elsewhere = Clinic.build()
    before = AuditEvent.objects.filter(action="patient.exported").count()
    with pytest.raises(PermissionDenied):
        patient_record_zip(actor=chart.admin, patient=elsewhere.patient)
    assert AuditEvent.objects.filter(action="patient.exported").count() == before


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.AUDITOR])
def test_a_role_that_may_not_export_is_refused(chart, role):
    user = UserFactory(organization=chart.organization, role=role)
    with pytest.raises(PermissionDenied, match="may not export"):
        patient_record_zip(actor=user, patient=chart.patient)
    assert not AuditEvent.objects.filter(action="patient.exported").exists()


def test_one_audit_event_with_the_counts(chart):
    patient_record_zip(actor=chart.admin, patient=chart.patient)
    events = list(AuditEvent.objects.filter(action="patient.exported"))
    assert len(events) == 1
    event = events[0]
    assert (event.patient_id, event.actor_id, event.channel) == (chart.patient.pk, chart.admin.pk, AuditChannel.EXPORT)
    assert event.changes["counts"]["Appointment"] == 2 and event.changes["documents"] == 2
    assert "Appointment 2" in event.summary


def _queries(clinic, patient) -> int:
    actor = User.objects.get(pk=clinic.admin.pk)  # nothing cached on the user from an earlier call
    with CaptureQueriesContext(connection) as captured:
        record = patient_record_zip(actor=actor, patient=patient)
    record.file.close()
    return len(captured)


def test_queries_do_not_grow_with_the_patients_visits(chart):
    # given a patient with one visit and one document, and one with six of each
    few = PatientFactory(organization=chart.organization)
    many = PatientFactory(organization=chart.organization)
    _book(chart, few, 17, 9)
    DocumentFactory(patient=few)
    for hour in range(9, 15):
        _book(chart, many, 18, hour)
        DocumentFactory(patient=many)
    # then the number of queries is the same
    assert _queries(chart, many) == _queries(chart, few)


def test_the_patient_page_offers_the_download_to_roles_that_may_export(chart, client_as):
    page = reverse("patients:detail", kwargs={"public_id": chart.patient.public_id})
    url = reverse("patient_record:download", kwargs={"public_id": chart.patient.public_id})
    assert url in client_as(chart.admin).get(page).content.decode()
    assert url not in client_as(chart.actor).get(page).content.decode()


def test_the_button_downloads_the_zip(chart, client_as):
    # when
    url = reverse("patient_record:download", kwargs={"public_id": chart.patient.public_id})
    response = client_as(chart.admin).post(url)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"record-{chart.patient.mrn.lower()}" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {"Patient.json", "README.txt"} <= set(archive.namelist())
    assert AuditEvent.objects.filter(action="patient.exported", patient_id=chart.patient.pk).count() == 1


def test_the_download_refuses_get_other_roles_and_other_practices(chart, client_as):
    url = reverse("patient_record:download", kwargs={"public_id": chart.patient.public_id})
    assert client_as(chart.admin).get(url).status_code == 405
    assert client_as(chart.actor).post(url).status_code == 403
    elsewhere = Clinic.build()
    other = reverse("patient_record:download", kwargs={"public_id": elsewhere.patient.public_id})
    assert client_as(chart.admin).post(other).status_code == 404


def test_the_command_writes_the_zip(chart, tmp_path):
    (tmp_path / "out").mkdir()
    outfile = tmp_path / "out" / "record.zip"
    call_command("patient_record", chart.patient.mrn, str(outfile), "--organization", chart.organization.slug,
                 "--as", chart.admin.username)
    archive = zipfile.ZipFile(outfile)
    assert json.loads(archive.read("Patient.json"))["id"] == chart.patient.public_id
    assert [p.name for p in outfile.parent.iterdir()] == ["record.zip"]


def test_the_command_refuses_an_existing_file_an_unknown_mrn_and_a_role_without_export(chart, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "there.zip"
    existing.write_bytes(b"keep")
    args = ["--organization", chart.organization.slug, "--as", chart.admin.username]
    with pytest.raises(CommandError, match="already exists"):
        call_command("patient_record", chart.patient.mrn, str(existing), *args)
    assert existing.read_bytes() == b"keep"
    with pytest.raises(CommandError, match="No patient with MRN 'NOPE'"):
        call_command("patient_record", "NOPE", str(out / "a.zip"), *args)
    with pytest.raises(CommandError, match="may not export"):
        call_command("patient_record", chart.patient.mrn, str(out / "b.zip"), "--organization",
                     chart.organization.slug, "--as", chart.actor.username)
    assert sorted(p.name for p in out.iterdir()) == ["there.zip"]


def test_document_names_keep_only_safe_characters(chart):
    chart.letter.title = 'Résumé <script>alert("x")</script> \\ C:\\temp'
    name = document_file_name(7, chart.letter)
    assert name.startswith("documents/007-") and name.endswith(".pdf")
    assert all(c.isalnum() or c in "-./" for c in name)

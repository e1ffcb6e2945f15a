"""`fhir_export`: the practice as NDJSON per resource type with a Bulk Data manifest. Every line is a valid R4B
resource made by the API's mappers; counts match the practice's rows; another practice's rows never appear; the
export is audited (one event, one row per patient named); a refusal or a failure leaves nothing behind."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B import get_fhir_model_class

from clinicdesk.communications.models import Message, StaffTask
from clinicdesk.communications.tests.factories_links import MessageFactory, StaffTaskFactory
from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent, Location, User
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.fhir import mappers
from clinicdesk.fhir.bindings import code_issues
from clinicdesk.insurance.models import Coverage
from clinicdesk.insurance.tests.factories_coverage import CoverageFactory, PayerFactory
from clinicdesk.patients.models import Patient
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.models import Appointment, AvailabilityTemplate
from clinicdesk.scheduling.tests.factories import AppointmentFactory, Clinic

pytestmark = pytest.mark.django_db


def _book(clinic: Clinic, patient, day: int, hour: int) -> Appointment:
    return AppointmentFactory(organization=clinic.organization, patient=patient, provider=clinic.provider,
                              location=clinic.location, appointment_type=clinic.kind,
                              starts_at=clinic.at(2027, 3, day, hour), ends_at=clinic.at(2027, 3, day, hour, 15))


def _practice(clinic: Clinic) -> Clinic:
    """A practice with an administrator, three patients (one with no visit), two appointments and two coverages."""
    clinic.admin = UserFactory(organization=clinic.organization, role=Role.ADMINISTRATOR)
    clinic.second = PatientFactory(organization=clinic.organization)
    clinic.unseen = PatientFactory(organization=clinic.organization)
    _book(clinic, clinic.patient, 15, 9)
    _book(clinic, clinic.second, 15, 10)
    payer = PayerFactory(organization=clinic.organization, name="Acme Health", payer_identifier="60054")
    CoverageFactory(patient=clinic.patient, payer=payer, member_id="XQ1", copay=Decimal("25.00"),
                    effective_from=date(2026, 1, 1))
    CoverageFactory(patient=clinic.unseen, payer=payer, member_id="XQ2")
    MessageFactory(organization=clinic.organization, patient=clinic.patient)
    StaffTaskFactory(organization=clinic.organization, patient=clinic.second)
    return clinic


@pytest.fixture
def ours(clinic):
    return _practice(clinic)


@pytest.fixture
def elsewhere(db):
    return _practice(Clinic.build())


def export(clinic: Clinic, outdir: Path, *args: str) -> None:
    call_command("fhir_export", str(outdir), "--organization", clinic.organization.slug, *args)


def read_lines(path: Path) -> list[dict]:
    """Each line one JSON resource of the file's type, valid against the R4B model and its code bindings."""
    resource_type = path.stem
    resources = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        resource = json.loads(line)
        assert resource["resourceType"] == resource_type, (path.name, number)
        get_fhir_model_class(resource_type).model_validate(resource)
        assert code_issues(resource) == [], (path.name, number)
        resources.append(resource)
    return resources


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.endswith(".partial"))


def test_every_type_is_exported_valid_counted_and_only_this_practice(ours, elsewhere, tmp_path):
    # given two practices alike
    outdir = tmp_path / "export"
    # when
    export(ours, outdir)
    # then one file per type with rows, each line valid
    org = ours.organization
    expected = {
        "Patient": Patient.objects.filter(organization=org, merged_into__isnull=True).count(),
        "Practitioner": User.objects.filter(organization=org, role__in=(Role.CLINICIAN, Role.NURSE)).count(),
        "Organization": 1,
        "Location": Location.objects.filter(organization=org).count(),
        "Appointment": Appointment.objects.filter(organization=org).count(),
        "PractitionerRole": User.objects.filter(organization=org, role__in=(Role.CLINICIAN, Role.NURSE)).count(),
        "Schedule": AvailabilityTemplate.objects.filter(organization=org).values("provider", "location").distinct().count(),
        "Coverage": Coverage.objects.filter(organization=org).count(),
        "Communication": Message.objects.filter(organization=org).count(),
        "Task": StaffTask.objects.filter(organization=org).count(),
    }
    assert expected["Patient"] == 3 and expected["Appointment"] == 2 and expected["Coverage"] == 2
    # (types this practice has no rows of, such as claims and statements, get no file)
    assert sorted(p.name for p in outdir.iterdir()) == sorted([f"{t}.ndjson" for t in expected] + ["manifest.json"])
    exported = {t: read_lines(outdir / f"{t}.ndjson") for t in expected}
    assert {t: len(rows) for t, rows in exported.items()} == expected
    # the same mapping as the API
    assert exported["Patient"][0] == mappers.patient_resource(
        Patient.objects.get(public_id=exported["Patient"][0]["id"]))
    assert {r["id"] for r in exported["Patient"]} == {p.public_id for p in (ours.patient, ours.second, ours.unseen)}
    # and nothing of the other practice, anywhere
    everything = "\n".join((outdir / f"{t}.ndjson").read_text() for t in expected)
    theirs = [elsewhere.patient.public_id, elsewhere.second.public_id, elsewhere.unseen.public_id,
              f"Organization/{elsewhere.organization.pk}", f"Location/{elsewhere.location.pk}",
              f"Practitioner/{elsewhere.provider.pk}", elsewhere.organization.slug,
              *Appointment.objects.filter(organization=elsewhere.organization).values_list("public_id", flat=True),
              *Coverage.objects.filter(organization=elsewhere.organization).values_list("public_id", flat=True)]
    for text in theirs:
        assert text not in everything, text
    assert leftovers(tmp_path) == []


def test_the_manifest_lists_each_file_with_its_count(ours, tmp_path):
    outdir = tmp_path / "export"
    outdir.mkdir()  # an empty folder is fine
    export(ours, outdir, "--type", "Coverage,Patient,Coverage")
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert manifest["transactionTime"] == "2027-03-10T12:00:00+00:00"
    assert manifest["requiresAccessToken"] is False
    assert manifest["error"] == []
    assert "_type=Coverage,Patient" in manifest["request"]
    assert manifest["output"] == [{"type": "Coverage", "url": "Coverage.ndjson", "count": 2},
                                  {"type": "Patient", "url": "Patient.ndjson", "count": 3}]
    for item in manifest["output"]:
        assert len(read_lines(outdir / item["url"])) == item["count"]
    assert sorted(p.name for p in outdir.iterdir()) == ["Coverage.ndjson", "Patient.ndjson", "manifest.json"]


def test_a_type_without_rows_gets_no_file(tmp_path, db):
    bare = Clinic.build()
    UserFactory(organization=bare.organization, role=Role.ADMINISTRATOR)
    outdir = tmp_path / "export"
    export(bare, outdir, "--type", "Appointment,Patient")
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert manifest["output"] == [{"type": "Patient", "url": "Patient.ndjson", "count": 1}]
    assert not (outdir / "Appointment.ndjson").exists()


def test_the_export_is_audited_once_with_a_row_per_patient_named(ours, elsewhere, tmp_path):
    # when only appointments go out, the patients they name are the ones exported
    export(ours, tmp_path / "visits", "--type", "Appointment,Location")
    event = AuditEvent.objects.get(action="fhir.bulk_exported")
    assert event.actor_id == ours.admin.pk and event.organization_id == ours.organization.pk
    assert event.channel == AuditChannel.EXPORT
    assert event.changes["counts"] == {"Appointment": 2, "Location": 1} and event.changes["patients"] == 2
    assert "Appointment 2" in event.summary
    rows = AuditEvent.objects.filter(action="patient.exported")
    assert sorted(rows.values_list("patient_id", flat=True)) == sorted([ours.patient.pk, ours.second.pk])
    assert {(r.actor_id, r.channel, r.organization_id) for r in rows} == {
        (ours.admin.pk, AuditChannel.EXPORT, ours.organization.pk)}
    assert all(r.patient_label for r in rows)
    # when everything goes out, every patient once
    export(ours, tmp_path / "all")
    assert AuditEvent.objects.filter(action="fhir.bulk_exported").count() == 2
    latest = AuditEvent.objects.filter(action="patient.exported", id__gt=max(r.id for r in rows))
    assert sorted(latest.values_list("patient_id", flat=True)) == sorted(
        [ours.patient.pk, ours.second.pk, ours.unseen.pk])


def test_practice_records_alone_audit_no_patient(ours, tmp_path):
    export(ours, tmp_path / "staff", "--type", "Practitioner,Organization")
    assert AuditEvent.objects.get(action="fhir.bulk_exported").changes["patients"] == 0
    assert not AuditEvent.objects.filter(action="patient.exported").exists()


def _nothing_written(tmp_path: Path, before: int) -> None:
    assert leftovers(tmp_path) == []
    assert AuditEvent.objects.filter(action__in=("fhir.bulk_exported", "patient.exported")).count() == before


def test_a_folder_with_files_in_it_is_refused(ours, tmp_path):
    outdir = tmp_path / "export"
    outdir.mkdir()
    (outdir / "notes.txt").write_text("keep me")
    with pytest.raises(CommandError, match="is not empty"):
        export(ours, outdir)
    assert [p.name for p in outdir.iterdir()] == ["notes.txt"]
    _nothing_written(tmp_path, 0)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CommandError, match="is a file"):
        export(ours, tmp_path / "a-file")
    with pytest.raises(CommandError, match="does not exist"):
        export(ours, tmp_path / "missing" / "export")
    _nothing_written(tmp_path, 0)


@pytest.mark.parametrize(("types", "named"), [("Patient,Bogus", "'Bogus'"), ("Slot", "'Slot'"), ("patient", "'patient'")])
def test_an_unknown_type_is_refused_by_name(ours, tmp_path, types, named):
    with pytest.raises(CommandError, match=named):
        export(ours, tmp_path / "export", "--type", types)
    assert not (tmp_path / "export").exists()
    _nothing_written(tmp_path, 0)


def test_a_user_of_another_practice_is_refused(ours, elsewhere, tmp_path):
    with pytest.raises(CommandError, match="another practice"):
        export(ours, tmp_path / "export", "--user", elsewhere.admin.username)
    with pytest.raises(CommandError, match="No user 'nobody'"):
        export(ours, tmp_path / "export", "--user", "nobody")
    assert not (tmp_path / "export").exists()
    _nothing_written(tmp_path, 0)


def test_a_role_that_may_not_export_patients_is_refused(ours, tmp_path):
    # the front desk reads patients but may not export them (nor read claims at all)
    with pytest.raises(CommandError, match="may not export patients' data"):
        export(ours, tmp_path / "export", "--user", ours.actor.username, "--type", "Patient,Appointment,Coverage")
    with pytest.raises(CommandError, match="may not read Claim, ExplanationOfBenefit"):
        export(ours, tmp_path / "export", "--user", ours.actor.username)
    # the auditor reads no practice records at all
    auditor = UserFactory(organization=ours.organization, role=Role.AUDITOR)
    with pytest.raises(CommandError, match="may not read"):
        export(ours, tmp_path / "export", "--user", auditor.username, "--type", "Location")
    assert not (tmp_path / "export").exists()
    # the front desk may export the schedule's own records, which name no patient
    export(ours, tmp_path / "export", "--user", ours.actor.username, "--type", "Practitioner,Schedule")
    assert (tmp_path / "export" / "Schedule.ndjson").exists()


def test_the_default_user_is_the_only_administrator(ours, tmp_path):
    UserFactory(organization=ours.organization, role=Role.ADMINISTRATOR)
    with pytest.raises(CommandError, match="several active administrators"):
        export(ours, tmp_path / "export")
    _nothing_written(tmp_path, 0)


def test_a_failure_half_way_leaves_nothing_behind(ours, tmp_path, monkeypatch):
    def broken(coverage):
        raise ValueError("Coverage mapping failed")

    monkeypatch.setattr(mappers, "coverage_resource", broken)
    with pytest.raises(ValueError, match="Coverage mapping failed"):
        export(ours, tmp_path / "export", "--type", "Patient,Coverage")
    assert not (tmp_path / "export").exists()
    _nothing_written(tmp_path, 0)


def test_the_query_count_does_not_grow_with_rows(ours, tmp_path):
    # given an export of the practice as it is
    with CaptureQueriesContext(connection) as first:
        export(ours, tmp_path / "before")
    # when six more patients, each with a visit and a coverage, are exported
    for day in range(16, 22):
        patient = PatientFactory(organization=ours.organization)
        _book(ours, patient, day, 9)
        CoverageFactory(patient=patient, payer=Coverage.objects.filter(organization=ours.organization).first().payer,
                        member_id=f"M{day}")
    with CaptureQueriesContext(connection) as second:
        export(ours, tmp_path / "after")
    # then the same queries, and every row is there
    assert len(second.captured_queries) == len(first.captured_queries)
    manifest = json.loads((tmp_path / "after" / "manifest.json").read_text())
    counts = {item["type"]: item["count"] for item in manifest["output"]}
    assert (counts["Patient"], counts["Appointment"], counts["Coverage"]) == (9, 8, 8)
